// The SQLite conversation store's shared inside, for its two source files:
// conversation_store.cpp (opening, ingest, history, erasure) and conversation_queue.cpp (the
// per-user queue: claims, transitions, dead letters, stats). Not included anywhere else.
#pragma once

#include "core/uuid.hpp"

#include "store/sqlite/wal_checkpointer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_map>
#include "store/sqlite/conversation_store.hpp"

namespace memoryd::sqlite {

namespace detail {

// Numbered migrations: index i brings user_version from i to i + 1. Never edit an entry
// that has shipped; append a new one.
inline const std::vector<std::string_view> k_migrations = {
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
    // 4: priorities (live before backfill) and the quiet period (issue 18).
    // - messages.priority: 0 live, 1 backfill; what was stored before was live.
    // - messages_status gains priority between its columns, so that the waiting counts per
    //   priority are read from the index alone, as the counts per status are.
    // - user_queue.live_seq: a live message of the user, waiting at or after head_seq (the
    //   first one found); the user is live while live_seq >= head_seq. Ingest writes it only
    //   when a live message finds its user scheduled as backfill; the refresh looks for the
    //   next one only when the head passes it. Every user waiting now waits with live work.
    // - user_queue_class replaces user_queue_head: the claim walks one class in FIFO order,
    //   and reads available_at from the index (a gated user costs an index entry).
    R"sql(
ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
DROP INDEX messages_status;
CREATE INDEX messages_status ON messages(status, priority, next_attempt_at);
ALTER TABLE user_queue ADD COLUMN live_seq INTEGER NOT NULL DEFAULT 0;
UPDATE user_queue SET live_seq = head_seq;
ALTER TABLE user_queue ADD COLUMN priority INTEGER
  GENERATED ALWAYS AS (CASE WHEN live_seq >= head_seq THEN 0 ELSE 1 END) VIRTUAL;
DROP INDEX user_queue_head;
CREATE INDEX user_queue_class ON user_queue(priority, head_seq, available_at);
)sql",
};

inline constexpr const char* k_msg_columns =
    "seq, id, user_id, role, content, channel, external_id, created_at, status, attempts, "
    "next_attempt_at, lease_until, last_error, memory_processed_at, priority";

// The claim's two queries (also shown by explain_claim()). ?4 the class (0 live, 1 backfill).
// The index holds available_at, so a user gated by a lease, a retry or a quiet period costs
// the claim an index entry, not a row.
inline constexpr const char* k_claim_users_sql =
    "SELECT user_id, head_seq FROM user_queue INDEXED BY user_queue_class "
    "WHERE priority = ?4 AND available_at <= ?1 AND head_seq > ?2 ORDER BY head_seq LIMIT ?3";
// The last column is the message's context when the claim asks for it (?4): the user's
// previous message when it is an assistant turn (one more probe of messages_user_seq per
// claimed message; CASE evaluates the subquery only when ?4 is true).
inline constexpr const char* k_claim_messages_sql =
    "SELECT seq, id, content, created_at, attempts, status, priority, "
    "CASE WHEN ?4 THEN (SELECT CASE WHEN p.role = 'assistant' THEN p.content END FROM messages p "
    "INDEXED BY messages_user_seq WHERE p.user_id = m.user_id AND p.seq < m.seq "
    "ORDER BY p.seq DESC LIMIT 1) END "
    "FROM messages m INDEXED BY messages_user_seq "
    "WHERE user_id = ?1 AND seq > ?3 AND status IN ('pending','leased') ORDER BY seq LIMIT ?2";

// A transition's lease token (?9): 0 matches any lease.
inline constexpr const char* k_same_lease = " AND (?9 = 0 OR lease_until = ?9)";

using use = statement_use;

}  // namespace detail

namespace detail {

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

}  // namespace detail

