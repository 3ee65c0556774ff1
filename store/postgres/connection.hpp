// A thin RAII layer over libpq: one connection, results, errors with their SQLSTATE.
//
// libpq rather than libpqxx: Debian's libpqxx is 6.4 (2019), whose API predates libpq's
// pipeline mode (PostgreSQL 14), and memoryd needs little beyond parameterized statements,
// prepared statements and multi-row inserts; libpq is what every other PostgreSQL client
// is built on, and its C API keeps this layer small and the compile time low.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace memoryd::pg {

// A failed call: the server's message (or libpq's), and the SQLSTATE when the server sent
// one ("" for client-side failures such as a lost connection).
class error : public std::runtime_error {
 public:
  error(const std::string& what, std::string sqlstate, bool connection_lost)
      : std::runtime_error(what), sqlstate_(std::move(sqlstate)), lost_(connection_lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  // The connection is gone (server restart, network): reconnect before the next call.
  bool connection_lost() const { return lost_; }

 private:
  std::string sqlstate_;
  bool lost_;
};

// The result of one statement. Values are text (libpq's text format).
class result {
 public:
  result() = default;
  explicit result(pg_result* r);
  int rows() const;
  int columns() const;
  bool is_null(int row, int col) const;
  std::string_view get(int row, int col) const;  // "" for NULL
  std::string text(int row, int col) const { return std::string(get(row, col)); }
  std::int64_t integer(int row, int col) const;  // 0 for NULL
  std::int64_t affected() const;                 // rows changed by INSERT / UPDATE / DELETE

 private:
  std::shared_ptr<pg_result> r_;
};

// A statement parameter: text, or NULL.
using param = std::optional<std::string>;

// Why a database URL cannot be used, without connecting ("" when it can be parsed).
std::string url_problem(const std::string& url);

class connection {
 public:
  // Connects; throws error (connection_lost) with the server's or libpq's message. The
  // attempt is bounded by connect_timeout (added to the URL's options unless it sets one).
  explicit connection(const std::string& url,
                      std::chrono::seconds connect_timeout = std::chrono::seconds(5));
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Runs one or more statements without parameters.
  result exec(const std::string& sql);
  // One statement with $1.. parameters.
  result exec(const std::string& sql, const std::vector<param>& params);
  // Prepares `sql` under `name` once per connection, then runs it.
  result exec_prepared(const std::string& name, const std::string& sql,
                       const std::vector<param>& params);

  bool ok() const;  // the connection is up, as far as libpq knows
  pg_conn* handle() const { return conn_; }

 private:
  result check(pg_result* r, std::string_view what);
  pg_conn* conn_ = nullptr;
  std::vector<std::string> prepared_;
};

// BEGIN ... COMMIT; ROLLBACK when destroyed without commit() (errors while rolling back are
// swallowed: the connection is then lost and reset by its owner).
class transaction {
 public:
  explicit transaction(connection& c, const char* begin = "BEGIN");
  ~transaction();
  void commit();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

 private:
  connection& c_;
  bool done_ = false;
};

}  // namespace memoryd::pg
