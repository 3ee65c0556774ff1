// The PostgreSQL server of a test run. Under ctest it is the throwaway cluster the `pg`
// fixture starts before the suites and stops after them, failed or not
// (scripts/pg_cluster.sh; its directory in MEMORYD_TEST_PG_DIR). A test binary run by hand
// starts its own cluster on first use and stops it at exit. Each test takes a fresh
// database, so tests never see each other's rows.
#pragma once

#include <string>

namespace memoryd::testing {

// postgresql://postgres@127.0.0.1:PORT/postgres
std::string pg_server_url();

// An empty namespace of its own for one test: a new schema in the cluster's shared test
// database, selected by the URL (options=-csearch_path=...), so a store opened on the URL sees
// only its own tables. (A database per test cost ~0.4 s to create and ~1.6 s to drop.)
std::string fresh_pg_database();

// Drops what fresh_pg_database made for `url` (its schema, with everything in it); errors are
// ignored.
void drop_pg_database(const std::string& url);

// `url` with its database replaced by `database` (and its options dropped).
std::string pg_url_with_database(const std::string& url, const std::string& database);

// Restarts the server (same port, same data): open connections break. Under ctest the server
// is shared with the suites running beside this one: a test that restarts a server should
// start its own (private_pg_server).
void restart_pg_server();

// A PostgreSQL server of the caller's own (scripts/pg_cluster.sh in a directory of its own, a
// port of its own), for tests that restart it without breaking anyone else's connections.
// Started by the constructor, stopped and removed by the destructor.
class private_pg_server {
 public:
  private_pg_server();
  ~private_pg_server();
  private_pg_server(const private_pg_server&) = delete;
  private_pg_server& operator=(const private_pg_server&) = delete;

  const std::string& url() const { return url_; }  // its postgres database
  std::string fresh_database();                    // as fresh_pg_database()
  void restart();                                  // as restart_pg_server()

 private:
  std::string dir_;
  std::string url_;
};

}  // namespace memoryd::testing
