// What memoryd stored, read from outside and never written, on either backend: the SQLite
// files of the test's directory (read-only connections, one per query, so nothing is held
// open while memoryd runs) or the PostgreSQL namespace (plain libpq, pg_client). For the
// checks after a run, a stop or a kill -9 that the HTTP API cannot make (every row, every
// status, leases, attempts, duplicates, a user's rows in every table).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/service_backend.hpp"
#include "tests/support/temp_dir.hpp"

namespace memoryd::testing {

// Which tables: conversation.db on SQLite (messages, user_queue) or memory.db (facts,
// fact_events, applied_batches, the search index). On PostgreSQL both are the one namespace.
enum class stored { conversations, memory };

struct stored_message {
  std::string id, user_id, role, content, channel, external_id, status, last_error;
  long long attempts = 0, lease_until = 0, memory_processed_at = 0;
};

class stored_db {
 public:
  // PostgreSQL: also CHECKs that memoryd made no SQLite file in `dir` (it used the database).
  stored_db(const service_backend& backend, const temp_dir& dir);
  ~stored_db();
  stored_db(const stored_db&) = delete;
  stored_db& operator=(const stored_db&) = delete;

  // Every row of `sql`, every column as text (NULL as ""), with `params` bound to ?1, ?2, ...
  // ($1, $2, ... on PostgreSQL). The SQL must mean the same on both backends.
  std::vector<std::vector<std::string>> rows(stored where, const std::string& sql,
                                             const std::vector<std::string>& params = {});
  std::string one(stored where, const std::string& sql,  // the single value
                  const std::vector<std::string>& params = {});
  long long count(stored where, const std::string& sql,  // the single value, as a number
                  const std::vector<std::string>& params = {});

  // Every message (or those matching `where_sql`, e.g. "status = 'leased'"), in seq order.
  std::vector<stored_message> messages(const std::string& where_sql = "");
  std::map<std::string, long long> messages_by_status();
  // The text of every fact with this status, all users, in insertion order.
  std::vector<std::string> fact_texts(const std::string& status = "active");
  // Rows of `user` in each table with a user_id column, on either database (tables added
  // later are covered too); tables without any are left out.
  std::map<std::string, long long> rows_of(const std::string& user);
  static std::string describe(const std::map<std::string, long long>& rows);  // "t x2, u x1"
  // "table.column xN" for each text column with N values containing `needle` (ASCII case
  // ignored), every table of both databases: what a user's erasure must leave at zero.
  std::vector<std::string> mentions(const std::string& needle);
  // No fact stored twice for a user (whatever its status), no text added twice: what a
  // replayed extraction would leave. CHECKs, with the offenders as INFO.
  void check_no_duplicate_facts();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd::testing
