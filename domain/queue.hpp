// The memory-processing queue over stored messages: claims, leases and queue depth.
// Plain data: no CAF, SQLite or Boost; every layer may include it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "domain/message.hpp"

namespace memoryd {

// Claim the next batch: FIFO over users by their oldest waiting message.
struct claim_request {
  millis now = 0;
  std::int32_t batch_size = 100;          // total cap
  std::int32_t per_user_batch_size = 25;  // per-user cap
  millis lease_ms = 600000;
  std::int32_t max_attempts = 3;  // an expired lease at this many attempts dead-letters
  // Live users are claimed first; while backfill users wait they get at least this share of
  // batch_size (rounded up), so an import never starves and never holds up live users.
  double backfill_share = 0.2;
  // Quiet period (0: off): a user is claimable once their newest waiting message is quiet_ms
  // old, or once their oldest is max_wait_ms old, whichever comes first.
  millis quiet_ms = 0;
  millis max_wait_ms = 600000;
  // Fill claimed_message::context_before (the extractor reads it: LLM backends).
  bool with_context = false;
};

// The messages of a claim that backfill may take before live users have what is left:
// batch_size x backfill_share, rounded up (20 of 100 by default).
inline std::int32_t backfill_reserve(const claim_request& r) {
  if (r.backfill_share <= 0 || r.batch_size <= 0) return 0;
  const double owed = std::ceil(r.batch_size * r.backfill_share - 1e-9);
  return std::min(r.batch_size, static_cast<std::int32_t>(owed));
}

struct claimed_message {
  std::string id;
  std::int64_t seq = 0;
  std::string content;
  millis created_at = 0;
  std::int32_t attempts = 0;  // including this claim
  message_priority priority = message_priority::live;
  // What the assistant said right before this message, when the user's previous stored
  // message is an assistant turn (empty otherwise, and when the claim did not ask for it). Read,
  // never mined: it lets the extractor understand a short reply ("No, not yet." after "Are you
  // married?").
  std::string context_before;
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
  std::vector<user_batch> users;   // claim order: live, backfill, live again; each FIFO
  std::int32_t dead_lettered = 0;  // expired leases already at max_attempts
};

// A page of dead letters, newest first (GET /v1/processor/dead): a keyset page on seq, so a
// message that stays dead while a client pages is listed exactly once, whatever is ingested,
// dead-lettered or retried meanwhile.
struct dead_letter_query {
  std::int32_t limit = 50;      // 1..1001 (a page and one more, to know whether one follows)
  std::int64_t before_seq = 0;  // only seq < before_seq; 0: from the newest
};

// The waiting work of one scheduling class. A user is live while a live message of theirs
// waits (their backfill before it goes along, in arrival order), backfill otherwise.
struct priority_stats {
  std::int64_t users_waiting = 0;
  std::int64_t messages_waiting = 0;  // pending or leased messages of this priority
  millis oldest_age_ms = 0;           // the class's oldest waiting message (0: none)
};

// Queue depth and lag, for status/metrics.
struct queue_stats {
  std::int64_t pending = 0, leased = 0, done = 0, dead = 0, skipped = 0;
  std::int64_t retry_scheduled = 0;  // pending with next_attempt_at > now
  millis oldest_pending_age_ms = 0;  // 0 when nothing is pending
  std::int64_t users_waiting = 0;
  priority_stats live, backfill;
};

// The order of every claim, on both backends: live users up to what backfill is owed (its
// share, only while a backfill user is claimable: otherwise live takes the whole batch, as
// before priorities existed); then backfill with what is left, at least its share; then live
// again with what backfill did not use. `pass(class, cap, after_seq)` leases at most `cap`
// messages of that class's users after `after_seq` in FIFO order and answers how many; the
// second live pass resumes where the first stopped.
template <class Pass>
void claim_by_priority(const claim_request& req, bool backfill_waits, Pass&& pass) {
  const std::int32_t owed = backfill_waits ? backfill_reserve(req) : 0;
  std::int64_t live_after = 0, backfill_after = 0;
  std::int32_t left = req.batch_size;
  left -= pass(message_priority::live, left - owed, live_after);
  left -= pass(message_priority::backfill, left, backfill_after);
  pass(message_priority::live, left, live_after);
}

// One row of a count by (status, priority) into the stats; both backends count so.
inline void add_status_count(queue_stats& st, std::string_view status, message_priority p,
                             std::int64_t n) {
  if (status == message_status::pending)
    st.pending += n;
  else if (status == message_status::leased)
    st.leased += n;
  else if (status == message_status::done)
    st.done += n;
  else if (status == message_status::dead)
    st.dead += n;
  else if (status == message_status::skipped)
    st.skipped += n;
  if (status == message_status::pending || status == message_status::leased)
    (p == message_priority::live ? st.live : st.backfill).messages_waiting += n;
}

}  // namespace memoryd
