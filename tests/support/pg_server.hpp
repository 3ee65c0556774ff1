// The PostgreSQL server of a test run. Under ctest it is the throwaway cluster the `pg`
// fixture starts before the suites and stops after them, failed or not
// (scripts/pg_cluster.sh; its directory in MEMORYD_TEST_PG_DIR). A test binary run by hand
// starts its own cluster on first use and stops it at exit. Each test takes a fresh
// database, so tests never see each other's rows.
#pragma once

#include <string>
#include <vector>

namespace memoryd::testing {

// postgresql://postgres@127.0.0.1:PORT/postgres
std::string pg_server_url();

// An empty namespace of its own for one test: a new schema in the cluster's shared test
// database, selected by the URL (options=-csearch_path=...), so a store opened on the URL sees
// only its own tables. (A database per test cost ~0.4 s to create and ~1.6 s to drop.)
std::string fresh_pg_database();

// A database of its own, for the tests that watch pg_locks or take advisory locks: both are
// per database, so in the shared test database other suites' lock waits and advisory keys
// ("bob") would be counted and collide. Costs ~2 s (create + drop); use only where needed.
std::string fresh_pg_private_database();

// Drops what fresh_pg_database or fresh_pg_private_database made for `url` (its schema or its
// database, with everything in it); errors are ignored.
void drop_pg_database(const std::string& url);

// `url` with its database replaced by `database` (and its options dropped).
std::string pg_url_with_database(const std::string& url, const std::string& database);

// Restarts the server (same port, same data): open connections break.
void restart_pg_server();

// A cluster of the test's own, for tests that stop or restart the server: under ctest -j the
// shared cluster serves other suites at the same time. Started by the constructor, stopped
// and removed by the destructor (also when a REQUIRE fails). A cluster left behind by a test
// process that died without its destructors (a ctest timeout) is stopped by the next one.
class private_pg_cluster {
 public:
  private_pg_cluster();
  ~private_pg_cluster();
  private_pg_cluster(const private_pg_cluster&) = delete;
  private_pg_cluster& operator=(const private_pg_cluster&) = delete;

  const std::string& url() const { return url_; }  // .../postgres
  std::string fresh_database();                    // as fresh_pg_database()
  void down();     // fast shutdown, data kept: open connections break, new ones are refused
  void up();       // starts it again on the same port and data
  void restart();  // down + up

 private:
  std::string dir_, url_;
};

// A plain libpq connection for reading what the service stored (independent of memoryd's own
// PostgreSQL layer). Throws std::runtime_error with the server's message.
class pg_client {
 public:
  explicit pg_client(const std::string& url);
  ~pg_client();
  pg_client(const pg_client&) = delete;
  pg_client& operator=(const pg_client&) = delete;
  std::vector<std::vector<std::string>> rows(const std::string& sql);  // NULL reads as ""
  // The same with `params` bound, as text, to $1, $2, ...
  std::vector<std::vector<std::string>> rows(const std::string& sql,
                                             const std::vector<std::string>& params);
  std::string one(const std::string& sql);  // first column, first row
  long long number(const std::string& sql) { return std::stoll(one(sql)); }

 private:
  void* conn_;  // PGconn*
};

}  // namespace memoryd::testing