// For the two source files only (this header is theirs alone).
using namespace detail;

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
                                                        o.busy_timeout_ms, k_checkpoint_pages);
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
    m.priority = static_cast<message_priority>(s.col_int(14));
    return m;
  }

  std::vector<ingest_outcome> ingest(const std::vector<new_message>& msgs, millis now) {
    std::vector<ingest_outcome> out;
    out.reserve(msgs.size());
    auto& find_ext = stmt("SELECT id, seq FROM messages WHERE external_id = ?1");
    auto& insert = stmt(
        "INSERT INTO messages (id, user_id, role, content, channel, external_id, created_at, "
        "status, priority) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    // A waiting user's row is left as it is (no write), unless a live message finds them
    // scheduled as backfill: then it makes them live.
    auto& enqueue = stmt(
        "INSERT INTO user_queue (user_id, head_seq, available_at, live_seq) "
        "VALUES (?1, ?2, 0, ?3) ON CONFLICT(user_id) DO UPDATE SET live_seq = excluded.live_seq "
        "WHERE excluded.live_seq > 0 AND user_queue.live_seq < user_queue.head_seq");
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
        q->bind(9, static_cast<std::int64_t>(m.priority));
        q->exec();
      }
      o.seq = sqlite3_last_insert_rowid(db.handle());
      if (mined) {
        use q(enqueue);
        const bool live = m.priority == message_priority::live;
        q->bind(1, m.user_id).bind(2, o.seq).bind(3, live ? o.seq : std::int64_t{0});
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
    std::int64_t from = 0, live_seq = 0;
    {
      use q(stmt("SELECT head_seq, live_seq FROM user_queue WHERE user_id = ?1"));
      q->bind(1, user_id);
      if (q->step()) {
        from = q->col_int(0);
        live_seq = q->col_int(1);
      }
    }
    const bool was_live = from != 0 && live_seq >= from;
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
    // The head passed the live message the row knew of: the user stays live if another
    // waits. Read once per live episode, from the head through the user's waiting messages.
    if (was_live && live_seq < head) {
      use q(
          stmt("SELECT seq FROM messages INDEXED BY messages_user_seq WHERE user_id = ?1 AND "
               "seq >= ?2 AND status IN ('pending','leased') AND priority = 0 "
               "ORDER BY seq LIMIT 1"));
      q->bind(1, user_id).bind(2, head);
      live_seq = q->step() ? q->col_int(0) : 0;
    }
    use q(
        stmt("INSERT INTO user_queue (user_id, head_seq, available_at, live_seq) "
             "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(user_id) DO UPDATE SET "
             "head_seq = excluded.head_seq, available_at = excluded.available_at, "
             "live_seq = excluded.live_seq"));
    q->bind(1, user_id)
        .bind(2, head)
        .bind(3, static_cast<std::int64_t>(available))
        .bind(4, live_seq);
    q->exec();
  }

  // When the user's quiet period ends: their newest waiting message's time plus quiet_ms, or
  // their head's plus max_wait_ms, whichever is first (two keyed lookups).
  millis quiet_until(const std::string& user_id, std::int64_t head_seq, const claim_request& req) {
    millis head_at = 0, newest_at = 0;
    {
      use q(stmt("SELECT created_at FROM messages WHERE seq = ?1"));
      q->bind(1, head_seq);
      if (q->step()) head_at = q->col_int(0);
    }
    {
      use q(
          stmt("SELECT created_at FROM messages INDEXED BY messages_user_seq WHERE user_id = ?1 "
               "AND seq >= ?2 AND status IN ('pending','leased') ORDER BY seq DESC LIMIT 1"));
      q->bind(1, user_id).bind(2, head_seq);
      if (q->step()) newest_at = q->col_int(0);
    }
    return std::min(newest_at + req.quiet_ms, head_at + req.max_wait_ms);
  }

  // One class's part of a claim (conversation_queue.cpp): that many messages at most, from
  // the class's users after `after_seq` in FIFO order. Returns how many it leased.
  // `skip_quiet`: users found inside their quiet period are gated until it ends.
  std::int32_t claim_class(const claim_request& req, message_priority cls, std::int32_t cap_total,
                           std::int64_t& after_seq, claim_result& result);

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

}  // namespace memoryd::sqlite
