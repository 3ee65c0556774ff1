// systemd's notification protocol (sd_notify(3)), implemented here rather than linking
// libsystemd: it is one datagram of "KEY=VALUE" lines sent to the unix socket named by
// $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace), a protocol systemd documents
// as stable. No library means no libsystemd0 dependency and nothing to do when the service
// runs outside systemd (no NOTIFY_SOCKET: every call is a no-op).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace memoryd::sd {

// Sends `state` (e.g. "READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=..."). Returns false
// when NOTIFY_SOCKET is unset or the datagram could not be sent.
bool notify(const std::string& state);

// The watchdog interval systemd expects keep-alives in (WATCHDOG_USEC), when it is set and
// meant for this process (WATCHDOG_PID unset or ours); nullopt otherwise.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace memoryd::sd
