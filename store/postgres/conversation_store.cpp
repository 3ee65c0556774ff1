#include "store/postgres/conversation_store.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "core/uuid.hpp"

namespace memoryd::pg {
namespace {

// One statement, one round trip and its own transaction: the whole group goes in as arrays,
// in request order (seq follows ORDINALITY), duplicates of a stored external_id are skipped by
// the unique index, and each user with new user messages gets one queue row upsert, in
// user_id order so that concurrent groups lock queue rows in the same order (no deadlock).
// The head is only ever lowered (a message committed after a claim may carry a lower seq than
// the user's head), and a user scheduled as backfill made live by a live message (live_seq,
// see SQLite's migration 4); the row is only written when one of the two happens: the WHERE leaves
// a row whose head is older than the group's message as it is, without a new row version (a user
// already waiting, the common case, cost a dead tuple and its WAL per group). ON CONFLICT DO UPDATE
// locks the conflicting row whether or not the WHERE holds, so the lock order above, and the rule
// that a writer of the row sees this ingest or is seen by it, are unchanged.
constexpr const char* k_ingest_sql = R"sql(
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::bigint[], $8::smallint[])
    WITH ORDINALITY AS t(id, user_id, role, content, channel, external_id, created_at, priority,
                         ord)
), ins AS (
  INSERT INTO messages (id, user_id, role, content, channel, external_id, created_at, status,
                        priority)
  SELECT id, user_id, role, content, channel, external_id, created_at,
         CASE WHEN role = 'user' THEN 'pending' ELSE 'skipped' END, priority
  FROM input ORDER BY ord
  ON CONFLICT (external_id) DO NOTHING
  RETURNING id, seq, user_id, status, priority
), queued AS (
  INSERT INTO user_queue AS q (user_id, head_seq, live_seq)
  SELECT user_id, min(seq), COALESCE(max(seq) FILTER (WHERE priority = 0), 0)
  FROM ins WHERE status = 'pending' GROUP BY user_id ORDER BY user_id
  ON CONFLICT (user_id) DO UPDATE SET head_seq = LEAST(q.head_seq, excluded.head_seq),
    live_seq = CASE WHEN excluded.live_seq > 0 AND q.live_seq < q.head_seq
                    THEN excluded.live_seq ELSE q.live_seq END
    WHERE q.head_seq > excluded.head_seq OR (excluded.live_seq > 0 AND q.live_seq < q.head_seq)
)
SELECT id, seq FROM ins)sql";

constexpr const char* k_duplicates_sql =
    "SELECT external_id, id, seq FROM messages WHERE external_id = ANY($1::text[])";

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
       m.priority, u.due
FROM users u LEFT JOIN LATERAL (
  SELECT seq, id, content, created_at, attempts, status, priority FROM messages
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
    "SELECT seq, id, content, created_at, attempts, status, priority FROM messages "
    "WHERE user_id = $1 AND seq > $2 AND status IN ('pending', 'leased') ORDER BY seq LIMIT $3";

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

// The user's queue row from their messages: the oldest waiting one from `from` on (nothing
// before the head waits) and the latest lease / retry gate, through partial indexes.
constexpr const char* k_refresh_read_sql = R"sql(
SELECT
  (SELECT seq FROM messages WHERE user_id = $1 AND seq >= $2
     AND status IN ('pending', 'leased') ORDER BY seq LIMIT 1),
  GREATEST(
    (SELECT max(lease_until) FROM messages WHERE user_id = $1 AND status = 'leased'),
    (SELECT max(next_attempt_at) FROM messages
       WHERE user_id = $1 AND status = 'pending' AND next_attempt_at > 0)))sql";

// The next live waiting message from the head on, when the head passed the one the row knew.
constexpr const char* k_next_live_sql =
    "SELECT seq FROM messages WHERE user_id = $1 AND seq >= $2 AND status IN ('pending', "
    "'leased') AND priority = 0 ORDER BY seq LIMIT 1";

