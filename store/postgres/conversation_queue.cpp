// The per-user queue of the PostgreSQL conversation store: claims, the state transitions,
// dead letters, the queue's stats and the claim's plan.
#include <algorithm>
#include <limits>
#include <map>

#include "store/postgres/conversation_store_impl.hpp"

namespace memoryd::pg {
namespace {

// A claimed message's context when the claim asks for it (the parameter `asked`): the user's
// previous message when it is an assistant turn (one more probe of messages_user_seq per
// claimed message; `w` is the claimed row; CASE runs the subquery only when asked).
#define K_BEFORE(asked)                                                                    \
  "CASE WHEN " asked                                                                       \
  "::boolean THEN (SELECT CASE WHEN p.role = 'assistant' THEN p.content "                  \
  "END FROM messages p WHERE p.user_id = w.user_id AND p.seq < w.seq ORDER BY p.seq DESC " \
  "LIMIT 1) END AS before"

// The claim, in chunks of users: lock the next available users of class $5 in FIFO order
// (skipping those another claim or writer holds), each with their oldest waiting messages.
// $6 quiet_ms (0: off), $7 max_wait_ms: `due` is when the user's quiet period ends (their
// newest waiting message plus quiet_ms, or their head plus max_wait_ms); a user not due yet
// comes without messages, and the claim gates them until then (available_at), so later
// claims pass them in the index (user_queue_class holds available_at).
constexpr const char* k_claim_sql = R"sql(
WITH users AS (
  SELECT user_id, head_seq,
    CASE WHEN $6::bigint <= 0 THEN 0 ELSE COALESCE(LEAST(
      (SELECT created_at FROM messages WHERE user_id = q.user_id AND seq >= q.head_seq
         AND status IN ('pending', 'leased') ORDER BY seq DESC LIMIT 1) + $6::bigint,
      (SELECT created_at FROM messages WHERE seq = q.head_seq) + $7::bigint), 0) END AS due
  FROM user_queue q
  WHERE priority = $5 AND available_at <= $1 AND head_seq > $2
  ORDER BY head_seq LIMIT $3
  FOR UPDATE SKIP LOCKED
)
SELECT u.user_id, u.head_seq, m.seq, m.id, m.content, m.created_at, m.attempts, m.status,
       m.priority, m.before, u.due
FROM users u LEFT JOIN LATERAL (
  SELECT seq, id, content, created_at, attempts, status, priority,
    )sql" K_BEFORE("$8") R"sql(
  FROM messages w
  WHERE user_id = u.user_id AND seq >= u.head_seq AND status IN ('pending', 'leased')
  ORDER BY seq LIMIT $4
) m ON u.due <= $1
ORDER BY u.head_seq, m.seq)sql";

// Users found inside their quiet period: claimable again when it ends.
constexpr const char* k_gate_sql =
    "UPDATE user_queue q SET available_at = GREATEST(q.available_at, g.due) "
    "FROM unnest($1::text[], $2::bigint[]) AS g(user_id, due) WHERE q.user_id = g.user_id";

// More of one user's waiting messages, after `seq` (the claim dead-lettered some).
constexpr const char* k_claim_more_sql =
    "SELECT seq, id, content, created_at, attempts, status, priority, " K_BEFORE("$4") " "
    "FROM messages w WHERE user_id = $1 AND seq > $2 AND status IN ('pending', 'leased') "
    "ORDER BY seq LIMIT $3";
#undef K_BEFORE

constexpr const char* k_lease_sql = R"sql(
WITH leased AS (
  UPDATE messages SET status = 'leased', lease_until = $1, attempts = attempts + 1
  WHERE seq = ANY($2::bigint[])
)
UPDATE user_queue SET available_at = $1 WHERE user_id = ANY($3::text[]))sql";

constexpr const char* k_expire_sql =
    "UPDATE messages SET status = 'dead', lease_until = 0, memory_processed_at = $2, "
    "last_error = 'lease expired after ' || attempts || ' attempts' "
    "WHERE seq = ANY($1::bigint[])";

// The claim reads each user's messages through messages_waiting in seq order and stops at the
// user's share. When the statistics promise ~2 waiting messages per user, the planner prefers
// a bitmap scan plus a sort, which reads every waiting message of the user: a user who owns
// half of a 1M backlog then costs hundreds of ms per claim instead of ~1 ms (measured on the
// test cluster). Off for the claim's transaction only; and custom plans only, so that the
// prepared claim never settles on a generic plan that cannot see these parameters.
constexpr const char* k_claim_plan =
    "SET LOCAL enable_bitmapscan TO off; SET LOCAL plan_cache_mode TO force_custom_plan";

}  // namespace

