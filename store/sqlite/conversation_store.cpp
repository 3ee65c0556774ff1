#include "store/sqlite/conversation_store.hpp"

#include "core/uuid.hpp"

#include "store/sqlite/wal_checkpointer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_map>

namespace memoryd::sqlite {

namespace {

// Numbered migrations: index i brings user_version from i to i + 1. Never edit an entry
// that has shipped; append a new one.
const std::vector<std::string_view> k_migrations = {
    // 1: messages + the per-user claim queue.
    R"sql(
CREATE TABLE messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  channel TEXT NOT NULL DEFAULT '',
  external_id TEXT,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  lease_until INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  memory_processed_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX messages_external_id ON messages(external_id)
  WHERE external_id IS NOT NULL;
CREATE INDEX messages_user_seq ON messages(user_id, seq);
CREATE INDEX messages_status ON messages(status, next_attempt_at);
CREATE INDEX messages_waiting ON messages(user_id, seq)
  WHERE status IN ('pending','leased');
CREATE INDEX messages_leased ON messages(user_id, lease_until)
  WHERE status = 'leased';
CREATE INDEX messages_retry ON messages(user_id, next_attempt_at)
  WHERE status = 'pending' AND next_attempt_at > 0;

-- One row per user with waiting (pending or leased) user messages.
-- head_seq: seq of the user's oldest waiting message (FIFO key);
-- available_at: the user may be claimed from this time on (lease / retry gate).
CREATE TABLE user_queue (
  user_id TEXT PRIMARY KEY,
  head_seq INTEGER NOT NULL,
  available_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX user_queue_head ON user_queue(head_seq);
)sql",
    // 2: messages_waiting had the key of messages_user_seq and cost every ingest a second
    // user-keyed page (-32% bytes written, +17-27% messages/s in bench_store_ingest). The
    // claim walks messages_user_seq from the user's head_seq instead: nothing before the
    // head waits, and what follows it is waiting or an assistant message.
    R"sql(
DROP INDEX IF EXISTS messages_waiting;
)sql",
    // 3: the dead letters, newest first, a page at a time (GET /v1/processor/dead), as on
    // PostgreSQL. Only dead rows are in it: ingest and claims never write it.
    R"sql(
CREATE INDEX messages_dead ON messages(seq) WHERE status = 'dead';
)sql",
};

constexpr const char* k_msg_columns =
    "seq, id, user_id, role, content, channel, external_id, created_at, status, attempts, "
    "next_attempt_at, lease_until, last_error, memory_processed_at";

// The claim's two queries (also shown by explain_claim()).
constexpr const char* k_claim_users_sql =
    "SELECT user_id, head_seq FROM user_queue INDEXED BY user_queue_head "
    "WHERE available_at <= ?1 AND head_seq > ?2 ORDER BY head_seq LIMIT ?3";
constexpr const char* k_claim_messages_sql =
    "SELECT seq, id, content, created_at, attempts, status FROM messages "
    "INDEXED BY messages_user_seq "
    "WHERE user_id = ?1 AND seq > ?3 AND status IN ('pending','leased') ORDER BY seq LIMIT ?2";

// A transition's lease token (?9): 0 matches any lease.
constexpr const char* k_same_lease = " AND (?9 = 0 OR lease_until = ?9)";

using use = statement_use;

}  // namespace

namespace {

// Claims and state transitions (done, retry, dead, release) commit without an fsync of their
// own when the database runs synchronous=FULL. In WAL mode their frames sit in the WAL ahead
// of the next FULL commit (the next ingest group), whose fsync makes them durable too. Losing
// the last ones to a power cut only repeats work the pipeline already survives after a crash:
// a lost claim is an unleased message, a lost "done" a re-extraction whose facts are already
// stored. Acknowledged ingests, dead-letter retries and erasures keep their own fsync.
// Measured: the claim at 1M pending 6.0 -> ~1 ms, and a processing cycle stops holding the
// persistence thread (and with it every ingest) in one fsync per user batch.
class relaxed_sync {
 public:
  relaxed_sync(database& db, bool active) : db_(db), active_(active) {
    if (active_) db_.exec("PRAGMA synchronous=NORMAL");
  }
  ~relaxed_sync() {
    if (!active_) return;
    try {
      db_.exec("PRAGMA synchronous=FULL");
    } catch (...) {  // a destructor must not throw; the next open sets the mode again
    }
  }
  relaxed_sync(const relaxed_sync&) = delete;
  relaxed_sync& operator=(const relaxed_sync&) = delete;

