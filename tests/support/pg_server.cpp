#include "tests/support/pg_server.hpp"

#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace memoryd::testing {
namespace {

const std::string kScript = std::string(MEMORYD_SOURCE_DIR) + "/scripts/pg_cluster.sh";

std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

// A cluster this process started (no ctest fixture): stopped when the process exits.
struct own_cluster {
  std::string dir;
  ~own_cluster() {
    if (!dir.empty())  // best effort: a destructor has no one to tell
      (void)!std::system(("bash " + kScript + " stop " + dir + " >/dev/null 2>&1").c_str());
  }
};

std::string cluster_dir() {
  static std::once_flag once;
  static std::string dir;
  static own_cluster own;
  std::call_once(once, [] {
    if (const char* d = std::getenv("MEMORYD_TEST_PG_DIR"); d && *d) {
      dir = d;
      return;
    }
    dir = "/tmp/memoryd-pg-" + std::to_string(getpid());
    if (std::system(("bash " + kScript + " start " + dir + " >/dev/null").c_str()) != 0)
      throw std::runtime_error("cannot start a PostgreSQL test cluster (scripts/pg_cluster.sh)");
    own.dir = dir;
  });
  return dir;
}

PGresult* run(PGconn* c, const std::string& sql) { return PQexec(c, sql.c_str()); }

// One database per cluster holds every test's schema: CREATE DATABASE costs ~0.4 s and DROP
// ~1.6 s with fsync on, a schema a few ms. Made once, by whichever test process comes first.
const std::string kTestDatabase = "memoryd_tests";

void ensure_test_database(const std::string& server_url) {
  for (int attempt = 0;; ++attempt) {
    PGconn* c = PQconnectdb(server_url.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(c);
      PQfinish(c);
      throw std::runtime_error("test cluster: " + msg);
    }
    PGresult* r = run(c, "CREATE DATABASE " + kTestDatabase);
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
                    (state && std::string(state) == "42P04");  // made by another process
    std::string msg = ok ? "" : PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    if (ok) return;
    // Two processes creating it at once: the loser sees template1 busy; try again.
    if (attempt == 20) throw std::runtime_error("CREATE DATABASE " + kTestDatabase + ": " + msg);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// A new empty schema in the test database; the URL selects it through search_path, so every
// unqualified name (the migrations' tables, memoryd_migrations itself) lives in it.
std::string create_database(const std::string& server_url) {
  static std::atomic<int> counter{0};
  static std::mutex made;
  static std::vector<std::string> servers;
  {
    std::lock_guard<std::mutex> lock(made);
    if (std::find(servers.begin(), servers.end(), server_url) == servers.end()) {
      ensure_test_database(server_url);
      servers.push_back(server_url);
    }
  }
  std::random_device rd;
  const std::string name = "t_" + std::to_string(getpid()) + "_" + std::to_string(++counter) + "_" +
                           std::to_string(rd() % 100000);
  const std::string db_url = pg_url_with_database(server_url, kTestDatabase);
  PGconn* c = PQconnectdb(db_url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("test cluster: " + msg);
  }
  PGresult* r = run(c, "CREATE SCHEMA " + name);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string msg = ok ? "" : PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("CREATE SCHEMA " + name + ": " + msg);
  return db_url + "?options=-csearch_path%3D" + name;
}

void cluster_command(const std::string& cmd, const std::string& dir) {
  if (std::system(("bash " + kScript + " " + cmd + " " + dir + " >/dev/null").c_str()) != 0)
    throw std::runtime_error("scripts/pg_cluster.sh " + cmd + " " + dir + " failed");
}

const std::string kPrivatePrefix = "memoryd-pg-private-";

// Private clusters of test processes that are gone (their pid is in the name).
void stop_orphans() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/tmp", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kPrivatePrefix, 0) != 0) continue;
    const auto pid = std::atoi(name.c_str() + kPrivatePrefix.size());
    if (pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH)
      (void)!std::system(
          ("bash " + kScript + " stop " + e.path().string() + " >/dev/null 2>&1").c_str());
  }
}

}  // namespace

std::string pg_server_url() {
  const std::string url = read_first_line(cluster_dir() + "/url");
  if (url.empty()) throw std::runtime_error("no PostgreSQL test cluster in " + cluster_dir());
  return url;
}

