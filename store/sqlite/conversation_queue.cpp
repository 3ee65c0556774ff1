// The per-user queue of the SQLite conversation store: claims, the state transitions, dead
// letters, the queue's stats and the claim's plan.
#include <tuple>

#include "store/sqlite/conversation_store_impl.hpp"

namespace memoryd::sqlite {

// The users of one class (?4) in FIFO order, from after `after_seq`, until `cap` messages are
// leased or none is left; `after_seq` ends after the last user read, so a second pass over the
// same class resumes there.
std::int32_t conversation_store::impl::claim_class(const claim_request& req, message_priority cls,
                                                   std::int32_t cap_total, std::int64_t& after_seq,
                                                   claim_result& result) {
  auto& users_q = stmt(k_claim_users_sql);
  auto& msgs_q = stmt(k_claim_messages_sql);
  auto& lease_q = stmt(
      "UPDATE messages SET status = 'leased', lease_until = ?2, attempts = attempts + 1 "
      "WHERE seq = ?1");
  auto& dead_q = stmt(
      "UPDATE messages SET status = 'dead', lease_until = 0, last_error = ?2, "
      "memory_processed_at = ?3 WHERE seq = ?1");
  auto& gate_q = stmt("UPDATE user_queue SET available_at = ?2 WHERE user_id = ?1");
  auto& quiet_q =
      stmt("UPDATE user_queue SET available_at = max(available_at, ?2) WHERE user_id = ?1");

  const millis lease_until = req.now + req.lease_ms;
  std::int32_t remaining = cap_total;
  while (remaining > 0) {
    // Read a chunk of candidate users first: we update user_queue while processing them.
    std::vector<std::pair<std::string, std::int64_t>> candidates;
    {
      use q(users_q);
      q->bind(1, static_cast<std::int64_t>(req.now)).bind(2, after_seq).bind(3, remaining);
      q->bind(4, static_cast<std::int64_t>(cls));
      while (q->step()) candidates.emplace_back(q->col_text(0), q->col_int(1));
    }
    if (candidates.empty()) {
      // None left in this class: a later pass over it (live's second) reads nothing.
      after_seq = std::numeric_limits<std::int64_t>::max();
      break;
    }
    for (const auto& [user_id, head_seq] : candidates) {
      if (remaining <= 0) break;
      after_seq = head_seq;
      if (req.quiet_ms > 0) {
        const millis due = quiet_until(user_id, head_seq, req);
        if (due > req.now) {
          // Gated until then: later claims pass this user at the cost of an index entry. A
          // message that arrives meanwhile is seen when the gate opens (a later due).
          use q(quiet_q);
          q->bind(1, user_id).bind(2, static_cast<std::int64_t>(due));
          q->exec();
          continue;
        }
      }
      const std::int32_t cap = std::min(req.per_user_batch_size, remaining);
      user_batch batch;
      batch.user_id = user_id;
      batch.lease_until = lease_until;
      bool dead_lettered = false;
      // Expired leases at max_attempts are dead-lettered, which frees room: read on after
      // the last seen seq until the cap is reached or nothing more waits.
      std::int64_t last_seq = head_seq - 1;  // nothing before the head waits
      for (;;) {
        const auto want = cap - static_cast<std::int32_t>(batch.messages.size());
        std::vector<std::pair<claimed_message, bool>> rows;  // message, currently leased
        {
          use q(msgs_q);
          q->bind(1, user_id).bind(2, want).bind(3, last_seq);
          q->bind(4, std::int64_t{req.with_context ? 1 : 0});
          while (q->step()) {
            claimed_message m;
            m.seq = q->col_int(0);
            m.id = q->col_text(1);
            m.content = q->col_text(2);
            m.created_at = q->col_int(3);
            m.attempts = static_cast<std::int32_t>(q->col_int(4));
            m.priority = static_cast<message_priority>(q->col_int(6));
            m.context_before = q->col_text(7);
            rows.emplace_back(std::move(m), q->col_text(5) == message_status::leased);
          }
        }
        for (auto& [m, leased] : rows) {
          last_seq = m.seq;
          if (leased && m.attempts >= req.max_attempts) {
            use q(dead_q);
            q->bind(1, m.seq)
                .bind(2, "lease expired after " + std::to_string(m.attempts) + " attempts")
                .bind(3, static_cast<std::int64_t>(req.now));
            q->exec();
            ++result.dead_lettered;
            dead_lettered = true;
            continue;
          }
          use q(lease_q);
          q->bind(1, m.seq).bind(2, static_cast<std::int64_t>(lease_until));
          q->exec();
          m.attempts += 1;
          batch.messages.push_back(std::move(m));
        }
        if (static_cast<std::int32_t>(rows.size()) < want) break;  // nothing more waiting
        if (static_cast<std::int32_t>(batch.messages.size()) >= cap) break;
      }
      if (dead_lettered) refresh_user(user_id);
      if (!batch.messages.empty()) {
        use q(gate_q);
        q->bind(1, user_id).bind(2, static_cast<std::int64_t>(lease_until));
        q->exec();
        remaining -= static_cast<std::int32_t>(batch.messages.size());
        result.users.push_back(std::move(batch));
      }
    }
  }
  return cap_total - remaining;
}

claim_result conversation_store::claim(const claim_request& req) {
  claim_result result;
  if (req.batch_size <= 0 || req.per_user_batch_size <= 0) return result;
  auto& d = *impl_;
  relaxed_sync relaxed(d.db, d.full);
  transaction tx(d.db);
  // Whether a backfill user waits (not gated by a lease or a retry; one in a quiet period
  // counts, and what it leaves goes to the last live pass).
  bool backfill_waits = false;
  {
    use q(d.stmt(k_claim_users_sql));
    q->bind(1, static_cast<std::int64_t>(req.now)).bind(2, std::int64_t{0}).bind(3, 1);
    q->bind(4, static_cast<std::int64_t>(message_priority::backfill));
    backfill_waits = q->step();
  }
  claim_by_priority(req, backfill_waits,
                    [&](message_priority cls, std::int32_t cap, std::int64_t& after_seq) {
                      return d.claim_class(req, cls, cap, after_seq, result);
                    });
  tx.commit();
  return result;
}

void conversation_store::mark_done(const std::string& user_id, const std::vector<std::string>& ids,
                                   millis now, const std::string& note, millis lease_until) {
  impl_->transition(user_id, ids, lease_until,
                    std::string("UPDATE messages SET status = 'done', lease_until = 0, "
                                "memory_processed_at = ?3, last_error = ?4 "
                                "WHERE id = ?1 AND user_id = ?2 AND status = 'leased'") +
                        k_same_lease,
                    [&](statement& s) {
                      s.bind(3, static_cast<std::int64_t>(now));
                      if (note.empty())
                        s.bind_null(4);
                      else
                        s.bind(4, note);
                    });
}

void conversation_store::schedule_retry(const std::string& user_id,
                                        const std::vector<std::string>& ids,
                                        const std::string& error, millis retry_at,
                                        millis lease_until) {
  impl_->transition(user_id, ids, lease_until,
                    std::string("UPDATE messages SET status = 'pending', lease_until = 0, "
                                "next_attempt_at = ?3, last_error = ?4 "
                                "WHERE id = ?1 AND user_id = ?2 AND status = 'leased'") +
                        k_same_lease,
                    [&](statement& s) {
                      s.bind(3, static_cast<std::int64_t>(retry_at));
                      s.bind(4, error);
                    });
}

void conversation_store::dead_letter(const std::string& user_id,
                                     const std::vector<std::string>& ids, const std::string& error,
                                     millis now, millis lease_until) {
  impl_->transition(
      user_id, ids, lease_until,
      std::string("UPDATE messages SET status = 'dead', lease_until = 0, "
                  "last_error = ?3, memory_processed_at = ?4 WHERE id = ?1 AND "
                  "user_id = ?2 AND status = 'leased'") +
          k_same_lease,
      [&](statement& s) { s.bind(3, error).bind(4, static_cast<std::int64_t>(now)); });
}

void conversation_store::release(const std::string& user_id, const std::vector<std::string>& ids,
                                 millis lease_until) {
  impl_->transition(user_id, ids, lease_until,
                    std::string("UPDATE messages SET status = 'pending', lease_until = 0, "
                                "attempts = max(attempts - 1, 0) "
                                "WHERE id = ?1 AND user_id = ?2 AND status = 'leased'") +
                        k_same_lease,
                    [](statement&) {});
}

std::int64_t conversation_store::retry_dead(const std::vector<std::string>& ids, millis /*now*/) {
  auto& d = *impl_;
  transaction tx(d.db);
  struct revived {
    std::int64_t oldest = 0, live = 0;  // oldest message put back; a live one (0: none)
  };
  std::map<std::string, revived> users;
  std::int64_t n = 0;
  auto revive = [&](statement& find) {
    std::vector<std::tuple<std::int64_t, std::string, std::int64_t>> rows;
    while (find.step()) rows.emplace_back(find.col_int(0), find.col_text(1), find.col_int(2));
    find.reset();
    for (const auto& [seq, user, priority] : rows) {
      use q(
          d.stmt("UPDATE messages SET status = 'pending', attempts = 0, next_attempt_at = 0, "
                 "lease_until = 0, memory_processed_at = 0 WHERE seq = ?1 AND status = 'dead'"));
      q->bind(1, seq);
      q->exec();
      n += d.db.changes();
      auto& r = users[user];
      r.oldest = r.oldest == 0 ? seq : std::min(r.oldest, seq);
      if (priority == 0) r.live = seq;
    }
  };
  if (ids.empty()) {
    use q(d.stmt("SELECT seq, user_id, priority FROM messages WHERE status = 'dead'"));
    revive(*q);
  } else {
    for (const auto& id : ids) {
      use q(
          d.stmt("SELECT seq, user_id, priority FROM messages WHERE id = ?1 AND status = 'dead'"));
      q->bind(1, id);
      revive(*q);
    }
  }
  for (const auto& [user, r] : users) {
    d.refresh_user(user, r.oldest);
    if (r.live == 0) continue;
    // A live message put back makes its user live (the refresh only follows the head).
    use q(d.stmt("UPDATE user_queue SET live_seq = ?2 WHERE user_id = ?1 AND live_seq < head_seq"));
    q->bind(1, user).bind(2, r.live);
    q->exec();
  }
  tx.commit();
  return n;
}

std::vector<stored_message> conversation_store::dead_letters(const dead_letter_query& q) {
  const std::int64_t before =
      q.before_seq > 0 ? q.before_seq : std::numeric_limits<std::int64_t>::max();
  use s(impl_->stmt(std::string("SELECT ") + k_msg_columns +
                    " FROM messages INDEXED BY messages_dead WHERE status = 'dead' AND seq < ?1 "
                    "ORDER BY seq DESC LIMIT ?2"));
  s->bind(1, before).bind(2, std::clamp<std::int32_t>(q.limit, 1, 1001));
  std::vector<stored_message> out;
  while (s->step()) out.push_back(impl::read_message(*s));
  return out;
}

queue_stats conversation_store::stats(millis now) {
  auto& d = *impl_;
  queue_stats st;
  {
    // Both from messages_status alone (status, priority, ...): no table row is read.
    use q(d.stmt("SELECT status, priority, count(*) FROM messages GROUP BY status, priority"));
    while (q->step())
      add_status_count(st, q->col_text(0), static_cast<message_priority>(q->col_int(1)),
                       q->col_int(2));
  }
  {
    // priority IN (0, 1) names every priority, so messages_status (status, priority,
    // next_attempt_at) ranges on next_attempt_at in both instead of reading every pending row.
    use q(
        d.stmt("SELECT count(*) FROM messages WHERE status = 'pending' AND priority IN (0, 1) AND "
               "next_attempt_at > ?1"));
    q->bind(1, static_cast<std::int64_t>(now));
    if (q->step()) st.retry_scheduled = q->col_int(0);
  }
  for (auto* cls : {&st.live, &st.backfill}) {
    const std::int64_t priority = cls == &st.live ? 0 : 1;
    std::int64_t head = 0;
    {
      use q(
          d.stmt("SELECT count(*), min(head_seq) FROM user_queue INDEXED BY user_queue_class "
                 "WHERE priority = ?1"));
      q->bind(1, priority);
      if (!q->step() || q->col_null(1)) continue;
      cls->users_waiting = q->col_int(0);
      head = q->col_int(1);
    }
    use q(d.stmt("SELECT created_at FROM messages WHERE seq = ?1"));
    q->bind(1, head);
    if (q->step()) cls->oldest_age_ms = std::max<millis>(0, now - q->col_int(0));
  }
  st.users_waiting = st.live.users_waiting + st.backfill.users_waiting;
  st.oldest_pending_age_ms = std::max(st.live.oldest_age_ms, st.backfill.oldest_age_ms);
  return st;
}

std::vector<std::string> conversation_store::explain_claim() {
  std::vector<std::string> out;
  for (const char* sql : {k_claim_users_sql, k_claim_messages_sql}) {
    statement s(impl_->db.handle(), std::string("EXPLAIN QUERY PLAN ") + sql);
    // Dummy bindings; the plan does not depend on them.
    if (sql == k_claim_users_sql)
      s.bind(1, std::int64_t{0}).bind(2, std::int64_t{0}).bind(3, 1).bind(4, std::int64_t{0});
    else
      s.bind(1, "user").bind(2, 1).bind(3, std::int64_t{0}).bind(4, std::int64_t{1});
    while (s.step()) out.push_back(s.col_text(3));
  }
  return out;
}

}  // namespace memoryd::sqlite