 private:
  database& db_;
  bool active_;
};

}  // namespace

// WAL size (pages) at which the background checkpointer copies the WAL into the database:
// SQLite's own default, now off the writer's thread. bench_store_ingest (group 64, random
// MessageSids, 200k prefill), interleaved: background 18.7-19.4k msg/s, SQLite's in-commit
// checkpoint (--wal-autocheckpoint 1000) 16.4-17.6k. bench/ingest (twilio, 64, full),
// interleaved: 1,000 / 2,000 / 8,000 pages gave 13.4k / 13.2-14.8k / 14.4-16.4k req/s with
// p99 ~8-10 ms each and WAL files of 18 / 34 / 130 MB, so the smallest WAL it is.
constexpr int kCheckpointPages = 1000;

struct conversation_store::impl {
  database db;
  const bool full;  // synchronous=FULL: claims and transitions run relaxed (see relaxed_sync)
  std::unique_ptr<wal_checkpointer> checkpointer;  // destroyed before db
  const std::chrono::milliseconds busy_budget;     // how long an erasure waits to truncate

  explicit impl(const store_options& o)
      : db(o.path, o.synchronous, o.busy_timeout_ms),
        full(db.scalar_int("PRAGMA synchronous") == 2),  // 2: FULL, as the database set it
        busy_budget(o.busy_timeout_ms) {
    db.migrate(k_migrations);
    if (o.path != ":memory:" && !o.path.empty()) {
      checkpointer = std::make_unique<wal_checkpointer>(db, o.path, o.synchronous,
                                                        o.busy_timeout_ms, kCheckpointPages);
    }
  }

  statement& stmt(const std::string& sql) { return db.cached(sql); }

  static stored_message read_message(const statement& s) {
    stored_message m;
    m.seq = s.col_int(0);
    m.id = s.col_text(1);
    m.user_id = s.col_text(2);
    m.role = s.col_text(3);
    m.content = s.col_text(4);
    m.channel = s.col_text(5);
    m.external_id = s.col_text(6);
    m.created_at = s.col_int(7);
    m.status = s.col_text(8);
    m.attempts = static_cast<std::int32_t>(s.col_int(9));
    m.next_attempt_at = s.col_int(10);
    m.lease_until = s.col_int(11);
    m.last_error = s.col_text(12);
    m.processed_at = s.col_int(13);
    return m;
  }

  std::vector<ingest_outcome> ingest(const std::vector<new_message>& msgs, millis now) {
    std::vector<ingest_outcome> out;
    out.reserve(msgs.size());
    auto& find_ext = stmt("SELECT id, seq FROM messages WHERE external_id = ?1");
    auto& insert = stmt(
        "INSERT INTO messages (id, user_id, role, content, channel, external_id, created_at, "
        "status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    auto& enqueue = stmt(
        "INSERT INTO user_queue (user_id, head_seq, available_at) VALUES (?1, ?2, 0) "
        "ON CONFLICT(user_id) DO NOTHING");
    for (const auto& m : msgs) {
      ingest_outcome o;
      if (!m.external_id.empty()) {
        use q(find_ext);
        q->bind(1, m.external_id);
        if (q->step()) {
          o.id = q->col_text(0);
          o.seq = q->col_int(1);
          o.duplicate = true;
          out.push_back(std::move(o));
          continue;
        }
      }
      const bool mined = m.role == "user";
      o.id = new_uuid();
      {
        use q(insert);
        q->bind(1, o.id).bind(2, m.user_id).bind(3, m.role).bind(4, m.content).bind(5, m.channel);
        if (m.external_id.empty())
          q->bind_null(6);
        else
          q->bind(6, m.external_id);
        q->bind(7, static_cast<std::int64_t>(m.created_at != 0 ? m.created_at : now));
        q->bind(8, mined ? message_status::pending : message_status::skipped);
        q->exec();
      }
      o.seq = sqlite3_last_insert_rowid(db.handle());
      if (mined) {
        use q(enqueue);
        q->bind(1, m.user_id).bind(2, o.seq);
        q->exec();
      }
      out.push_back(std::move(o));
    }
    return out;
  }

