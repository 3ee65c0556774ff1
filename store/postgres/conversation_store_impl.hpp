// The PostgreSQL conversation store's shared inside, for its two source files:
// conversation_store.cpp (ingest, history, erasure) and conversation_queue.cpp (the per-user
// queue: claims, transitions, dead letters, stats). Not included anywhere else.
#pragma once

#include <string>
#include <vector>

#include "store/postgres/conversation_store.hpp"

namespace memoryd::pg {
namespace detail {

// The user's queue row from their messages: the oldest waiting one from `from` on (nothing
// before the head waits) and the latest lease / retry gate, through partial indexes.
inline constexpr const char* k_refresh_read_sql = R"sql(
SELECT
  (SELECT seq FROM messages WHERE user_id = $1 AND seq >= $2
     AND status IN ('pending', 'leased') ORDER BY seq LIMIT 1),
  GREATEST(
    (SELECT max(lease_until) FROM messages WHERE user_id = $1 AND status = 'leased'),
    (SELECT max(next_attempt_at) FROM messages
       WHERE user_id = $1 AND status = 'pending' AND next_attempt_at > 0)))sql";

// The next live waiting message from the head on, when the head passed the one the row knew.
inline constexpr const char* k_next_live_sql =
    "SELECT seq FROM messages WHERE user_id = $1 AND seq >= $2 AND status IN ('pending', "
    "'leased') AND priority = 0 ORDER BY seq LIMIT 1";

// $4: the caller holds the row lock (its value stands); otherwise a row that appeared since
// was made by an ingest, whose head must not be raised nor its live message forgotten.
inline constexpr const char* k_refresh_write_sql = R"sql(
INSERT INTO user_queue AS q (user_id, head_seq, available_at, live_seq) VALUES ($1, $2, $3, $5)
ON CONFLICT (user_id) DO UPDATE SET
  head_seq = CASE WHEN $4 THEN excluded.head_seq ELSE LEAST(q.head_seq, excluded.head_seq) END,
  available_at = excluded.available_at,
  live_seq = CASE WHEN $4 THEN excluded.live_seq ELSE GREATEST(q.live_seq, excluded.live_seq)
             END)sql";

inline constexpr const char* k_msg_columns =
    "seq, id, user_id, role, content, channel, external_id, created_at, status, attempts, "
    "next_attempt_at, lease_until, last_error, memory_processed_at, priority";

inline std::string num(std::int64_t v) { return std::to_string(v); }

// Claims and transitions need not wait for their WAL flush: losing the last ones to a server
// crash only repeats work the pipeline already survives (the SQLite store's relaxed_sync, and
// docs/ARCHITECTURE.md). Ingests, dead-letter retries and erasures keep the durable commit.
inline constexpr const char* k_relaxed = "SET LOCAL synchronous_commit TO off";

}  // namespace detail

// For the two source files only (this header is theirs alone).
using namespace detail;

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

}  // namespace memoryd::pg