std::string pg_url_with_database(const std::string& url, const std::string& database) {
  const std::string base = url.substr(0, url.find('?'));
  return base.substr(0, base.rfind('/') + 1) + database;
}

std::string fresh_pg_database() { return create_database(pg_server_url()); }

std::string fresh_pg_private_database() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  const std::string name = "p_" + std::to_string(getpid()) + "_" + std::to_string(++counter) + "_" +
                           std::to_string(rd() % 100000);
  const std::string server_url = pg_server_url();
  for (int attempt = 0;; ++attempt) {
    PGconn* c = PQconnectdb(server_url.c_str());
    PGresult* r = run(c, "CREATE DATABASE " + name);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    if (ok) return pg_url_with_database(server_url, name);
    // Another process copying template1 at the same moment: try again.
    if (attempt == 20) throw std::runtime_error("CREATE DATABASE " + name + ": " + msg);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void drop_pg_database(const std::string& url) {
  const auto at = url.find("search_path%3D");
  if (at == std::string::npos) {  // a private database
    const std::string base = url.substr(0, url.find('?'));
    const std::string database = base.substr(base.rfind('/') + 1);
    if (database.rfind("p_", 0) != 0) return;
    PGconn* c = PQconnectdb(pg_url_with_database(url, "postgres").c_str());
    if (PQstatus(c) == CONNECTION_OK)
      PQclear(run(c, "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)"));
    PQfinish(c);
    return;
  }
  const std::string schema = url.substr(at + std::string("search_path%3D").size());
  PGconn* c = PQconnectdb(url.substr(0, url.find('?')).c_str());
  if (PQstatus(c) == CONNECTION_OK)
    PQclear(
        run(c, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + schema + " CASCADE"));
  PQfinish(c);
}

void restart_pg_server() { cluster_command("restart", cluster_dir()); }

private_pg_cluster::private_pg_cluster() {
  static std::atomic<int> counter{0};
  stop_orphans();
  dir_ = "/tmp/" + kPrivatePrefix + std::to_string(getpid()) + "-" + std::to_string(++counter);
  cluster_command("start", dir_);
  url_ = read_first_line(dir_ + "/url");
  if (url_.empty()) throw std::runtime_error("no PostgreSQL URL in " + dir_);
}

private_pg_cluster::~private_pg_cluster() {
  (void)!std::system(("bash " + kScript + " stop " + dir_ + " >/dev/null 2>&1").c_str());
}

std::string private_pg_cluster::fresh_database() { return create_database(url_); }
void private_pg_cluster::down() { cluster_command("down", dir_); }
void private_pg_cluster::up() { cluster_command("up", dir_); }
void private_pg_cluster::restart() { cluster_command("restart", dir_); }

pg_client::pg_client(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (PQstatus(static_cast<PGconn*>(conn_)) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(static_cast<PGconn*>(conn_));
    PQfinish(static_cast<PGconn*>(conn_));
    throw std::runtime_error("PostgreSQL: " + msg);
  }
}

pg_client::~pg_client() { PQfinish(static_cast<PGconn*>(conn_)); }

std::vector<std::vector<std::string>> pg_client::rows(const std::string& sql) {
  return rows(sql, {});
}

std::vector<std::vector<std::string>> pg_client::rows(const std::string& sql,
                                                      const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r = params.empty() ? PQexec(static_cast<PGconn*>(conn_), sql.c_str())
                               : PQexecParams(static_cast<PGconn*>(conn_), sql.c_str(),
                                              static_cast<int>(values.size()), nullptr,
                                              values.data(), nullptr, nullptr, 0);
  const auto status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error("PostgreSQL: " + sql.substr(0, 80) + ": " + msg);
  }
  std::vector<std::vector<std::string>> out(static_cast<std::size_t>(PQntuples(r)));
  for (int i = 0; i < PQntuples(r); ++i)
    for (int k = 0; k < PQnfields(r); ++k) out[i].emplace_back(PQgetvalue(r, i, k));
  PQclear(r);
  return out;
}

std::string pg_client::one(const std::string& sql) {
  auto r = rows(sql);
  if (r.empty() || r.front().empty()) throw std::runtime_error("no row: " + sql.substr(0, 80));
  return r.front().front();
}

}  // namespace memoryd::testing