// $4: the caller holds the row lock (its value stands); otherwise a row that appeared since
// was made by an ingest, whose head must not be raised nor its live message forgotten.
constexpr const char* k_refresh_write_sql = R"sql(
INSERT INTO user_queue AS q (user_id, head_seq, available_at, live_seq) VALUES ($1, $2, $3, $5)
ON CONFLICT (user_id) DO UPDATE SET
  head_seq = CASE WHEN $4 THEN excluded.head_seq ELSE LEAST(q.head_seq, excluded.head_seq) END,
  available_at = excluded.available_at,
  live_seq = CASE WHEN $4 THEN excluded.live_seq ELSE GREATEST(q.live_seq, excluded.live_seq)
             END)sql";

constexpr const char* k_msg_columns =
    "seq, id, user_id, role, content, channel, external_id, created_at, status, attempts, "
    "next_attempt_at, lease_until, last_error, memory_processed_at, priority";

std::string num(std::int64_t v) { return std::to_string(v); }

// Claims and transitions need not wait for their WAL flush: losing the last ones to a server
// crash only repeats work the pipeline already survives (the SQLite store's relaxed_sync, and
// docs/ARCHITECTURE.md). Ingests, dead-letter retries and erasures keep the durable commit.
constexpr const char* k_relaxed = "SET LOCAL synchronous_commit TO off";

// The claim reads each user's messages through messages_waiting in seq order and stops at the
// user's share. When the statistics promise ~2 waiting messages per user, the planner prefers
// a bitmap scan plus a sort, which reads every waiting message of the user: a user who owns
// half of a 1M backlog then costs hundreds of ms per claim instead of ~1 ms (measured on the
// test cluster). Off for the claim's transaction only; and custom plans only, so that the
// prepared claim never settles on a generic plan that cannot see these parameters.
constexpr const char* k_claim_plan =
    "SET LOCAL enable_bitmapscan TO off; SET LOCAL plan_cache_mode TO force_custom_plan";

}  // namespace

struct conversation_store::impl {
  link db;

  impl(const std::string& url, link_options o) : db(url, o) {}

  static stored_message read_message(const result& r, int i) {
    stored_message m;
    m.seq = r.integer(i, 0);
    m.id = r.text(i, 1);
    m.user_id = r.text(i, 2);
    m.role = r.text(i, 3);
    m.content = r.text(i, 4);
    m.channel = r.text(i, 5);
    m.external_id = r.text(i, 6);
    m.created_at = r.integer(i, 7);
    m.status = r.text(i, 8);
    m.attempts = static_cast<std::int32_t>(r.integer(i, 9));
    m.next_attempt_at = r.integer(i, 10);
    m.lease_until = r.integer(i, 11);
    m.last_error = r.text(i, 12);
    m.processed_at = r.integer(i, 13);
    m.priority = static_cast<message_priority>(r.integer(i, 14));
    return m;
  }

  // Brings the user's queue row in line with their messages (see the SQLite store's
  // refresh_user). `locked`: the caller holds the row lock already; otherwise it is taken
  // here, before the messages are read, so that a concurrent ingest's LEAST applies after.
  static void refresh_user(connection& c, const std::string& user, bool locked,
                           std::int64_t from_seq = -1) {
    std::int64_t from = 0, live_seq = 0;
    bool have_row = locked;
    {
      auto r = c.exec_prepared(
          "queue_row_lock_live",
          "SELECT head_seq, live_seq FROM user_queue WHERE user_id = $1 FOR UPDATE", {user});
      if (r.rows() == 1) {
        from = r.integer(0, 0);
        live_seq = r.integer(0, 1);
        have_row = true;
      }
    }
    const bool was_live = from != 0 && live_seq >= from;
    if (from_seq >= 0 && (from == 0 || from_seq < from)) from = from_seq;
    auto r = c.exec_prepared("refresh_read", k_refresh_read_sql, {user, num(from)});
    if (r.is_null(0, 0)) {
      if (have_row)
        c.exec_prepared("queue_row_delete", "DELETE FROM user_queue WHERE user_id = $1", {user});
      return;
    }
    const std::int64_t available = r.is_null(0, 1) ? 0 : r.integer(0, 1);
    const std::int64_t head = r.integer(0, 0);
    if (was_live && live_seq < head) {
      auto next = c.exec_prepared("next_live", k_next_live_sql, {user, num(head)});
      live_seq = next.rows() == 1 ? next.integer(0, 0) : 0;
    }
    c.exec_prepared(
        "refresh_write", k_refresh_write_sql,
        {user, num(head), num(available), std::string(have_row ? "t" : "f"), num(live_seq)});
  }

