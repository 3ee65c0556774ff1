// What the pipeline benchmarks share: a reader that records when each user's first fact
// became visible in memory.db, the port a `memoryd serve` reports at start, the fake LLM's
// scripted answers and the one message each test user sends.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fake_llm.hpp"
#include "tests/support/http_client.hpp"

namespace memoryd::bench {

// Steady-clock milliseconds: the time base of every lag the pipeline benchmarks report.
inline double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Records when each user was first seen: `poll` runs on its own thread every `every` until
// destruction and returns the users it sees now (keeping its own state between calls). The
// time is taken before each poll: what it reads was visible then.
class first_sightings {
 public:
  first_sightings(std::function<std::vector<std::string>()> poll, std::chrono::milliseconds every)
      : poll_(std::move(poll)), every_(every) {
    thread_ = std::thread([this] { run(); });
  }
  ~first_sightings() {
    stop_ = true;
    thread_.join();
  }
  first_sightings(const first_sightings&) = delete;
  first_sightings& operator=(const first_sightings&) = delete;
  std::map<std::string, double> seen() const {
    std::lock_guard lock(m_);
    return seen_;
  }
  std::size_t count() const {
    std::lock_guard lock(m_);
    return seen_.size();
  }

 private:
  void run() {
    while (!stop_) {
      const double t = now_ms();
      auto users = poll_();
      if (!users.empty()) {
        std::lock_guard lock(m_);
        for (auto& u : users) seen_.emplace(std::move(u), t);
      }
      std::this_thread::sleep_for(every_);
    }
  }

  std::function<std::vector<std::string>()> poll_;
  std::chrono::milliseconds every_;
  std::atomic<bool> stop_{false};
  mutable std::mutex m_;
  std::map<std::string, double> seen_;
  std::thread thread_;
};

// When each user's first fact became visible in memory.db: the facts added since the last
// poll (by rowid, read-only, every 5 ms; the database may not exist yet).
class fact_watcher : public first_sightings {
 public:
  explicit fact_watcher(std::string path)
      : first_sightings(poll_new_facts(std::move(path)), std::chrono::milliseconds(5)) {}

 private:
  struct reader {
    std::string path;
    sqlite3* db = nullptr;
    sqlite3_stmt* st = nullptr;
    std::int64_t last_rowid = 0;
    ~reader() { close(); }
    void close() {
      sqlite3_finalize(st);
      st = nullptr;
      sqlite3_close(db);
      db = nullptr;
    }
    bool open() {
      if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
          sqlite3_prepare_v2(db, "SELECT rowid, user_id FROM facts WHERE rowid > ?1 ORDER BY rowid",
                             -1, &st, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 1000);
        return true;
      }
      close();
      return false;
    }
  };
  static std::function<std::vector<std::string>()> poll_new_facts(std::string path) {
    auto r = std::make_shared<reader>();
    r->path = std::move(path);
    return [r] {
      std::vector<std::string> users;
      if (r->db == nullptr && !r->open()) return users;
      sqlite3_bind_int64(r->st, 1, r->last_rowid);
      while (sqlite3_step(r->st) == SQLITE_ROW) {
        r->last_rowid = sqlite3_column_int64(r->st, 0);
        users.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(r->st, 1)));
      }
      sqlite3_reset(r->st);
      return users;
    };
  }
};

inline std::uint16_t port_of(const std::string& out) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    auto pos = line.find("\"server_started\"");
    if (pos == std::string::npos) continue;
    auto p = line.find("\"port\":");
    if (p != std::string::npos) return static_cast<std::uint16_t>(std::stoi(line.substr(p + 7)));
  }
  return 0;
}

template <class Watcher>
inline bool wait_count(const Watcher& w, std::size_t n, double deadline) {
  while (w.count() < n) {
    if (now_ms() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// `n` answers of one "add" (an OpenAI chat completion), each after `latency_ms`.
inline void push_fact_answers(testing::fake_llm& llm, int n, int latency_ms) {
  const std::string answer =
      R"({"operations": [{"op": "add", "text": "Likes coffee", "category": "preferences"}]})";
  for (int i = 0; i < n; ++i) {
    auto r = testing::openai_reply(answer, 200, 20);
    r.delay = std::chrono::milliseconds(latency_ms);
    llm.push(std::move(r));
  }
}

// POST /v1/messages of `user`'s one message (live); false unless answered 202.
inline bool post_message(std::uint16_t port, const std::string& user) {
  try {
    return testing::http_request(
               port, "POST", "/v1/messages",
               R"({"user_id":")" + user + R"(","role":"user","content":"I like coffee."})",
               "application/json")
               .status == 202;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace memoryd::bench
