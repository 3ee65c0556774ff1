// monitor: every history interval, asks the batcher for its counters and persistence for the
// queue, keeps the sample in a bounded ring (domain/processor_history.hpp: 24 h at 10 s), and
// evaluates the alerts on it (domain/alerts.hpp). A crossing is logged
// (memory_processor_alert, memory_processor_alert_resolved) and handed to `notify`, which must
// not block (the alert webhook queues it for a thread of its own). Runs on the scheduler and
// never blocks; its timer is the actor clock, so tests drive it with simulated time.
#pragma once

#include <caf/fwd.hpp>

#include <chrono>
#include <functional>

#include "actors/protocol.hpp"

namespace memoryd {

struct monitor_options {
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds request_timeout{10000};  // a store that does not answer: no queue
  alert_rules rules;
  std::size_t capacity = kHistoryCapacity;
  // Each crossing (state.active: fired; otherwise resolved), with the rules' window.
  std::function<void(const alert_state&, millis window_ms)> notify;
};

monitor_actor spawn_monitor(caf::actor_system& sys, persistence_actor persistence,
                            batcher_actor batcher, monitor_options opts);

}  // namespace memoryd
