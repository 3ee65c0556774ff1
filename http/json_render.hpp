// Domain types to the JSON bodies of the HTTP API (docs/API.md). Strings in, strings out,
// so callers (the server, the CLI's --json views, tests) need no Boost.JSON headers.
// Empty optional strings and unset times render as null, not "" or 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/fact.hpp"
#include "domain/message.hpp"
#include "domain/processing.hpp"
#include "domain/queue.hpp"
#include "domain/search.hpp"
#include "http/service_api.hpp"

namespace memoryd {

// {"error":{"code":"...","message":"..."}}
std::string render_error(std::string_view code, std::string_view message);

// {"messages":[{"id":"...","duplicate":false},...]}, in request order.
std::string render_ingest(const std::vector<ingest_outcome>& outcomes);

// {"user_id":"...","messages":[{id, seq, role, content, channel, external_id, created_at,
// status, attempts, last_error, processed_at},...],"next_cursor":...}; next_cursor is null
// when empty (the last page).
std::string render_history(std::string_view user_id, const std::vector<stored_message>& msgs,
                           std::string_view next_cursor = {});

// {"user_id":"...","facts":[...],"next_cursor":...} plus "events":[...] and
// "events_next_cursor" when `events_next` is set (include=history); empty cursors are null.
std::string render_facts(std::string_view user_id, const fact_listing& listing,
                         const std::string& next_cursor,
                         const std::optional<std::string>& events_next);
// {"user_id":"...","events":[...],"next_cursor":...}
std::string render_fact_events(std::string_view user_id, const std::vector<fact_event>& events,
                               const std::string& next_cursor);

// GET /v1/users/{id}/facts/search: {"user_id","query","results":[fact + "score"]}, best first.
std::string render_search(std::string_view user_id, std::string_view query,
                          const std::vector<scored_fact>& results);

// GET /v1/users/{id}/context: {"user_id","query","text","facts":[fact + "reason" (relevant,
// remembered, recent) + "score" (relevant only)]}; query is null without one.
std::string render_context(std::string_view user_id, std::string_view query,
                           const memory_context& context);

// {"status":"ok"} or {"status":"unavailable","detail":"..."}
std::string render_health(const health_report& health);

// POST /v1/users/{id}/facts: {"fact":{id, text, category, status, observed_at, created_at,
// updated_at, source_ids}}
std::string render_fact_created(const fact& f);

// DELETE /v1/users/{id}/facts/{fact_id}: {"deleted":true}
std::string render_deleted();

// DELETE /v1/users/{id}: {"user_id":"...","erased":{"messages":n,"facts":n,"fact_events":n}}
std::string render_erase(std::string_view user_id, const erase_report& report);

// POST /v1/processor/run: {cycle_id, users, messages_processed, facts_written, errors,
// retries_scheduled, dead_lettered, claim_ms, extract_ms, write_ms, total_ms}. Times in ms
// with at most 3 decimals, in plain notation.
std::string render_cycle(const cycle_result& c);

// GET /v1/processor/status: {"queue":{pending, leased, done, dead, skipped, retry_scheduled,
// oldest_pending_age_ms, users_waiting}, "processor":{running, in_flight, queued, pool_size,
// cycles, messages_processed, errors, facts_written, success_rate, last_cycle}}.
// success_rate is processed / (processed + errors), null when both are 0; last_cycle is
// render_cycle's object, null before the first cycle.
std::string render_status(const status_report& s);

// POST /v1/processor/dead/retry: {"retried":n}
std::string render_retried(std::int64_t n);

// GET /readyz: {"status":"ready","webhook_signed":b} or {"status":"not_ready","detail":"...",
// "webhook_signed":b}. webhook_signed: Twilio webhooks need a valid signature (DESIGN §2.10).
std::string render_ready(const health_report& ready, bool webhook_signed);

}  // namespace memoryd