claim_result conversation_store::claim(const claim_request& req) {
  if (req.batch_size <= 0 || req.per_user_batch_size <= 0) return {};
  return impl_->db.run([&](connection& c) {
    claim_result result;
    transaction tx(c);
    c.exec(k_relaxed);
    c.exec(k_claim_plan);
    const millis lease_until = req.now + req.lease_ms;
    const std::string with_context = req.with_context ? "true" : "false";  // K_BEFORE's flag
    std::vector<std::int64_t> lease_seqs, dead_seqs;
    std::vector<std::string> leased_users, refresh_users, gated_users;
    std::vector<std::int64_t> gated_due;
    // One class's users in FIFO order from after `after_seq`, until `cap_total` messages are
    // taken. `after_seq` moves only past users this pass handled: a user locked by a chunk
    // but not needed is left for the next pass (a lock this transaction holds does not make
    // SKIP LOCKED skip it; the head order does).
    auto pass = [&](message_priority cls, std::int32_t cap_total, std::int64_t& after_seq) {
      std::int32_t remaining = cap_total;
      // The first chunk locks as many users as the batch needs if each brings a full share; a
      // later one as many as the users seen so far suggest, plus one, never more than could
      // still bring one message each. Locking a user writes its row: locking 60 users to keep
      // 6 cost ~5 ms at 100,000 waiting users (PERFORMANCE.md). The guess counts the users
      // that brought less than their share (and those in their quiet period, who bring none):
      // a user who filled it says only "at least", and one heavy user would make the others
      // look heavy too.
      std::int32_t chunk = (remaining + req.per_user_batch_size - 1) / req.per_user_batch_size;
      std::int64_t short_users = 0, short_messages = 0;
      auto next_chunk = [&]() -> std::int32_t {
        std::int64_t per_user = req.per_user_batch_size;  // everyone seen filled their share
        if (short_users > 0) {
          if (short_messages == 0) return remaining;  // nothing to go by
          per_user = std::max<std::int64_t>(1, short_messages / short_users);
        }
        return static_cast<std::int32_t>(
            std::min<std::int64_t>(remaining, (remaining + per_user - 1) / per_user + 1));
      };
      while (remaining > 0) {
        const std::int32_t limit = std::min(req.per_user_batch_size, remaining);  // per user
        auto r = c.exec_prepared("claim", k_claim_sql,
                                 {num(req.now), num(after_seq), num(chunk), num(limit),
                                  num(static_cast<std::int64_t>(cls)), num(req.quiet_ms),
                                  num(req.max_wait_ms), with_context});
        // None left in this class (or all locked elsewhere): a later pass over it reads
        // nothing.
        if (r.rows() == 0) {
          after_seq = std::numeric_limits<std::int64_t>::max();
          break;
        }
        std::int32_t users_seen = 0;
        for (int i = 0; i < r.rows();) {
          const std::string user = r.text(i, 0);
          const std::int64_t head = r.integer(i, 1);
          ++users_seen;
          const int first = i;
          while (i < r.rows() && r.get(i, 0) == user) ++i;
          if (remaining <= 0) continue;  // locked by this chunk, not needed: left as it is
          after_seq = head;
          if (const millis due = r.is_null(first, 10) ? 0 : r.integer(first, 10); due > req.now) {
            gated_users.push_back(user);
            gated_due.push_back(due);
            ++short_users;
            continue;
          }
          user_batch batch;
          batch.user_id = user;
          batch.lease_until = lease_until;
          bool dead_lettered = false;
          const std::int32_t cap = std::min(req.per_user_batch_size, remaining);
          auto full = [&] { return static_cast<std::int32_t>(batch.messages.size()) >= cap; };
          std::int64_t last_seq = 0;
          // A waiting message (columns from `col`: seq, id, content, created_at, attempts,
          // status, priority, before) joins the batch, or is dead-lettered: an expired lease at
          // max_attempts.
          auto take = [&](const pg::result& rows, int k, int col) {
            claimed_message m;
            m.seq = last_seq = rows.integer(k, col);
            m.id = rows.text(k, col + 1);
            m.content = rows.text(k, col + 2);
            m.created_at = rows.integer(k, col + 3);
            m.attempts = static_cast<std::int32_t>(rows.integer(k, col + 4));
            m.priority = static_cast<message_priority>(rows.integer(k, col + 6));
            m.context_before = rows.text(k, col + 7);
            if (rows.get(k, col + 5) == message_status::leased && m.attempts >= req.max_attempts) {
              dead_seqs.push_back(m.seq);
              ++result.dead_lettered;
              dead_lettered = true;
              return;
            }
            m.attempts += 1;
            lease_seqs.push_back(m.seq);
            batch.messages.push_back(std::move(m));
          };
          int read = 0;
          for (int k = first; k < i && !r.is_null(k, 2) && !full(); ++k, ++read)  // NULL: stale
            take(r, k, 2);
          // Dead letters free room in the user's share: read on after them (as SQLite does),
          // up to the share, while the user may have more.
          for (std::int32_t asked = limit; dead_lettered && !full() && read == asked;) {
            asked = cap - static_cast<std::int32_t>(batch.messages.size());
            auto more = c.exec_prepared("claim_more", k_claim_more_sql,
                                        {user, num(last_seq), num(asked), with_context});
            read = more.rows();
            for (int k = 0; k < more.rows(); ++k) take(more, k, 0);
          }
          // Dead letters move the head; a user with nothing claimable has a stale row.
          if (dead_lettered || batch.messages.empty()) refresh_users.push_back(user);
          if (!full()) {
            ++short_users;
            short_messages += static_cast<std::int64_t>(batch.messages.size());
          }
          if (!batch.messages.empty()) {
            remaining -= static_cast<std::int32_t>(batch.messages.size());
            leased_users.push_back(user);
            result.users.push_back(std::move(batch));
          }
        }
        if (users_seen < chunk) {  // no more users available (or all locked elsewhere)
          if (remaining > 0) after_seq = std::numeric_limits<std::int64_t>::max();
          break;
        }
        chunk = next_chunk();
      }
      return cap_total - remaining;
    };
    // Whether a backfill user waits (as on SQLite: not gated by a lease or a retry).
    const bool backfill_waits =
        c.exec_prepared("claim_probe",
                        "SELECT 1 FROM user_queue WHERE priority = 1 AND available_at <= $1 "
                        "LIMIT 1",
                        {num(req.now)})
            .rows() > 0;
    claim_by_priority(req, backfill_waits, pass);
    if (!dead_seqs.empty())
      c.exec_prepared("claim_expire", k_expire_sql, {int_array(dead_seqs), num(req.now)});
    if (!gated_users.empty())
      c.exec_prepared("claim_gate", k_gate_sql, {text_array(gated_users), int_array(gated_due)});
    if (!lease_seqs.empty())
      c.exec_prepared("claim_lease", k_lease_sql,
                      {num(lease_until), int_array(lease_seqs), text_array(leased_users)});
    // After the lease, so a refreshed row keeps this claim's gate (its latest lease_until).
    for (const auto& user : refresh_users) impl::refresh_user(c, user, true);
    tx.commit();
    return result;
  });
}

