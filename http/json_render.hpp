// Domain types to the JSON bodies of the HTTP API (DESIGN.md §5). Strings in, strings out,
// so callers (the server, the CLI's --json views, tests) need no Boost.JSON headers.
// Empty optional strings and unset times render as null, not "" or 0.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/service_api.hpp"
#include "store/types.hpp"

namespace memoryd {

// {"error":{"code":"...","message":"..."}}
std::string render_error(std::string_view code, std::string_view message);

// {"messages":[{"id":"...","duplicate":false},...]}, in request order.
std::string render_ingest(const std::vector<ingest_outcome>& outcomes);

// {"user_id":"...","messages":[{id, seq, role, content, channel, external_id, created_at,
// status, attempts, last_error, processed_at},...]}
std::string render_history(std::string_view user_id, const std::vector<stored_message>& msgs);

// {"user_id":"...","facts":[...]} plus "events":[...] when with_history.
std::string render_facts(std::string_view user_id, const fact_listing& listing, bool with_history);

// {"status":"ok"} or {"status":"unavailable","detail":"..."}
std::string render_health(const health_report& health);

}  // namespace memoryd