  // Brings the user's user_queue row in line with their messages: head_seq = oldest waiting
  // message, available_at = the latest of any live lease and any scheduled retry; no row
  // when nothing waits. The head is searched from the current head_seq (or `from_seq`, when
  // older messages were put back), never through the user's processed history; the other
  // lookups go through partial indexes: O(log n).
  void refresh_user(const std::string& user_id, std::int64_t from_seq = -1) {
    std::int64_t from = 0;
    {
      use q(stmt("SELECT head_seq FROM user_queue WHERE user_id = ?1"));
      q->bind(1, user_id);
      if (q->step()) from = q->col_int(0);
    }
    if (from_seq >= 0 && (from == 0 || from_seq < from)) from = from_seq;
    std::int64_t head = 0;
    {
      use q(
          stmt("SELECT seq FROM messages INDEXED BY messages_user_seq WHERE user_id = ?1 AND "
               "seq >= ?2 AND status IN ('pending','leased') ORDER BY seq LIMIT 1"));
      q->bind(1, user_id).bind(2, from);
      if (q->step()) head = q->col_int(0);
    }
    if (head == 0) {
      use q(stmt("DELETE FROM user_queue WHERE user_id = ?1"));
      q->bind(1, user_id);
      q->exec();
      return;
    }
    millis available = 0;
    {
      use q(
          stmt("SELECT max(lease_until) FROM messages INDEXED BY messages_leased "
               "WHERE user_id = ?1 AND status = 'leased'"));
      q->bind(1, user_id);
      if (q->step() && !q->col_null(0)) available = std::max(available, q->col_int(0));
    }
    {
      use q(
          stmt("SELECT max(next_attempt_at) FROM messages INDEXED BY messages_retry "
               "WHERE user_id = ?1 AND status = 'pending' AND next_attempt_at > 0"));
      q->bind(1, user_id);
      if (q->step() && !q->col_null(0)) available = std::max(available, q->col_int(0));
    }
    use q(
        stmt("INSERT INTO user_queue (user_id, head_seq, available_at) VALUES (?1, ?2, ?3) "
             "ON CONFLICT(user_id) DO UPDATE SET head_seq = excluded.head_seq, "
             "available_at = excluded.available_at"));
    q->bind(1, user_id).bind(2, head).bind(3, static_cast<std::int64_t>(available));
    q->exec();
  }

  // Applies `sql` (bound: ?1 id, ?2 user_id, then extra; ?9 the lease token, see
  // k_same_lease) to each leased message of the user.
  template <typename Bind>
  void transition(const std::string& user_id, const std::vector<std::string>& ids,
                  millis lease_until, const std::string& sql, Bind&& bind_extra) {
    if (ids.empty()) return;
    relaxed_sync relaxed(db, full);
    transaction tx(db);
    auto& st = stmt(sql);
    bool changed = false;
    for (const auto& id : ids) {
      use q(st);
      q->bind(1, id).bind(2, user_id).bind(9, static_cast<std::int64_t>(lease_until));
      bind_extra(*q);
      q->exec();
      changed = changed || db.changes() > 0;
    }
    if (changed) refresh_user(user_id);
    tx.commit();
  }
};

conversation_store::conversation_store(const store_options& opts)
    : impl_(std::make_unique<impl>(opts)) {}

conversation_store::~conversation_store() = default;

database& conversation_store::db() { return impl_->db; }

std::int64_t conversation_store::background_checkpoints() const {
  return impl_->checkpointer ? impl_->checkpointer->checkpoints() : 0;
}

std::vector<std::vector<ingest_outcome>> conversation_store::ingest_group(
    const std::vector<std::vector<new_message>>& requests, millis now) {
  transaction tx(impl_->db);
  std::vector<std::vector<ingest_outcome>> out;
  out.reserve(requests.size());
  for (const auto& msgs : requests) out.push_back(impl_->ingest(msgs, now));
  tx.commit();
  return out;
}

std::vector<ingest_outcome> conversation_store::ingest(const std::vector<new_message>& msgs,
                                                       millis now) {
  transaction tx(impl_->db);
  auto out = impl_->ingest(msgs, now);
  tx.commit();
  return out;
}