  // One transition of the user's leased messages: the queue row is locked first (the order
  // every writer keeps: queue row, then messages), the messages changed, the row refreshed.
  // `sql` binds $1 ids, $2 user, then `extra`; the lease token (0: any lease) is added last.
  void transition(const std::string& user, const std::vector<std::string>& ids, millis lease_until,
                  const char* name, const char* sql, std::vector<param> extra) {
    if (ids.empty()) return;
    const std::string n = "$" + std::to_string(3 + extra.size());
    const std::string guarded =
        std::string(sql) + " AND (" + n + "::bigint = 0 OR lease_until = " + n + ")";
    db.run([&](connection& c) {
      transaction tx(c);
      c.exec(k_relaxed);
      auto lock =
          c.exec_prepared("queue_row_lock",
                          "SELECT head_seq FROM user_queue WHERE user_id = $1 FOR UPDATE", {user});
      std::vector<param> ps = {text_array(ids), user};
      for (auto& e : extra) ps.push_back(e);
      ps.push_back(num(lease_until));
      if (c.exec_prepared(name, guarded, ps).affected() > 0)
        refresh_user(c, user, lock.rows() == 1);
      tx.commit();
    });
  }
};

conversation_store::conversation_store(const std::string& url, link_options opts)
    : impl_(std::make_unique<impl>(url, opts)) {}

conversation_store::~conversation_store() = default;

namespace {

// Runs the ingest statement for `msgs` (one round trip, its own transaction) and answers each
// with its new row or, for a stored external_id, the stored row. `gone` collects the indices of
// duplicates whose stored row was erased between the statement and the read: they can be
// ingested anew.
void ingest_once(connection& c, const std::vector<const new_message*>& msgs, millis now,
                 std::vector<ingest_outcome*>& out, std::vector<std::size_t>& gone) {
  std::vector<const std::string*> ids, users, roles, contents, channels, externals;
  std::vector<std::int64_t> created, priorities;
  std::vector<std::string> fresh_ids;
  fresh_ids.reserve(msgs.size());  // stable addresses for `ids`
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto& m = *msgs[i];
    fresh_ids.push_back(new_uuid());
    ids.push_back(&fresh_ids.back());
    users.push_back(&m.user_id);
    roles.push_back(&m.role);
    contents.push_back(&m.content);
    channels.push_back(&m.channel);
    externals.push_back(m.external_id.empty() ? nullptr : &m.external_id);
    created.push_back(m.created_at != 0 ? m.created_at : now);
    priorities.push_back(static_cast<std::int64_t>(m.priority));
  }
  auto r = c.exec_prepared(
      "ingest", k_ingest_sql,
      {text_array(ids), text_array(users), text_array(roles), text_array(contents),
       text_array(channels), text_array(externals), int_array(created), int_array(priorities)});
  std::unordered_map<std::string, std::int64_t> inserted;
  inserted.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) inserted.emplace(r.text(i, 0), r.integer(i, 1));
  // The rest were duplicates of a stored external_id: answer with the stored row.
  std::vector<std::string> duplicates;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    auto it = inserted.find(fresh_ids[i]);
    if (it != inserted.end()) {
      *out[i] = {fresh_ids[i], it->second, false};
    } else {
      duplicates.push_back(msgs[i]->external_id);
    }
  }
  if (duplicates.empty()) return;
  auto d = c.exec_prepared("ingest_duplicates", k_duplicates_sql, {text_array(duplicates)});
  std::unordered_map<std::string, std::pair<std::string, std::int64_t>> stored;
  for (int i = 0; i < d.rows(); ++i) stored[d.text(i, 0)] = {d.text(i, 1), d.integer(i, 2)};
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    if (inserted.count(fresh_ids[i])) continue;
    auto it = stored.find(msgs[i]->external_id);
    if (it == stored.end()) {
      gone.push_back(i);
    } else {
      *out[i] = {it->second.first, it->second.second, true};
    }
  }
}

}  // namespace

