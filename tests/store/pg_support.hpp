// Helpers of the PostgreSQL-only store tests: a migrated database, waiting for a lock wait,
// running calls on threads and collecting what went wrong there (Catch2 assertions are
// made on the test's thread only).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/connection.hpp"
#include "store/postgres/schema.hpp"
#include "tests/support/pg_server.hpp"

namespace memoryd::testing {

// A fresh namespace on the test cluster with the schema applied, dropped at the end: a schema
// in the shared test database, or with `own_database` a database of its own (for the tests
// that count lock waits or take advisory locks, see fresh_pg_private_database).
class migrated_pg_database {
 public:
  explicit migrated_pg_database(bool own_database = false)
      : url_(own_database ? fresh_pg_private_database() : fresh_pg_database()) {
    pg::connection c(url_);
    pg::migrate(c);
  }
  ~migrated_pg_database() { drop_pg_database(url_); }
  migrated_pg_database(const migrated_pg_database&) = delete;
  migrated_pg_database& operator=(const migrated_pg_database&) = delete;
  const std::string& url() const { return url_; }

 private:
  std::string url_;
};

// How many backends of this database wait for a lock (row, transaction, advisory): right only
// in a database of the test's own (migrated_pg_database(true)).
inline std::int64_t lock_waiters(pg::connection& c) {
  return c
      .exec(
          "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
          "WHERE NOT l.granted AND a.datname = current_database()")
      .integer(0, 0);
}

// Polls `done` every millisecond until it holds or `limit` has passed; whether it held.
template <class F>
bool eventually(F&& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// What went wrong on the worker threads, to CHECK on the test's thread.
class problems {
 public:
  void add(std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    list_.push_back(std::move(what));
  }
  std::vector<std::string> list() {
    std::lock_guard<std::mutex> lock(mu_);
    return list_;
  }
  std::string text() {
    std::string out;
    for (const auto& p : list()) out += p + "\n";
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> list_;
};

}  // namespace memoryd::testing
