// Domain types shared by the stores, the extractors, the HTTP layer and the actors.
// Plain structs with no CAF, SQLite or Boost dependency: every layer can include this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace memoryd {

// Milliseconds since the Unix epoch.
using millis = std::int64_t;

// Memory status of a stored message.
namespace message_status {
inline constexpr const char* pending = "pending";  // waiting to be claimed
inline constexpr const char* leased = "leased";    // claimed, lease_until says until when
inline constexpr const char* done = "done";        // processed (maybe with a note in last_error)
inline constexpr const char* dead = "dead";        // dead-lettered after max attempts
inline constexpr const char* skipped = "skipped";  // not applicable: assistant messages
}  // namespace message_status

// A message as it arrives (webhook, JSON API, import). Validated before it gets here.
struct new_message {
  std::string user_id;
  std::string role;  // "user" | "assistant"
  std::string content;
  std::string channel;      // "sms" | "whatsapp" | "api" | ...
  std::string external_id;  // e.g. Twilio MessageSid; empty when absent
  millis created_at = 0;    // 0: the store uses the commit time
};

// What the store did with one new_message.
struct ingest_outcome {
  std::string id;  // UUID of the stored row (the existing one for a duplicate)
  std::int64_t seq = 0;
  bool duplicate = false;  // external_id was already stored: nothing written
};

struct stored_message {
  std::int64_t seq = 0;
  std::string id;
  std::string user_id;
  std::string role;
  std::string content;
  std::string channel;
  std::string external_id;
  millis created_at = 0;
  std::string status;  // see message_status
  std::int32_t attempts = 0;
  millis next_attempt_at = 0;
  millis lease_until = 0;
  std::string last_error;
  millis processed_at = 0;  // memory_processed_at; 0 while unprocessed
};

// History read. Returns the latest `limit` matching messages, oldest first.
struct history_query {
  std::string user_id;  // empty: all users
  std::int32_t limit = 50;
  millis since = 0;             // created_at >= since (0: no bound)
  millis until = 0;             // created_at < until (0: no bound)
  std::string role;             // empty: any
  std::int32_t processed = -1;  // -1 any, 0 not yet processed, 1 processed (done/dead/skipped)
};

// Claim the next batch: FIFO over users by their oldest waiting message.
struct claim_request {
  millis now = 0;
  std::int32_t batch_size = 100;          // total cap
  std::int32_t per_user_batch_size = 25;  // per-user cap
  millis lease_ms = 600000;
  std::int32_t max_attempts = 3;  // an expired lease at this many attempts dead-letters
};

struct claimed_message {
  std::string id;
  std::int64_t seq = 0;
  std::string content;
  millis created_at = 0;
  std::int32_t attempts = 0;  // including this claim
};

// One user's share of a claimed batch, in arrival order.
struct user_batch {
  std::string user_id;
  std::vector<claimed_message> messages;
};

struct claim_result {
  std::vector<user_batch> users;   // FIFO order
  std::int32_t dead_lettered = 0;  // expired leases already at max_attempts
};

// Queue depth and lag, for status/metrics.
struct queue_stats {
  std::int64_t pending = 0, leased = 0, done = 0, dead = 0, skipped = 0;
  std::int64_t retry_scheduled = 0;  // pending with next_attempt_at > now
  millis oldest_pending_age_ms = 0;  // 0 when nothing is pending
  std::int64_t users_waiting = 0;
};

namespace fact_category {
inline constexpr const char* all[] = {"preferences", "health",   "relationships", "work",
                                      "interests",   "location", "other"};
}

struct fact {
  std::string id;
  std::string user_id;
  std::string text;
  std::string category;
  std::string status;  // active | superseded | deleted
  millis observed_at = 0;
  millis created_at = 0;
  millis updated_at = 0;
  std::vector<std::string> source_ids;  // message ids it came from
};

struct fact_event {
  std::int64_t seq = 0;
  std::string fact_id;      // the fact the event is about (for update: the old fact)
  std::string new_fact_id;  // update only: the fact that supersedes it
  std::string user_id;
  std::string kind;  // add | update | delete
  std::string old_text;
  std::string new_text;
  std::string cause;      // extractor | api
  std::string extractor;  // e.g. "rules/1", "anthropic/prompt-1"; empty for api
  std::vector<std::string> source_ids;
  millis observed_at = 0;
  millis at = 0;
};

// One operation an extractor (or the API) asks the fact writer to apply.
struct fact_op {
  std::string kind;        // add | update | delete
  std::string fact_id;     // update, delete
  std::string text;        // add, update
  std::string category;    // add (update: empty keeps the old one)
  millis observed_at = 0;  // created_at of the message it came from
  std::vector<std::string> source_ids;
};

// Everything the fact writer applies in one transaction.
struct fact_batch {
  std::string user_id;
  std::string batch_key;  // idempotency key (hash of source message ids); empty: none
  std::string cause = "extractor";
  std::string extractor;
  std::vector<fact_op> ops;
  millis now = 0;
};

struct apply_result {
  std::int32_t added = 0, updated = 0, deleted = 0, unchanged = 0, rejected = 0;
  bool replay = false;                // batch_key was applied before: nothing changed
  std::vector<std::string> fact_ids;  // ids of facts added or created by updates
};

// The result of one processing cycle (one claim and everything it led to).
struct cycle_result {
  std::uint64_t cycle_id = 0;
  std::int32_t users = 0;
  std::int32_t messages_processed = 0;  // marked done (with or without a note)
  std::int32_t facts_written = 0;       // facts added + updated + deleted
  std::int32_t errors = 0;              // user batches that failed (retry or dead)
  std::int32_t retries_scheduled = 0;   // messages put back for a later attempt
  std::int32_t dead_lettered = 0;       // messages dead-lettered
  double claim_ms = 0, extract_ms = 0, write_ms = 0, total_ms = 0;
};

// Processor status for /v1/processor/status and metrics.
struct processor_status {
  bool running = false;        // the pipeline accepts work
  std::int32_t in_flight = 0;  // user batches in extractors
  std::int32_t queued = 0;     // claimed, waiting for an idle extractor
  std::int32_t pool_size = 0;
  std::int32_t concurrency_limit = 0;  // lowered while the LLM answers 429
  std::uint64_t cycles = 0;
  std::int64_t messages_processed = 0, errors = 0, facts_written = 0;
  cycle_result last_cycle;
};

// A user erased on request: what was removed.
struct erase_report {
  std::int64_t messages = 0;
  std::int64_t facts = 0;
  std::int64_t fact_events = 0;
};

}  // namespace memoryd