std::vector<stored_message> conversation_store::history(const history_query& q) {
  std::string sql = std::string("SELECT ") + k_msg_columns + " FROM messages";
  std::vector<std::string> where;
  int n = 0;
  if (!q.user_id.empty()) where.push_back("user_id = ?" + std::to_string(++n));
  if (q.before_seq > 0) where.push_back("seq < ?" + std::to_string(++n));
  if (q.since != 0) where.push_back("created_at >= ?" + std::to_string(++n));
  if (q.until != 0) where.push_back("created_at < ?" + std::to_string(++n));
  if (!q.role.empty()) where.push_back("role = ?" + std::to_string(++n));
  if (q.processed == 1) where.push_back("status IN ('done','dead','skipped')");
  if (q.processed == 0) where.push_back("status IN ('pending','leased')");
  for (std::size_t i = 0; i < where.size(); ++i) sql += (i == 0 ? " WHERE " : " AND ") + where[i];
  sql += " ORDER BY seq DESC LIMIT ?" + std::to_string(++n);

  const std::int32_t limit = std::clamp<std::int32_t>(q.limit, 1, 1001);
  use s(impl_->stmt(sql));
  int i = 0;
  if (!q.user_id.empty()) s->bind(++i, q.user_id);
  if (q.before_seq > 0) s->bind(++i, q.before_seq);
  if (q.since != 0) s->bind(++i, static_cast<std::int64_t>(q.since));
  if (q.until != 0) s->bind(++i, static_cast<std::int64_t>(q.until));
  if (!q.role.empty()) s->bind(++i, q.role);
  s->bind(++i, limit);
  std::vector<stored_message> out;
  while (s->step()) out.push_back(impl::read_message(*s));
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> conversation_store::users() {
  use s(impl_->stmt("SELECT DISTINCT user_id FROM messages ORDER BY user_id"));
  std::vector<std::string> out;
  while (s->step()) out.push_back(s->col_text(0));
  return out;
}

std::int64_t conversation_store::count_messages() {
  use s(impl_->stmt("SELECT count(*) FROM messages"));
  return s->step() ? s->col_int(0) : 0;
}

claim_result conversation_store::claim(const claim_request& req) {
  claim_result result;
  if (req.batch_size <= 0 || req.per_user_batch_size <= 0) return result;
  auto& d = *impl_;
  relaxed_sync relaxed(d.db, d.full);
  transaction tx(d.db);
  auto& users_q = d.stmt(k_claim_users_sql);
  auto& msgs_q = d.stmt(k_claim_messages_sql);
  auto& lease_q = d.stmt(
      "UPDATE messages SET status = 'leased', lease_until = ?2, attempts = attempts + 1 "
      "WHERE seq = ?1");
  auto& dead_q = d.stmt(
      "UPDATE messages SET status = 'dead', lease_until = 0, last_error = ?2, "
      "memory_processed_at = ?3 WHERE seq = ?1");
  auto& gate_q = d.stmt("UPDATE user_queue SET available_at = ?2 WHERE user_id = ?1");

  const millis lease_until = req.now + req.lease_ms;
  std::int32_t remaining = req.batch_size;
  std::int64_t after_seq = 0;  // users are read in chunks, resuming after the last head_seq
  while (remaining > 0) {
    // Read a chunk of candidate users first: we update user_queue while processing them.
    std::vector<std::pair<std::string, std::int64_t>> candidates;
    {
      use q(users_q);
      q->bind(1, static_cast<std::int64_t>(req.now)).bind(2, after_seq).bind(3, remaining);
      while (q->step()) candidates.emplace_back(q->col_text(0), q->col_int(1));
    }
    if (candidates.empty()) break;
    for (const auto& [user_id, head_seq] : candidates) {
      after_seq = head_seq;
      if (remaining <= 0) break;
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
          while (q->step()) {
            claimed_message m;
            m.seq = q->col_int(0);
            m.id = q->col_text(1);
            m.content = q->col_text(2);
            m.created_at = q->col_int(3);
            m.attempts = static_cast<std::int32_t>(q->col_int(4));
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
      if (dead_lettered) d.refresh_user(user_id);
      if (!batch.messages.empty()) {
        use q(gate_q);
        q->bind(1, user_id).bind(2, static_cast<std::int64_t>(lease_until));
        q->exec();
        remaining -= static_cast<std::int32_t>(batch.messages.size());
        result.users.push_back(std::move(batch));
      }
    }
  }
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
  impl_->transition(user_id, ids, lease_until,
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
  std::map<std::string, std::int64_t> users;  // user -> oldest message put back
  std::int64_t n = 0;
  auto revive = [&](statement& find) {
    std::vector<std::pair<std::int64_t, std::string>> rows;
    while (find.step()) rows.emplace_back(find.col_int(0), find.col_text(1));
    find.reset();
    for (const auto& [seq, user] : rows) {
      use q(
          d.stmt("UPDATE messages SET status = 'pending', attempts = 0, next_attempt_at = 0, "
                 "lease_until = 0, memory_processed_at = 0 WHERE seq = ?1 AND status = 'dead'"));
      q->bind(1, seq);
      q->exec();
      n += d.db.changes();
      auto [it, fresh] = users.emplace(user, seq);
      if (!fresh) it->second = std::min(it->second, seq);
    }
  };
  if (ids.empty()) {
    use q(d.stmt("SELECT seq, user_id FROM messages WHERE status = 'dead'"));
    revive(*q);
  } else {
    for (const auto& id : ids) {
      use q(d.stmt("SELECT seq, user_id FROM messages WHERE id = ?1 AND status = 'dead'"));
      q->bind(1, id);
      revive(*q);
    }
  }
  for (const auto& [user, oldest] : users) d.refresh_user(user, oldest);
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

std::int64_t conversation_store::erase_user(const std::string& user_id) {
  auto& d = *impl_;
  transaction tx(d.db);
  std::int64_t n = 0;
  {
    use q(d.stmt("DELETE FROM messages WHERE user_id = ?1"));
    q->bind(1, user_id);
    q->exec();
    n = d.db.changes();
  }
  {
    use q(d.stmt("DELETE FROM user_queue WHERE user_id = ?1"));
    q->bind(1, user_id);
    q->exec();
  }
  tx.commit();
  // secure_delete zeroed the rows in the pages just written; the older page versions, with
  // the text, are still WAL frames until the WAL is copied back and truncated.
  d.db.truncate_wal(d.busy_budget);
  return n;
}

queue_stats conversation_store::stats(millis now) {
  auto& d = *impl_;
  queue_stats st;
  {
    use q(d.stmt("SELECT status, count(*) FROM messages GROUP BY status"));
    while (q->step()) {
      const auto s = q->col_text(0);
      const auto c = q->col_int(1);
      if (s == message_status::pending)
        st.pending = c;
      else if (s == message_status::leased)
        st.leased = c;
      else if (s == message_status::done)
        st.done = c;
      else if (s == message_status::dead)
        st.dead = c;
      else if (s == message_status::skipped)
        st.skipped = c;
    }
  }
  {
    use q(
        d.stmt("SELECT count(*) FROM messages WHERE status = 'pending' AND next_attempt_at > ?1"));
    q->bind(1, static_cast<std::int64_t>(now));
    if (q->step()) st.retry_scheduled = q->col_int(0);
  }
  {
    use q(
        d.stmt("SELECT m.created_at FROM messages m WHERE m.seq = "
               "(SELECT min(head_seq) FROM user_queue)"));
    if (q->step()) st.oldest_pending_age_ms = std::max<millis>(0, now - q->col_int(0));
  }
  {
    use q(d.stmt("SELECT count(*) FROM user_queue"));
    if (q->step()) st.users_waiting = q->col_int(0);
  }
  return st;
}

void conversation_store::ping() {
  use q(impl_->stmt("SELECT 1"));
  q->step();
}

std::vector<std::string> conversation_store::explain_claim() {
  std::vector<std::string> out;
  for (const char* sql : {k_claim_users_sql, k_claim_messages_sql}) {
    statement s(impl_->db.handle(), std::string("EXPLAIN QUERY PLAN ") + sql);
    // Dummy bindings; the plan does not depend on them.
    if (sql == k_claim_users_sql)
      s.bind(1, std::int64_t{0}).bind(2, std::int64_t{0}).bind(3, 1);
    else
      s.bind(1, "user").bind(2, 1).bind(3, std::int64_t{0});
    while (s.step()) out.push_back(s.col_text(3));
  }
  return out;
}

}  // namespace memoryd::sqlite