void conversation_store::mark_done(const std::string& user_id, const std::vector<std::string>& ids,
                                   millis now, const std::string& note, millis lease_until) {
  impl_->transition(user_id, ids, lease_until, "mark_done",
                    "UPDATE messages SET status = 'done', lease_until = 0, "
                    "memory_processed_at = $3, last_error = $4 "
                    "WHERE id = ANY($1::text[]) AND user_id = $2 AND status = 'leased'",
                    {num(now), note.empty() ? param{} : param{note}});
}

void conversation_store::schedule_retry(const std::string& user_id,
                                        const std::vector<std::string>& ids,
                                        const std::string& error, millis retry_at,
                                        millis lease_until) {
  impl_->transition(user_id, ids, lease_until, "schedule_retry",
                    "UPDATE messages SET status = 'pending', lease_until = 0, "
                    "next_attempt_at = $3, last_error = $4 "
                    "WHERE id = ANY($1::text[]) AND user_id = $2 AND status = 'leased'",
                    {num(retry_at), error});
}

void conversation_store::dead_letter(const std::string& user_id,
                                     const std::vector<std::string>& ids, const std::string& error,
                                     millis now, millis lease_until) {
  impl_->transition(user_id, ids, lease_until, "dead_letter",
                    "UPDATE messages SET status = 'dead', lease_until = 0, last_error = $3, "
                    "memory_processed_at = $4 "
                    "WHERE id = ANY($1::text[]) AND user_id = $2 AND status = 'leased'",
                    {error, num(now)});
}

void conversation_store::release(const std::string& user_id, const std::vector<std::string>& ids,
                                 millis lease_until) {
  impl_->transition(user_id, ids, lease_until, "release",
                    "UPDATE messages SET status = 'pending', lease_until = 0, "
                    "attempts = GREATEST(attempts - 1, 0) "
                    "WHERE id = ANY($1::text[]) AND user_id = $2 AND status = 'leased'",
                    {});
}

