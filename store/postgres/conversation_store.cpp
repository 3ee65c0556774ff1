// The PostgreSQL conversation store: opening, ingest (group commit in one statement),
// history and erasure. The queue is in conversation_queue.cpp.
#include <algorithm>
#include <unordered_map>

#include "core/uuid.hpp"
#include "store/postgres/conversation_store_impl.hpp"

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

}  // namespace

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

std::int64_t conversation_store::count_messages() {
  return impl_->db.run(
      [](connection& c) { return c.exec("SELECT count(*) FROM messages").integer(0, 0); });
}

void conversation_store::ping() {
  impl_->db.run([](connection& c) { c.exec("SELECT 1"); });
}

}  // namespace memoryd::pg
