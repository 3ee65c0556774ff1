// The real memoryd binary, started for a test on a free loopback port with temporary
// databases (SQLite files in the test's directory, or a PostgreSQL namespace: env_for(b, dir)),
// and stopped with SIGTERM.
#pragma once

#include <signal.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/service_backend.hpp"
#include "tests/support/temp_dir.hpp"

namespace memoryd::testing {

using namespace std::chrono_literals;

inline const std::string binary = MEMORYD_BINARY;

// SQLite files in `dir` (whatever MEMORYD_STORAGE the test runner's environment has).
inline std::map<std::string, std::string> env_for(const temp_dir& dir) {
  return {{"CONVERSATION_DB_PATH", dir.file("conversation.db")},
          {"MEMORY_DB_PATH", dir.file("memory.db")},
          {"MEMORYD_STORAGE", "sqlite"},
          {"MEMORYD_LISTEN", "127.0.0.1:0"},
          {"MEMORY_PROCESSOR_ENABLED", "false"},
          {"MEMORYD_SYNCHRONOUS", "normal"}};
}

// The same on backend `b`: its files in `dir`, or its PostgreSQL namespace.
inline std::map<std::string, std::string> env_for(const service_backend& b, const temp_dir& dir) {
  auto env = env_for(dir);
  for (auto& [key, value] : b.storage_env(dir)) env[key] = value;
  return env;
}

// A running memoryd; the port comes from its "server_started" log line.
struct service {
  temp_dir& dir;
  child_process proc;
  std::uint16_t port = 0;

  service(temp_dir& d, std::map<std::string, std::string> env, std::vector<std::string> extra = {})
      : dir(d), proc(args(extra), env, d.path()) {
    // A bound for a failed start, not a speed check: three sanitizer-built instances
    // starting beside a loaded PostgreSQL took over 20 s.
    REQUIRE(proc.wait_for_output("\"server_started\"", 60s));
    std::istringstream lines(proc.out());
    for (std::string line; std::getline(lines, line);) {
      if (line.find("\"server_started\"") == std::string::npos) continue;
      port = static_cast<std::uint16_t>(boost::json::parse(line).at("port").as_int64());
    }
    REQUIRE(port != 0);
  }
  static std::vector<std::string> args(const std::vector<std::string>& extra) {
    std::vector<std::string> a{binary, "serve"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  int stop() {
    proc.signal(SIGTERM);
    auto rc = proc.wait(20s);
    REQUIRE(rc.has_value());
    return *rc;
  }
};

inline http_response twilio(std::uint16_t port, const std::string& form) {
  return http_request(port, "POST", "/webhooks/twilio", form, "application/x-www-form-urlencoded");
}

inline boost::json::array messages_of(std::uint16_t port, const std::string& user_path) {
  auto r = http_request(port, "GET", "/v1/users/" + user_path + "/messages");
  REQUIRE(r.status == 200);
  return boost::json::parse(r.body).at("messages").as_array();
}

inline std::vector<std::string> fact_texts(std::uint16_t port, const std::string& user_path) {
  auto r = http_request(port, "GET", "/v1/users/" + user_path + "/facts");
  REQUIRE(r.status == 200);
  std::vector<std::string> out;
  auto doc = boost::json::parse(r.body);
  for (auto& f : doc.at("facts").as_array()) out.emplace_back(f.at("text").as_string().c_str());
  return out;
}

inline const std::string dog_form =
    "From=whatsapp%3A%2B15551234567&To=whatsapp%3A%2B15550000000&Body=I+have+a+dog+named+Max+"
    "and+I%27m+allergic+to+peanuts.&MessageSid=SM0001&NumMedia=0";

}  // namespace memoryd::testing
