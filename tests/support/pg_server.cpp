#include "tests/support/pg_server.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>

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
    if (!dir.empty())
      std::system(("bash " + kScript + " stop " + dir + " >/dev/null 2>&1").c_str());
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

}  // namespace

std::string pg_server_url() {
  const std::string url = read_first_line(cluster_dir() + "/url");
  if (url.empty()) throw std::runtime_error("no PostgreSQL test cluster in " + cluster_dir());
  return url;
}

std::string pg_url_with_database(const std::string& url, const std::string& database) {
  const auto slash = url.rfind('/');
  return url.substr(0, slash + 1) + database;
}

namespace {

std::string create_database(const std::string& server_url) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  const std::string name = "t_" + std::to_string(getpid()) + "_" + std::to_string(++counter) + "_" +
                           std::to_string(rd() % 100000);
  PGconn* c = PQconnectdb(server_url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("test cluster: " + msg);
  }
  PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string msg = ok ? "" : PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("CREATE DATABASE " + name + ": " + msg);
  return pg_url_with_database(server_url, name);
}

}  // namespace

std::string fresh_pg_database() { return create_database(pg_server_url()); }

void drop_pg_database(const std::string& url) {
  const auto slash = url.rfind('/');
  const std::string name = url.substr(slash + 1);
  PGconn* c = PQconnectdb(pg_url_with_database(url, "postgres").c_str());
  if (PQstatus(c) == CONNECTION_OK)
    PQclear(PQexec(c, ("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").c_str()));
  PQfinish(c);
}

void restart_pg_server() {
  if (std::system(("bash " + kScript + " restart " + cluster_dir() + " >/dev/null").c_str()) != 0)
    throw std::runtime_error("cannot restart the PostgreSQL test cluster");
}

private_pg_server::private_pg_server() {
  static std::atomic<int> counter{0};
  dir_ = "/tmp/memoryd-pg-private-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  if (std::system(("bash " + kScript + " start " + dir_ + " >/dev/null").c_str()) != 0)
    throw std::runtime_error("cannot start a private PostgreSQL cluster in " + dir_);
  url_ = read_first_line(dir_ + "/url");
}

private_pg_server::~private_pg_server() {
  std::system(("bash " + kScript + " stop " + dir_ + " >/dev/null 2>&1").c_str());
}

std::string private_pg_server::fresh_database() { return create_database(url_); }

void private_pg_server::restart() {
  if (std::system(("bash " + kScript + " restart " + dir_ + " >/dev/null").c_str()) != 0)
    throw std::runtime_error("cannot restart the PostgreSQL cluster in " + dir_);
}

}  // namespace memoryd::testing
