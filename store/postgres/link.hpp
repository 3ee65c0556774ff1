// The connection a PostgreSQL store holds: it comes back by itself after the server went away
// (restart, failover, network), with backoff, and between attempts calls fail at once.
//
// A store is used by one actor thread, so a link is not shared and has no lock. A call that
// loses the connection fails (its outcome is unknown, so it is not repeated here: the caller
// answers 503 and the client retries, with external_id keeping that idempotent); the next call
// reconnects. Deadlocks and serialization failures roll back everything, so those
// transactions are run again, a few times.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "store/postgres/connection.hpp"

namespace memoryd::pg {

struct link_options {
  std::chrono::seconds connect_timeout{5};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  // Bounds every statement, so that a stuck lock cannot hold the store's actor forever.
  std::chrono::milliseconds statement_timeout{30000};
  int conflict_retries = 3;  // deadlock (40P01) / serialization failure (40001)
};

class link {
 public:
  // Connects now: throws error (connection_lost) when the server cannot be reached.
  explicit link(std::string url, link_options opts = {});

  // Runs f(connection&) on a live connection, reconnecting first when the last one was lost
  // and the backoff has passed; otherwise throws error (connection_lost) at once.
  template <class F>
  auto run(F&& f) -> decltype(f(std::declval<connection&>())) {
    for (int attempt = 0;; ++attempt) {
      connection& c = live();
      try {
        return f(c);
      } catch (const error& e) {
        if (e.connection_lost() || !c.ok()) {
          lost(e.what());
          throw;
        }
        if (!is_conflict(e) || attempt >= opts_.conflict_retries) throw;
      }
    }
  }

  bool connected() const { return conn_ && conn_->ok(); }
  int reconnects() const { return reconnects_; }

 private:
  connection& live();
  void lost(const std::string& why);
  static bool is_conflict(const error& e);

  std::string url_;
  link_options opts_;
  std::unique_ptr<connection> conn_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_error_;
  bool outage_ = false;  // lost, not yet back (one log line each way)
  int reconnects_ = 0;
};

// A PostgreSQL array literal of text values ('{"a","b"}'), for `$1::text[]` parameters:
// many rows in one statement (group commit) without building SQL.
std::string text_array(const std::vector<const std::string*>& values);
std::string text_array(const std::vector<std::string>& values);
std::string int_array(const std::vector<std::int64_t>& values);

}  // namespace memoryd::pg