std::int64_t conversation_store::retry_dead(const std::vector<std::string>& ids, millis /*now*/) {
  return impl_->db.run([&](connection& c) {
    transaction tx(c);
    const char* revive =
        "UPDATE messages SET status = 'pending', attempts = 0, next_attempt_at = 0, "
        "lease_until = 0, memory_processed_at = 0 WHERE status = 'dead'";
    const char* returning = " RETURNING seq, user_id, priority";
    auto r = ids.empty() ? c.exec(std::string(revive) + returning)
                         : c.exec(std::string(revive) + " AND id = ANY($1::text[])" + returning,
                                  {text_array(ids)});
    struct revived {
      std::int64_t oldest = 0, live = 0;  // oldest message put back; a live one (0: none)
    };
    std::map<std::string, revived> users;  // sorted: rows are locked in user order
    for (int i = 0; i < r.rows(); ++i) {
      auto& u = users[r.text(i, 1)];
      const auto seq = r.integer(i, 0);
      u.oldest = u.oldest == 0 ? seq : std::min(u.oldest, seq);
      if (r.integer(i, 2) == 0) u.live = seq;
    }
    for (const auto& [user, u] : users) {
      impl::refresh_user(c, user, false, u.oldest);
      // A live message put back makes its user live (the refresh only follows the head).
      if (u.live != 0)
        c.exec_prepared("promote_live",
                        "UPDATE user_queue SET live_seq = $2 WHERE user_id = $1 AND "
                        "live_seq < head_seq",
                        {user, num(u.live)});
    }
    tx.commit();
    return static_cast<std::int64_t>(r.rows());
  });
}

std::vector<stored_message> conversation_store::dead_letters(const dead_letter_query& q) {
  // messages_dead (seq) WHERE status = 'dead': a page costs its rows, however many are dead.
  const std::int64_t before =
      q.before_seq > 0 ? q.before_seq : std::numeric_limits<std::int64_t>::max();
  const auto limit = std::clamp<std::int32_t>(q.limit, 1, 1001);
  return impl_->db.run([&](connection& c) {
    auto r = c.exec_prepared("dead_letters",
                             std::string("SELECT ") + k_msg_columns +
                                 " FROM messages WHERE status = 'dead' AND seq < $1::bigint "
                                 "ORDER BY seq DESC LIMIT $2::int",
                             {num(before), num(limit)});
    std::vector<stored_message> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(impl::read_message(r, i));
    return out;
  });
}

queue_stats conversation_store::stats(millis now) {
  return impl_->db.run([&](connection& c) {
    queue_stats st;
    auto r = c.exec("SELECT status, priority, count(*) FROM messages GROUP BY status, priority");
    for (int i = 0; i < r.rows(); ++i)
      add_status_count(st, r.get(i, 0), static_cast<message_priority>(r.integer(i, 1)),
                       r.integer(i, 2));
    st.retry_scheduled =
        c.exec("SELECT count(*) FROM messages WHERE status = 'pending' AND next_attempt_at > $1",
               {num(now)})
            .integer(0, 0);
    // Per class: its users, and the created_at of its oldest head (user_queue_class).
    auto classes = c.exec(
        "SELECT p, (SELECT count(*) FROM user_queue WHERE priority = p), "
        " (SELECT m.created_at FROM messages m WHERE m.seq = "
        "   (SELECT min(head_seq) FROM user_queue WHERE priority = p)) "
        "FROM (VALUES (0::smallint), (1::smallint)) AS v(p)");
    for (int i = 0; i < classes.rows(); ++i) {
      auto& cls = classes.integer(i, 0) == 0 ? st.live : st.backfill;
      cls.users_waiting = classes.integer(i, 1);
      if (!classes.is_null(i, 2))
        cls.oldest_age_ms = std::max<millis>(0, now - classes.integer(i, 2));
    }
    st.users_waiting = st.live.users_waiting + st.backfill.users_waiting;
    st.oldest_pending_age_ms = std::max(st.live.oldest_age_ms, st.backfill.oldest_age_ms);
    return st;
  });
}

std::vector<std::string> conversation_store::explain_claim() {
  return impl_->db.run([](connection& c) {
    std::vector<std::string> out;
    transaction tx(c);
    c.exec(k_claim_plan);
    auto r =
        c.exec(std::string("EXPLAIN ") + k_claim_sql,
               {std::string("0"), std::string("0"), std::string("4"), std::string("25"),
                std::string("0"), std::string("0"), std::string("600000"), std::string("true")});
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    return out;
  });
}

}  // namespace memoryd::pg
