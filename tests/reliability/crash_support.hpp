// What the crash suites share (crash_ingest_tests.cpp, crash_processing_tests.cpp): the
// service's environment on either backend, the fake LLM's answers in the reliability
// convention, the JSON of one tokened message, waiting until the queue is drained, and
// SQLite's file-level integrity check.
#pragma once

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "tests/support/fake_llm.hpp"
#include "tests/support/fault_llm.hpp"
#include "tests/support/memoryd_service.hpp"
#include "tests/support/reliability.hpp"
#include "tests/support/ro_db.hpp"

namespace memoryd::testing {

inline double secs_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// SQLite only: the files themselves (PostgreSQL's are the server's, crash-safe by its WAL).
inline void check_integrity(const service_backend& b, const temp_dir& dir) {
  if (b.postgres()) return;
  for (const char* name : {"conversation.db", "memory.db"}) {
    ro_db db(dir.file(name));
    INFO(name);
    CHECK(db.one("PRAGMA integrity_check") == "ok");
  }
}

inline std::map<std::string, std::string> base_env(const service_backend& b, const temp_dir& dir) {
  auto env = env_for(b, dir);
  env["MEMORYD_SYNCHRONOUS"] = "full";  // the default durability (SQLite)
  return env;
}

inline std::string user_key(const std::string& body) {
  auto u = tokens(body, "usr-");
  return u.empty() ? std::string("?") : u.front();
}

inline std::string adds_reply(const std::string& body) {
  boost::json::array ops;
  for (auto& m : tokens(body, "msg-"))
    ops.push_back(
        boost::json::object{{"op", "add"}, {"text", fact_of(m)}, {"category", "interests"}});
  return openai_reply(boost::json::serialize(boost::json::object{{"operations", ops}})).body;
}

inline std::map<std::string, std::string> llm_env(const service_backend& b, const temp_dir& dir,
                                                  const fault_llm& llm) {
  auto env = base_env(b, dir);
  env["EXTRACTOR"] = "openai";
  env["OPENAI_BASE_URL"] = llm.url() + "/v1";
  env["OPENAI_MODEL"] = "test-model";
  env["OPENAI_API_KEY"] = "";
  env["MEMORY_PROCESSOR_ENABLED"] = "true";
  return env;
}

inline std::string message_json(const std::string& user, const std::string& msg) {
  return boost::json::serialize(
      boost::json::object{{"user_id", user},
                          {"role", "user"},
                          {"content", "Note usr-" + user + " msg-" + msg + " ok."},
                          {"external_id", "ext-" + msg}});
}

// Polls the processor status until nothing is pending or leased; returns the seconds it
// took, or -1 after `limit`.
inline double wait_until_drained(std::uint16_t port, std::chrono::milliseconds limit) {
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < limit) {
    try {
      auto r = http_request(port, "GET", "/v1/processor/status");
      if (r.status == 200) {
        auto q = boost::json::parse(r.body).at("queue");
        if (q.at("pending").as_int64() == 0 && q.at("leased").as_int64() == 0)
          return secs_since(t0);
      }
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(100ms);
  }
  return -1;
}

}  // namespace memoryd::testing
