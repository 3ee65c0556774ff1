#include "store/postgres/connection.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>

namespace memoryd::pg {
namespace {

std::string trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

result::result(pg_result* r) : r_(r, PQclear) {}
int result::rows() const { return r_ ? PQntuples(r_.get()) : 0; }
int result::columns() const { return r_ ? PQnfields(r_.get()) : 0; }
bool result::is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
std::string_view result::get(int row, int col) const {
  return {PQgetvalue(r_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}
std::int64_t result::integer(int row, int col) const {
  if (is_null(row, col)) return 0;
  return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
}
std::int64_t result::affected() const {
  const char* n = r_ ? PQcmdTuples(r_.get()) : "";
  return *n ? std::strtoll(n, nullptr, 10) : 0;
}

std::string url_problem(const std::string& url) {
  if (url.empty()) return "is empty (a libpq URI: postgresql://user:password@host:5432/database)";
  if (url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0)
    return "'" + url.substr(0, 32) +
           "' is not a postgresql:// URI (postgresql://user:password@host:5432/database)";
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    std::string msg = err ? trimmed(err) : "cannot be parsed";
    PQfreemem(err);
    return msg;
  }
  // libpq reads the port only when it connects; a typo there should fail at start-up.
  std::string problem;
  for (auto* o = opts; o->keyword; ++o) {
    if (std::string_view(o->keyword) != "port" || !o->val) continue;
    std::string_view ports = o->val;
    while (problem.empty()) {
      const auto comma = ports.find(',');
      const auto p = ports.substr(0, comma);
      long n = 0;
      bool digits = !p.empty() && p.size() <= 5;
      for (char ch : p) digits = digits && ch >= '0' && ch <= '9';
      if (digits) n = std::strtol(std::string(p).c_str(), nullptr, 10);
      if (!digits || n < 1 || n > 65535)
        problem = "invalid port '" + std::string(p) + "' (1..65535)";
      if (comma == std::string_view::npos) break;
      ports.remove_prefix(comma + 1);
    }
  }
  PQconninfoFree(opts);
  return problem;
}

connection::connection(const std::string& url, std::chrono::seconds connect_timeout) {
  const std::string timeout = std::to_string(std::max<std::int64_t>(1, connect_timeout.count()));
  // expand_dbname = 1: "dbname" holds the URI; keywords after it override it only where the
  // URI is silent, since connect_timeout comes first and the URI's own value wins.
  const char* keys[] = {"connect_timeout", "dbname", "application_name", nullptr};
  const char* values[] = {timeout.c_str(), url.c_str(), "memoryd", nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = conn_ ? trimmed(PQerrorMessage(conn_)) : "out of memory";
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    throw error("cannot connect to PostgreSQL: " + msg, "", true);
  }
  // Quiet NOTICEs (e.g. "relation already exists, skipping"): not errors, not for stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

connection::~connection() {
  if (conn_) PQfinish(conn_);
}

bool connection::ok() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

result connection::check(pg_result* r, std::string_view what) {
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result(r);
  std::string sqlstate;
  std::string msg;
  if (r) {
    if (const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE)) sqlstate = s;
    msg = trimmed(PQresultErrorMessage(r));
    PQclear(r);
  }
  if (msg.empty()) msg = trimmed(PQerrorMessage(conn_));
  const bool lost = PQstatus(conn_) != CONNECTION_OK;
  throw error(std::string(what) + ": " + msg, sqlstate, lost);
}

result connection::exec(const std::string& sql) {
  return check(PQexec(conn_, sql.c_str()), "exec");
}

namespace {
struct raw_params {
  std::vector<const char*> values;
  explicit raw_params(const std::vector<param>& ps) {
    values.reserve(ps.size());
    for (const auto& p : ps) values.push_back(p ? p->c_str() : nullptr);
  }
};
}  // namespace

result connection::exec(const std::string& sql, const std::vector<param>& params) {
  raw_params raw(params);
  return check(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                            raw.values.data(), nullptr, nullptr, 0),
               "exec");
}

result connection::exec_prepared(const std::string& name, const std::string& sql,
                                 const std::vector<param>& params) {
  if (std::find(prepared_.begin(), prepared_.end(), name) == prepared_.end()) {
    check(PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(params.size()), nullptr),
          "prepare " + name);
    prepared_.push_back(name);
  }
  raw_params raw(params);
  return check(PQexecPrepared(conn_, name.c_str(), static_cast<int>(params.size()),
                              raw.values.data(), nullptr, nullptr, 0),
               name);
}

transaction::transaction(connection& c, const char* begin) : c_(c) { c_.exec(begin); }

transaction::~transaction() {
  if (done_) return;
  try {
    c_.exec("ROLLBACK");
  } catch (...) {  // the connection is gone; its owner reconnects
  }
}

void transaction::commit() {
  c_.exec("COMMIT");
  done_ = true;
}

}  // namespace memoryd::pg
