#include "store/postgres/link.hpp"

#include <algorithm>

#include "core/log.hpp"

namespace memoryd::pg {

link::link(std::string url, link_options opts) : url_(std::move(url)), opts_(opts) {
  live();  // the first connection: a failure here is a start-up failure
}

connection& link::live() {
  if (conn_ && conn_->ok()) return *conn_;
  conn_.reset();
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_)
    throw error("PostgreSQL unavailable (reconnecting): " + last_error_, "", true);
  try {
    auto c = std::make_unique<connection>(url_, opts_.connect_timeout);
    c->exec("SET statement_timeout = " + std::to_string(opts_.statement_timeout.count()));
    conn_ = std::move(c);
  } catch (const error& e) {
    // Refused connections fail fast; the backoff spaces the attempts out, and bounds how
    // often a call waits for connect_timeout when the server does not answer at all.
    backoff_ = backoff_.count() == 0 ? opts_.backoff_min : std::min(opts_.backoff_max, backoff_ * 2);
    next_attempt_ = now + backoff_;
    lost(e.what());
    throw;
  }
  backoff_ = std::chrono::milliseconds(0);
  if (outage_) {
    outage_ = false;
    ++reconnects_;
    log::info("postgres_reconnected", {{"reconnects", reconnects_}});
  }
  return *conn_;
}

void link::lost(const std::string& why) {
  conn_.reset();
  last_error_ = why;
  if (!outage_) log::warn("postgres_connection_lost", {{"error", why}});
  outage_ = true;
}

bool link::is_conflict(const error& e) {
  return e.sqlstate() == "40P01" || e.sqlstate() == "40001";
}

namespace {

void append_element(std::string& out, const std::string& v) {
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

std::string text_array(const std::vector<const std::string*>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    if (values[i])
      append_element(out, *values[i]);
    else
      out += "NULL";
  }
  out += '}';
  return out;
}

std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    append_element(out, values[i]);
  }
  out += '}';
  return out;
}

std::string int_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  return out;
}

}  // namespace memoryd::pg