std::vector<std::vector<ingest_outcome>> conversation_store::ingest_group(
    const std::vector<std::vector<new_message>>& requests, millis now) {
  std::vector<std::vector<ingest_outcome>> out(requests.size());
  std::vector<const new_message*> msgs;
  std::vector<ingest_outcome*> outcomes;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    out[i].resize(requests[i].size());
    for (std::size_t k = 0; k < requests[i].size(); ++k) {
      msgs.push_back(&requests[i][k]);
      outcomes.push_back(&out[i][k]);
    }
  }
  // A duplicate whose original was erased before it could be read back is no longer a
  // duplicate: it goes in again (the erasure and this ingest raced; either order is right).
  // Each round is its own transaction, run (and retried on a deadlock) on its own.
  for (int round = 0; !msgs.empty(); ++round) {
    if (round == 3)
      throw error("ingest: a duplicate's stored message kept disappearing (erased)", "", false);
    std::vector<std::size_t> gone;
    impl_->db.run([&](connection& c) {
      gone.clear();
      ingest_once(c, msgs, now, outcomes, gone);
    });
    std::vector<const new_message*> again;
    std::vector<ingest_outcome*> again_slots;
    for (auto i : gone) {
      again.push_back(msgs[i]);
      again_slots.push_back(outcomes[i]);
    }
    msgs = std::move(again);
    outcomes = std::move(again_slots);
  }
  return out;
}

std::vector<ingest_outcome> conversation_store::ingest(const std::vector<new_message>& msgs,
                                                       millis now) {
  return ingest_group({msgs}, now).front();
}

std::vector<stored_message> conversation_store::history(const history_query& q) {
  std::string sql = std::string("SELECT ") + k_msg_columns + " FROM messages";
  std::vector<std::string> where;
  std::vector<param> ps;
  auto bind = [&](std::string v) {
    ps.push_back(std::move(v));
    return "$" + std::to_string(ps.size());
  };
  if (!q.user_id.empty()) where.push_back("user_id = " + bind(q.user_id));
  if (q.before_seq > 0) where.push_back("seq < " + bind(num(q.before_seq)) + "::bigint");
  if (q.since != 0) where.push_back("created_at >= " + bind(num(q.since)) + "::bigint");
  if (q.until != 0) where.push_back("created_at < " + bind(num(q.until)) + "::bigint");
  if (!q.role.empty()) where.push_back("role = " + bind(q.role));
  if (q.processed == 1) where.push_back("status IN ('done', 'dead', 'skipped')");
  if (q.processed == 0) where.push_back("status IN ('pending', 'leased')");
  for (std::size_t i = 0; i < where.size(); ++i) sql += (i == 0 ? " WHERE " : " AND ") + where[i];
  const std::int32_t limit = std::clamp<std::int32_t>(q.limit, 1, 1001);
  sql += " ORDER BY seq DESC LIMIT " + bind(num(limit)) + "::int";
  return impl_->db.run([&](connection& c) {
    auto r = c.exec(sql, ps);
    std::vector<stored_message> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = r.rows() - 1; i >= 0; --i) out.push_back(impl::read_message(r, i));
    return out;
  });
}

