// What the PostgreSQL reliability suites share: memoryd instances on one database (each its
// own port and log directory, restartable after a kill), the fake LLM's answers in the
// reliability convention (one fact "Collects token K<id>" per "msg-<id>", the user from
// "usr-<user>"), and reads of the queue straight from the database.
#pragma once

#include <signal.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fake_llm.hpp"
#include "tests/support/memoryd_service.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/reliability.hpp"

namespace memoryd::testing {

// `memoryd serve` on PostgreSQL with the processor on; EXTRACTOR=openai at `llm_url` when
// given (the rules extractor otherwise).
inline std::map<std::string, std::string> pg_instance_env(const temp_dir& dir,
                                                          const std::string& database_url,
                                                          const std::string& llm_url = "") {
  auto env = env_for(dir);
  env["MEMORYD_STORAGE"] = "postgres";
  env["DATABASE_URL"] = database_url;
  env["MEMORY_PROCESSOR_ENABLED"] = "true";
  if (!llm_url.empty()) {
    env["EXTRACTOR"] = "openai";
    env["OPENAI_BASE_URL"] = llm_url + "/v1";
    env["OPENAI_MODEL"] = "test-model";
    env["OPENAI_API_KEY"] = "";
  }
  return env;
}

inline std::string llm_user_key(const std::string& body) {
  auto u = tokens(body, "usr-");
  return u.empty() ? std::string("?") : u.front();
}

// The fake LLM's successful answer: one "add" per message of the call.
inline std::string llm_adds_reply(const std::string& body) {
  boost::json::array ops;
  for (auto& m : tokens(body, "msg-"))
    ops.push_back(
        boost::json::object{{"op", "add"}, {"text", fact_of(m)}, {"category", "interests"}});
  return openai_reply(boost::json::serialize(boost::json::object{{"operations", ops}})).body;
}

// N instances on one database, each in its own directory (its logs), restartable on a new
// port after a kill. port() may be read from any thread.
class instance_set {
 public:
  instance_set(int n, std::map<std::string, std::string> env) : env_(std::move(env)) {
    for (int i = 0; i < n; ++i) {
      dirs_.push_back(std::make_unique<temp_dir>());
      svcs_.emplace_back();
      start(i);
    }
  }
  int size() const { return static_cast<int>(svcs_.size()); }
  std::uint16_t port(int i) const {
    std::lock_guard lock(m_);
    return ports_.at(static_cast<std::size_t>(i));
  }
  service& at(int i) { return *svcs_.at(static_cast<std::size_t>(i)); }
  // kill -9; true when it died by the signal (within 10 s).
  bool kill(int i) {
    auto& s = *svcs_.at(static_cast<std::size_t>(i));
    s.proc.signal(SIGKILL);
    const bool killed = !s.proc.wait(10s).has_value() && !s.proc.running();
    set_port(i, 0);
    return killed;
  }
  void start(int i) {
    auto env = env_;
    env["MEMORYD_LISTEN"] = "127.0.0.1:0";
    svcs_.at(static_cast<std::size_t>(i)) =
        std::make_unique<service>(*dirs_.at(static_cast<std::size_t>(i)), env);
    set_port(i, svcs_[static_cast<std::size_t>(i)]->port);
  }
  // Sanitizer reports on the stderr of every instance ever started here: a report from a
  // process that a kill -9 later ended shows nowhere else.
  std::string sanitizer_reports() const {
    std::string out;
    for (const auto& d : dirs_)
      for (const auto& e : std::filesystem::directory_iterator(d->path())) {
        if (e.path().filename().string().rfind("stderr.", 0) != 0) continue;
        std::ifstream in(e.path());
        for (std::string line; std::getline(in, line);)
          if (line.find("runtime error:") != std::string::npos ||
              line.find("Sanitizer") != std::string::npos)
            out += e.path().string() + ": " + line + "\n";
      }
    return out;
  }
  // SIGTERM to each; the exit codes.
  std::vector<int> stop_all() {
    std::vector<int> codes;
    for (auto& s : svcs_) codes.push_back(s->stop());
    return codes;
  }

 private:
  void set_port(int i, std::uint16_t p) {
    std::lock_guard lock(m_);
    if (ports_.size() <= static_cast<std::size_t>(i))
      ports_.resize(static_cast<std::size_t>(i) + 1);
    ports_[static_cast<std::size_t>(i)] = p;
  }
  std::map<std::string, std::string> env_;
  std::vector<std::unique_ptr<temp_dir>> dirs_;
  std::vector<std::unique_ptr<service>> svcs_;
  mutable std::mutex m_;
  std::vector<std::uint16_t> ports_;
};

// Messages still waiting (pending or leased), read from the database.
inline long long pg_waiting(pg_client& db) {
  return db.number("SELECT count(*) FROM messages WHERE status IN ('pending', 'leased')");
}

// Polls the database until no message waits; the seconds it took, or -1 after `limit`.
inline double wait_pg_drained(const std::string& url, std::chrono::milliseconds limit) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < limit) {
    try {
      pg_client db(url);
      if (pg_waiting(db) == 0)
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(200ms);
  }
  return -1;
}

}  // namespace memoryd::testing
