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

// Creates an empty database with a unique name and returns its URL.
std::string fresh_pg_database();

// Drops the database of `url` (WITH (FORCE): its sessions are ended); errors are ignored. Tests
// that make many databases drop them, so the cluster does not grow by one template copy each.
void drop_pg_database(const std::string& url);

// `url` with its database replaced by `database`.
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