claim_result conversation_store::claim(const claim_request& req) {
  if (req.batch_size <= 0 || req.per_user_batch_size <= 0) return {};
  return impl_->db.run([&](connection& c) {
    claim_result result;
    transaction tx(c);
    c.exec(k_relaxed);
    c.exec(k_claim_plan);
    const millis lease_until = req.now + req.lease_ms;
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
      // later one as many as could still bring one message each.
      std::int32_t chunk = (remaining + req.per_user_batch_size - 1) / req.per_user_batch_size;
      while (remaining > 0) {
        const std::int32_t limit = std::min(req.per_user_batch_size, remaining);  // per user
        auto r = c.exec_prepared(
            "claim", k_claim_sql,
            {num(req.now), num(after_seq), num(chunk), num(limit),
             num(static_cast<std::int64_t>(cls)), num(req.quiet_ms), num(req.max_wait_ms)});
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
          if (const millis due = r.is_null(first, 9) ? 0 : r.integer(first, 9); due > req.now) {
            gated_users.push_back(user);
            gated_due.push_back(due);
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
          // status, priority) joins the batch, or is dead-lettered: an expired lease at
          // max_attempts.
          auto take = [&](const pg::result& rows, int k, int col) {
            claimed_message m;
            m.seq = last_seq = rows.integer(k, col);
            m.id = rows.text(k, col + 1);
            m.content = rows.text(k, col + 2);
            m.created_at = rows.integer(k, col + 3);
            m.attempts = static_cast<std::int32_t>(rows.integer(k, col + 4));
            m.priority = static_cast<message_priority>(rows.integer(k, col + 6));
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
            auto more =
                c.exec_prepared("claim_more", k_claim_more_sql, {user, num(last_seq), num(asked)});
            read = more.rows();
            for (int k = 0; k < more.rows(); ++k) take(more, k, 0);
          }
          // Dead letters move the head; a user with nothing claimable has a stale row.
          if (dead_lettered || batch.messages.empty()) refresh_users.push_back(user);
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
        chunk = remaining;
      }
      return cap_total - remaining;
    };
    // Live first, up to what backfill is owed; then backfill, up to what is left (at least its
    // share when it waits); then live again with whatever backfill did not use.
    // Owed only while backfill waits: otherwise live users take the whole batch, shares as
    // before priorities existed. (The backfill user found here stays locked by this
    // transaction; the backfill pass takes it.)
    const bool backfill_waits =
        c.exec_prepared("claim", k_claim_sql,
                        {num(req.now), "0", "1", "1",
                         num(static_cast<std::int64_t>(message_priority::backfill)),
                         num(req.quiet_ms), num(req.max_wait_ms)})
            .rows() > 0;
    const std::int32_t owed = backfill_waits ? backfill_reserve(req) : 0;
    std::int64_t live_after = 0, backfill_after = 0;
    std::int32_t left = req.batch_size;
    left -= pass(message_priority::live, left - owed, live_after);
    left -= pass(message_priority::backfill, left, backfill_after);
    pass(message_priority::live, left, live_after);
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

std::int64_t conversation_store::erase_user(const std::string& user_id) {
  return impl_->db.run([&](connection& c) {
    transaction tx(c);
    c.exec_prepared("queue_row_lock",
                    "SELECT head_seq FROM user_queue WHERE user_id = $1 FOR UPDATE", {user_id});
    const auto n =
        c.exec_prepared("erase_messages", "DELETE FROM messages WHERE user_id = $1", {user_id})
            .affected();
    c.exec_prepared("queue_row_delete", "DELETE FROM user_queue WHERE user_id = $1", {user_id});
    tx.commit();
    return n;
  });
}

queue_stats conversation_store::stats(millis now) {
  return impl_->db.run([&](connection& c) {
    queue_stats st;
    auto r = c.exec("SELECT status, priority, count(*) FROM messages GROUP BY status, priority");
    for (int i = 0; i < r.rows(); ++i) {
      const auto s = r.get(i, 0);
      const auto n = r.integer(i, 2);
      if (s == message_status::pending)
        st.pending += n;
      else if (s == message_status::leased)
        st.leased += n;
      else if (s == message_status::done)
        st.done += n;
      else if (s == message_status::dead)
        st.dead += n;
      else if (s == message_status::skipped)
        st.skipped += n;
      if (s == message_status::pending || s == message_status::leased)
        (r.integer(i, 1) == 0 ? st.live : st.backfill).messages_waiting += n;
    }
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

std::int64_t conversation_store::count_messages() {
  return impl_->db.run(
      [](connection& c) { return c.exec("SELECT count(*) FROM messages").integer(0, 0); });
}

void conversation_store::ping() {
  impl_->db.run([](connection& c) { c.exec("SELECT 1"); });
}

std::vector<std::string> conversation_store::explain_claim() {
  return impl_->db.run([](connection& c) {
    std::vector<std::string> out;
    transaction tx(c);
    c.exec(k_claim_plan);
    auto r = c.exec(std::string("EXPLAIN ") + k_claim_sql,
                    {std::string("0"), std::string("0"), std::string("4"), std::string("25"),
                     std::string("0"), std::string("0"), std::string("600000")});
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    return out;
  });
}

}  // namespace memoryd::pg
