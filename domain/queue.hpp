// The memory-processing queue over stored messages: claims, leases and queue depth.
// Plain data: no CAF, SQLite or Boost; every layer may include it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace memoryd {

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
  // The claim's lease (now + lease_ms): the token its transitions carry, so that an outcome
  // that arrives after the lease ended cannot change messages another claim holds now.
  millis lease_until = 0;
};

struct claim_result {
  std::vector<user_batch> users;   // FIFO order
  std::int32_t dead_lettered = 0;  // expired leases already at max_attempts
};

// A page of dead letters, newest first (GET /v1/processor/dead): a keyset page on seq, so a
// message that stays dead while a client pages is listed exactly once, whatever is ingested,
// dead-lettered or retried meanwhile.
struct dead_letter_query {
  std::int32_t limit = 50;      // 1..1001 (a page and one more, to know whether one follows)
  std::int64_t before_seq = 0;  // only seq < before_seq; 0: from the newest
};

// Queue depth and lag, for status/metrics.
struct queue_stats {
  std::int64_t pending = 0, leased = 0, done = 0, dead = 0, skipped = 0;
  std::int64_t retry_scheduled = 0;  // pending with next_attempt_at > now
  millis oldest_pending_age_ms = 0;  // 0 when nothing is pending
  std::int64_t users_waiting = 0;
};

}  // namespace memoryd
