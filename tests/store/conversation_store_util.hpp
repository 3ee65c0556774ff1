// Helpers for the conversation store tests, on either backend (tests/store/backends.hpp):
// messages, claims and random backlogs; SQLite's options for its own tests.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/sqlite/conversation_store.hpp"
#include "store/sqlite/database.hpp"
#include "tests/store/backends.hpp"
#include "tests/support/temp_dir.hpp"

namespace memoryd::testing {

using namespace memoryd;

inline sqlite::store_options opts_for(const temp_dir& dir, const std::string& sync = "full") {
  sqlite::store_options o;
  o.path = dir.file("conversation.db");
  o.synchronous = sync;
  return o;
}

inline new_message msg(const std::string& user, const std::string& content, millis at = 1000,
                       const std::string& external_id = {}, const std::string& role = "user") {
  new_message m;
  m.user_id = user;
  m.role = role;
  m.content = content;
  m.channel = "sms";
  m.external_id = external_id;
  m.created_at = at;
  return m;
}

inline claim_request req_at(millis now, std::int32_t batch = 100, std::int32_t per_user = 25,
                            millis lease_ms = 1000, std::int32_t max_attempts = 3) {
  claim_request r;
  r.now = now;
  r.batch_size = batch;
  r.per_user_batch_size = per_user;
  r.lease_ms = lease_ms;
  r.max_attempts = max_attempts;
  return r;
}

inline std::vector<std::string> ids_of(const user_batch& b) {
  std::vector<std::string> out;
  for (const auto& m : b.messages) out.push_back(m.id);
  return out;
}

inline std::vector<std::string> contents_of(const user_batch& b) {
  std::vector<std::string> out;
  for (const auto& m : b.messages) out.push_back(m.content);
  return out;
}

inline std::vector<std::string> users_of(const claim_result& r) {
  std::vector<std::string> out;
  for (const auto& u : r.users) out.push_back(u.user_id);
  return out;
}

inline std::vector<std::string> contents_of(const std::vector<stored_message>& v) {
  std::vector<std::string> out;
  for (const auto& m : v) out.push_back(m.content);
  return out;
}

inline stored_message only(conversation_store& s, const std::string& user) {
  history_query q;
  q.user_id = user;
  auto h = s.history(q);
  REQUIRE(h.size() == 1);
  return h.front();
}

inline stored_message by_content(conversation_store& s, const std::string& user,
                                 const std::string& content) {
  history_query q;
  q.user_id = user;
  q.limit = 1000;
  for (auto& m : s.history(q))
    if (m.content == content) return m;
  FAIL("no message " << content);
  return {};
}

// Every user with stored messages, sorted (through the interface: history of everyone).
inline std::vector<std::string> stored_users(conversation_store& s) {
  history_query q;
  q.limit = 1000;
  std::vector<std::string> out;
  for (const auto& m : s.history(q)) out.push_back(m.user_id);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A random backlog (fixed seed): `n` messages of users u0..u<users-1>, each an assistant
// message with probability `assistant`; user messages are "<user>.<i>", assistant ones
// "<user>.r<i>".
inline std::vector<new_message> random_backlog(std::mt19937& rng, int n, int users,
                                               double assistant) {
  std::uniform_int_distribution<int> who(0, users - 1);
  std::bernoulli_distribution is_assistant(assistant);
  std::vector<new_message> out;
  std::map<std::string, int> count;
  for (int i = 0; i < n; ++i) {
    const auto user = "u" + std::to_string(who(rng));
    const bool reply = is_assistant(rng);
    const auto content = user + (reply ? ".r" : ".") + std::to_string(count[user]++);
    out.push_back(msg(user, content, 1000 + i, {}, reply ? "assistant" : "user"));
  }
  return out;
}

// Claims `backlog` (ingested in that order) with the given caps until nothing is left,
// marking each claim done, and checks every claim against a model of the queue: users in
// the order of their oldest waiting message, each with its oldest min(per_user, what is
// left of the total) user messages; assistant messages never. Returns the number of claims.
inline int drain_and_check(conversation_store& s, const std::vector<new_message>& backlog,
                           std::int32_t batch, std::int32_t per_user) {
  // user -> (position in the backlog, content) of their waiting messages, oldest first
  std::map<std::string, std::vector<std::pair<std::size_t, std::string>>> waiting;
  for (std::size_t i = 0; i < backlog.size(); ++i)
    if (backlog[i].role == "user") waiting[backlog[i].user_id].push_back({i, backlog[i].content});
  for (int claims = 0;; ++claims) {
    INFO("claim " << claims);
    std::vector<std::pair<std::size_t, std::string>> order;  // (oldest waiting, user)
    for (const auto& [user, messages] : waiting)
      if (!messages.empty()) order.push_back({messages.front().first, user});
    std::sort(order.begin(), order.end());
    std::vector<std::string> expected;  // "user: content content ..." per claimed user
    std::int32_t remaining = batch;
    for (const auto& [oldest, user] : order) {
      if (remaining == 0) break;
      auto& messages = waiting[user];
      const auto take =
          std::min<std::size_t>({static_cast<std::size_t>(per_user),
                                 static_cast<std::size_t>(remaining), messages.size()});
      std::string line = user + ":";
      for (std::size_t k = 0; k < take; ++k) line += " " + messages[k].second;
      expected.push_back(line);
      messages.erase(messages.begin(), messages.begin() + take);
      remaining -= static_cast<std::int32_t>(take);
    }

    const auto c = s.claim(req_at(2000, batch, per_user, 1000));
    std::vector<std::string> got;
    std::size_t total = 0;
    for (const auto& u : c.users) {
      std::string line = u.user_id + ":";
      for (const auto& m : u.messages) line += " " + m.content;
      got.push_back(line);
      total += u.messages.size();
      CHECK(u.messages.size() <= static_cast<std::size_t>(per_user));
      for (const auto& m : u.messages) CHECK(m.content.find(".r") == std::string::npos);
    }
    CHECK(total <= static_cast<std::size_t>(batch));
    REQUIRE(got == expected);
    if (c.users.empty()) return claims;
    for (const auto& u : c.users) s.mark_done(u.user_id, ids_of(u), 2000);
    REQUIRE(claims < static_cast<int>(backlog.size()));
  }
}

}  // namespace memoryd::testing
