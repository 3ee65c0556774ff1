// The SQLite conversation store: ingest and history, claims with their caps and leases,
// retries, dead letters and the other transitions of a message.
#include <sqlite3.h>

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
#include "tests/support/temp_dir.hpp"

using namespace memoryd;
using memoryd::testing::temp_dir;

namespace {

sqlite::store_options opts_for(const temp_dir& dir, const std::string& sync = "full") {
  sqlite::store_options o;
  o.path = dir.file("conversation.db");
  o.synchronous = sync;
  return o;
}

new_message msg(const std::string& user, const std::string& content, millis at = 1000,
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

claim_request req_at(millis now, std::int32_t batch = 100, std::int32_t per_user = 25,
                     millis lease_ms = 1000, std::int32_t max_attempts = 3) {
  claim_request r;
  r.now = now;
  r.batch_size = batch;
  r.per_user_batch_size = per_user;
  r.lease_ms = lease_ms;
  r.max_attempts = max_attempts;
  return r;
}

std::vector<std::string> ids_of(const user_batch& b) {
  std::vector<std::string> out;
  for (const auto& m : b.messages) out.push_back(m.id);
  return out;
}

std::vector<std::string> contents_of(const user_batch& b) {
  std::vector<std::string> out;
  for (const auto& m : b.messages) out.push_back(m.content);
  return out;
}

std::vector<std::string> users_of(const claim_result& r) {
  std::vector<std::string> out;
  for (const auto& u : r.users) out.push_back(u.user_id);
  return out;
}

std::vector<std::string> contents_of(const std::vector<stored_message>& v) {
  std::vector<std::string> out;
  for (const auto& m : v) out.push_back(m.content);
  return out;
}

stored_message only(conversation_store& s, const std::string& user) {
  history_query q;
  q.user_id = user;
  auto h = s.history(q);
  REQUIRE(h.size() == 1);
  return h.front();
}

stored_message by_content(conversation_store& s, const std::string& user,
                          const std::string& content) {
  history_query q;
  q.user_id = user;
  q.limit = 1000;
  for (auto& m : s.history(q))
    if (m.content == content) return m;
  FAIL("no message " << content);
  return {};
}

// Every row of a table, every column, in key order: to see that nothing changed.
std::string dump(sqlite::conversation_store& s, const std::string& table) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(s.db().handle(), ("SELECT * FROM " + table + " ORDER BY 1").c_str(),
                             -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const auto* v = sqlite3_column_text(st, i);
      out += (v ? reinterpret_cast<const char*>(v) : "NULL") +
             std::string(i + 1 < sqlite3_column_count(st) ? "|" : "\n");
    }
  }
  sqlite3_finalize(st);
  return out;
}

std::string state_of(sqlite::conversation_store& s) {
  return dump(s, "messages") + "--\n" + dump(s, "user_queue");
}

// A random backlog (fixed seed): `n` messages of users u0..u<users-1>, each an assistant
// message with probability `assistant`; user messages are "<user>.<i>", assistant ones
// "<user>.r<i>".
std::vector<new_message> random_backlog(std::mt19937& rng, int n, int users, double assistant) {
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
int drain_and_check(conversation_store& s, const std::vector<new_message>& backlog,
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

}  // namespace

// ---------------------------------------------------------------------------------------
// ingest and history

TEST_CASE("conversation store adds messages and reads history", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  auto out = s.ingest({msg("alice", "hi", 0), msg("alice", "hello there", 0, {}, "assistant"),
                       msg("bob", "yo", 2000)},
                      5000);
  REQUIRE(out.size() == 3);
  CHECK(out[0].seq < out[1].seq);
  CHECK(out[1].seq < out[2].seq);
  CHECK_FALSE(out[0].duplicate);
  CHECK(out[0].id.size() == 36);
  CHECK(out[0].id != out[2].id);

  history_query q;
  q.user_id = "alice";
  auto h = s.history(q);
  REQUIRE(h.size() == 2);
  CHECK(h[0].id == out[0].id);
  CHECK(h[0].seq == out[0].seq);
  CHECK(h[0].content == "hi");
  CHECK(h[0].role == "user");
  CHECK(h[0].channel == "sms");
  CHECK(h[0].created_at == 5000);  // 0 -> now
  CHECK(h[0].status == message_status::pending);
  CHECK(h[0].attempts == 0);
  CHECK(h[1].role == "assistant");
  CHECK(h[1].status == message_status::skipped);
  CHECK(s.count_messages() == 3);
  CHECK(s.users() == std::vector<std::string>{"alice", "bob"});
  CHECK(only(s, "bob").created_at == 2000);
}

TEST_CASE("history returns the latest N oldest first and clamps the limit",
          "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  std::vector<new_message> msgs;
  for (int i = 0; i < 1005; ++i) msgs.push_back(msg("u", "m" + std::to_string(i), 1000 + i));
  s.ingest(msgs, 1);
  history_query q;
  q.user_id = "u";
  q.limit = 3;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"m1002", "m1003", "m1004"});
  q.limit = 0;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"m1004"});
  q.limit = 5000;
  auto all = s.history(q);
  REQUIRE(all.size() == 1000);
  CHECK(all.front().content == "m5");
  CHECK(all.back().content == "m1004");
}

TEST_CASE("history filters by processed time range role and user", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("alice", "a1", 100), msg("bob", "b1", 200), msg("alice", "a2", 300),
            msg("alice", "r1", 400, {}, "assistant"), msg("carol", "c1", 500)},
           1000);
  // Process alice's messages.
  auto c = s.claim(req_at(1000, 100, 1));
  REQUIRE(users_of(c) == std::vector<std::string>{"alice", "bob", "carol"});
  s.mark_done("alice", ids_of(c.users[0]), 1001);
  s.release("bob", ids_of(c.users[1]));
  s.release("carol", ids_of(c.users[2]));

  history_query q;
  q.limit = 100;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"a1", "b1", "a2", "r1", "c1"});
  q.processed = 1;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"a1", "r1"});
  q.processed = 0;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"b1", "a2", "c1"});
  q.processed = -1;
  q.since = 200;
  q.until = 400;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"b1", "a2"});
  q.since = 0;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"a1", "b1", "a2"});
  q.until = 0;
  q.since = 400;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"r1", "c1"});
  q.since = 0;
  q.role = "assistant";
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"r1"});
  q.role = "user";
  q.user_id = "alice";
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"a1", "a2"});
  q.role.clear();
  q.processed = 0;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"a2"});
  CHECK(s.users() == std::vector<std::string>{"alice", "bob", "carol"});
}

TEST_CASE("mark_done records processed time and the note", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("alice", "a1"), msg("bob", "b1")}, 1000);
  auto c = s.claim(req_at(2000));
  REQUIRE(c.users.size() == 2);
  s.mark_done("alice", ids_of(c.users[0]), 2500);
  s.mark_done("bob", ids_of(c.users[1]), 2600, "parse: bad json");
  auto a = only(s, "alice");
  CHECK(a.status == message_status::done);
  CHECK(a.processed_at == 2500);
  CHECK(a.last_error.empty());
  CHECK(a.lease_until == 0);
  auto b = only(s, "bob");
  CHECK(b.status == message_status::done);
  CHECK(b.processed_at == 2600);
  CHECK(b.last_error == "parse: bad json");
  CHECK(s.stats(3000).users_waiting == 0);
  CHECK(s.claim(req_at(10000)).users.empty());
}

TEST_CASE("claims and transitions commit without their own fsync on a FULL database",
          "[store][conversation]") {
  // Claims and transitions run at synchronous=NORMAL on a FULL database (the next FULL
  // commit syncs their WAL frames); ingests keep FULL. The statement trace shows which
  // PRAGMAs ran around which work, and the mode is back afterwards.
  for (const std::string mode : {"full", "normal"}) {
    INFO("synchronous=" << mode);
    temp_dir dir;
    sqlite::conversation_store s(opts_for(dir, mode));
    const std::int64_t expected = mode == "full" ? 2 : 1;
    std::vector<std::string> pragmas;
    auto trace = [](unsigned, void* out, void*, void* x) {
      const std::string sql = static_cast<const char*>(x);
      if (sql.rfind("PRAGMA synchronous=", 0) == 0)
        static_cast<std::vector<std::string>*>(out)->push_back(sql.substr(19));
      return 0;
    };
    sqlite3_trace_v2(s.db().handle(), SQLITE_TRACE_STMT, trace, &pragmas);
    const std::vector<std::string> relaxed =
        mode == "full" ? std::vector<std::string>{"NORMAL", "FULL"} : std::vector<std::string>{};

    s.ingest({msg("alice", "a1"), msg("alice", "a2"), msg("bob", "b1")}, 1000);
    CHECK(pragmas.empty());  // an ingest never relaxes
    auto c = s.claim(req_at(2000));
    REQUIRE(c.users.size() == 2);
    CHECK(pragmas == relaxed);
    pragmas.clear();
    s.mark_done("alice", ids_of(c.users[0]), 2500);
    CHECK(pragmas == relaxed);
    pragmas.clear();
    s.schedule_retry("bob", ids_of(c.users[1]), "timeout", 3000);
    CHECK(pragmas == relaxed);
    pragmas.clear();
    auto again = s.claim(req_at(4000));
    REQUIRE(again.users.size() == 1);
    s.release("bob", ids_of(again.users[0]));
    CHECK(pragmas.size() == 2 * relaxed.size());
    pragmas.clear();
    s.ingest({msg("carol", "c1")}, 5000);
    CHECK(pragmas.empty());
    sqlite3_trace_v2(s.db().handle(), 0, nullptr, nullptr);
    CHECK(s.db().scalar_int("PRAGMA synchronous") == expected);
    CHECK(s.count_messages() == 4);
  }
}

TEST_CASE("WAL checkpoints run in the background and keep the WAL bounded",
          "[store][conversation]") {
  // The same writes into two stores: one as built (background checkpointer), one whose
  // checkpoints are switched off (PRAGMA wal_autocheckpoint=0 also removes our hook), so its
  // WAL shows how far an unchecked WAL grows.
  temp_dir dir_a, dir_b;
  sqlite::conversation_store a(opts_for(dir_a, "normal"));
  sqlite::conversation_store b(opts_for(dir_b, "normal"));
  b.db().exec("PRAGMA wal_autocheckpoint=0");
  std::int64_t n = 0;
  for (int group = 0; group < 2000; ++group) {
    std::vector<new_message> msgs;
    for (int i = 0; i < 8; ++i, ++n)
      msgs.push_back(
          msg("user" + std::to_string(n % 50), "message " + std::to_string(n), 1000,
              "SM" + std::to_string((n * 2654435761u) % 1000003) + "-" + std::to_string(n)));
    for (auto* s : {&a, &b}) s->ingest(msgs, 1000);
  }
  // The thread checkpoints soon after the WAL passes 1,000 pages (bounded wait).
  for (int i = 0; i < 200 && a.background_checkpoints() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(a.background_checkpoints() > 0);
  CHECK(b.background_checkpoints() == 0);
  CHECK(a.count_messages() == n);
  CHECK(b.count_messages() == n);
  const auto wal_a = std::filesystem::file_size(dir_a.file("conversation.db") + "-wal");
  const auto wal_b = std::filesystem::file_size(dir_b.file("conversation.db") + "-wal");
  INFO("WAL with background checkpoints " << wal_a << " bytes, without " << wal_b);
  CHECK(wal_a * 2 < wal_b);
  CHECK(a.db().scalar_text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("duplicate external_id is idempotent within and across calls", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  auto first = s.ingest({msg("alice", "hi", 1000, "SM1"), msg("alice", "hi again", 1000, "SM1"),
                         msg("alice", "other", 1000, "SM2")},
                        1000);
  REQUIRE(first.size() == 3);
  CHECK_FALSE(first[0].duplicate);
  CHECK(first[1].duplicate);
  CHECK(first[1].id == first[0].id);
  CHECK(first[1].seq == first[0].seq);
  CHECK_FALSE(first[2].duplicate);
  auto again = s.ingest({msg("alice", "hi", 1000, "SM1")}, 2000);
  REQUIRE(again.size() == 1);
  CHECK(again[0].duplicate);
  CHECK(again[0].id == first[0].id);
  CHECK(s.count_messages() == 2);
  // However often and with whatever content they come again, nothing changes.
  const auto stored = state_of(s);
  for (int i = 0; i < 5; ++i) {
    INFO("repeat " << i);
    auto repeat = s.ingest({msg("alice", "other", 1000 + i, "SM2"),
                            msg("alice", "hi once more", 0, "SM1"), msg("alice", "hi", 0, "SM1")},
                           3000 + i);
    REQUIRE(repeat.size() == 3);
    for (const auto& r : repeat) CHECK(r.duplicate);
    CHECK(repeat[0].id == first[2].id);
    CHECK(repeat[1].id == first[0].id);
    CHECK(repeat[2].id == first[0].id);
    CHECK(state_of(s) == stored);
  }
  // Messages without external_id are never duplicates.
  s.ingest({msg("alice", "x"), msg("alice", "x")}, 3000);
  CHECK(s.count_messages() == 4);
  history_query q;
  q.user_id = "alice";
  CHECK(s.history(q).front().external_id == "SM1");
  CHECK(s.history(q).back().external_id.empty());
}

TEST_CASE("group commit ingests in one transaction and rolls back", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  // The third request fails inside the transaction: the first two must not be stored either.
  s.db().exec(
      "CREATE TEMP TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.content = 'boom' "
      "BEGIN SELECT RAISE(ABORT, 'refused'); END");
  CHECK_THROWS_AS(
      s.ingest_group({{msg("alice", "a1")}, {msg("bob", "b1")}, {msg("carol", "boom")}}, 1000),
      sqlite::error);
  CHECK(s.count_messages() == 0);
  CHECK(s.stats(1000).users_waiting == 0);
  auto groups = s.ingest_group(
      {{msg("alice", "a1", 1000, "E1")}, {msg("alice", "a1", 1000, "E1"), msg("bob", "b1")}}, 1000);
  REQUIRE(groups.size() == 2);
  REQUIRE(groups[1].size() == 2);
  CHECK_FALSE(groups[0][0].duplicate);
  CHECK(groups[1][0].duplicate);  // the same external_id earlier in the same transaction
  CHECK(groups[1][0].id == groups[0][0].id);
  CHECK_FALSE(groups[1][1].duplicate);
  CHECK(s.count_messages() == 2);
  CHECK(s.claim(req_at(1000)).users.size() == 2);
}

TEST_CASE("data survives reopening the file", "[store][conversation]") {
  temp_dir dir;
  {
    sqlite::conversation_store s(opts_for(dir));
    s.ingest({msg("alice", "a1", 1000, "E1")}, 1000);
  }
  sqlite::conversation_store s(opts_for(dir, "normal"));
  CHECK(s.db().scalar_int("PRAGMA user_version") == 2);
  CHECK(s.count_messages() == 1);
  CHECK(s.ingest({msg("alice", "a1", 1000, "E1")}, 1000)[0].duplicate);
  CHECK(s.claim(req_at(2000)).users.size() == 1);
}

// ---------------------------------------------------------------------------------------
// claim

TEST_CASE("claim is FIFO across users with seq breaking created_at ties", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("carol", "c1", 500), msg("alice", "a1", 500), msg("bob", "b1", 500),
            msg("carol", "c2", 500), msg("alice", "a2", 500)},
           1000);
  auto c = s.claim(req_at(1000));
  REQUIRE(users_of(c) == std::vector<std::string>{"carol", "alice", "bob"});
  CHECK(contents_of(c.users[0]) == std::vector<std::string>{"c1", "c2"});
  CHECK(contents_of(c.users[1]) == std::vector<std::string>{"a1", "a2"});
  CHECK(contents_of(c.users[2]) == std::vector<std::string>{"b1"});
  CHECK(c.users[0].messages[0].attempts == 1);
  CHECK(c.dead_lettered == 0);
  auto m = by_content(s, "carol", "c1");
  CHECK(m.status == message_status::leased);
  CHECK(m.lease_until == 2000);
  CHECK(m.attempts == 1);
}

TEST_CASE("claim respects the per-user and total caps", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  std::vector<new_message> msgs;
  for (int i = 0; i < 5; ++i) msgs.push_back(msg("alice", "a" + std::to_string(i)));
  for (int i = 0; i < 5; ++i) msgs.push_back(msg("bob", "b" + std::to_string(i)));
  for (int i = 0; i < 5; ++i) msgs.push_back(msg("carol", "c" + std::to_string(i)));
  s.ingest(msgs, 1000);

  SECTION("per-user cap") {
    auto c = s.claim(req_at(1000, 100, 2));
    REQUIRE(users_of(c) == std::vector<std::string>{"alice", "bob", "carol"});
    for (const auto& u : c.users) CHECK(u.messages.size() == 2);
    CHECK(contents_of(c.users[0]) == std::vector<std::string>{"a0", "a1"});
  }
  SECTION("total cap") {
    auto c = s.claim(req_at(1000, 7, 3));
    REQUIRE(users_of(c) == std::vector<std::string>{"alice", "bob", "carol"});
    CHECK(c.users[0].messages.size() == 3);
    CHECK(c.users[1].messages.size() == 3);
    CHECK(contents_of(c.users[2]) == std::vector<std::string>{"c0"});
    // alice and bob are leased, carol's rest is left for another instance's lease later.
    auto next = s.claim(req_at(1000, 7, 3));
    CHECK(next.users.empty());
  }
  SECTION("total cap smaller than one user's share") {
    auto c = s.claim(req_at(1000, 2, 25));
    REQUIRE(users_of(c) == std::vector<std::string>{"alice"});
    CHECK(contents_of(c.users[0]) == std::vector<std::string>{"a0", "a1"});
  }
  SECTION("any caps over random backlogs claimed until empty") {
    std::mt19937 rng(20240501);
    const std::vector<std::int32_t> caps = {1, 2, 3, 5, 8, 25, 100};
    int claims = 0;
    for (int trial = 0; trial < 40; ++trial) {
      const auto batch = caps[rng() % caps.size()], per_user = caps[rng() % caps.size()];
      const int n = 1 + static_cast<int>(rng() % 40), users = 1 + static_cast<int>(rng() % 6);
      INFO("trial " << trial << ": " << n << " messages of " << users << " users, batch_size "
                    << batch << ", per_user_batch_size " << per_user);
      temp_dir d;
      sqlite::conversation_store t(opts_for(d, "normal"));
      const auto backlog = random_backlog(rng, n, users, 0.0);
      t.ingest(backlog, 1000);
      claims += drain_and_check(t, backlog, batch, per_user);
      CHECK(t.stats(3000).done == n);
    }
    CHECK(claims > 40);
  }
}

TEST_CASE("a leased user is skipped until the lease expires", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("alice", "a1"), msg("bob", "b1")}, 1000);
  auto c = s.claim(req_at(1000, 100, 25, 100));
  REQUIRE(users_of(c) == std::vector<std::string>{"alice", "bob"});
  s.mark_done("bob", ids_of(c.users[1]), 1010);
  s.ingest({msg("alice", "a2"), msg("bob", "b2")}, 1020);

  auto during = s.claim(req_at(1050, 100, 25, 100));
  REQUIRE(users_of(during) == std::vector<std::string>{"bob"});
  CHECK(contents_of(during.users[0]) == std::vector<std::string>{"b2"});
  for (millis now = 1051; now < 1100; ++now) {  // alice's lease runs until 1100
    INFO("now " << now);
    CHECK(s.claim(req_at(now, 100, 25, 100)).users.empty());
  }

  auto after = s.claim(req_at(1100, 100, 25, 100));
  REQUIRE(users_of(after) == std::vector<std::string>{"alice"});
  CHECK(contents_of(after.users[0]) == std::vector<std::string>{"a1", "a2"});
  CHECK(after.users[0].messages[0].attempts == 2);
  CHECK(after.users[0].messages[1].attempts == 1);
  CHECK(by_content(s, "alice", "a1").attempts == 2);
  CHECK(by_content(s, "alice", "a1").lease_until == 1200);
}

TEST_CASE("an expired lease at max_attempts dead-letters", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("alice", "a1"), msg("bob", "b1")}, 1000);
  CHECK(s.claim(req_at(1000, 100, 25, 100, 2)).users.size() == 2);
  s.mark_done("bob", {only(s, "bob").id}, 1001);
  CHECK(s.claim(req_at(1100, 100, 25, 100, 2)).users.size() == 1);  // attempt 2
  s.ingest({msg("alice", "a2")}, 1150);
  auto c = s.claim(req_at(1200, 100, 25, 100, 2));
  CHECK(c.dead_lettered == 1);
  REQUIRE(users_of(c) == std::vector<std::string>{"alice"});
  CHECK(contents_of(c.users[0]) == std::vector<std::string>{"a2"});
  auto dead = by_content(s, "alice", "a1");
  CHECK(dead.status == message_status::dead);
  CHECK(dead.last_error == "lease expired after 2 attempts");
  CHECK(dead.processed_at == 0);
  CHECK(s.stats(1200).dead == 1);

  SECTION("a user whose only messages die leaves the queue") {
    auto later = s.claim(req_at(1300, 100, 25, 100, 1));  // a2: attempts 1 >= 1
    CHECK(later.dead_lettered == 1);
    CHECK(later.users.empty());
    CHECK(s.stats(1300).users_waiting == 0);
  }
}

TEST_CASE("schedule_retry blocks the user and their later messages until retry_at",
          "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("alice", "a1"), msg("bob", "b1")}, 1000);
  auto c = s.claim(req_at(1000));
  REQUIRE(users_of(c) == std::vector<std::string>{"alice", "bob"});
  s.schedule_retry("alice", ids_of(c.users[0]), "http 503", 5000);
  s.release("bob", ids_of(c.users[1]));
  s.ingest({msg("alice", "a2")}, 1500);

  auto a1 = by_content(s, "alice", "a1");
  CHECK(a1.status == message_status::pending);
  CHECK(a1.next_attempt_at == 5000);
  CHECK(a1.last_error == "http 503");
  CHECK(a1.lease_until == 0);
  auto st = s.stats(2000);
  CHECK(st.retry_scheduled == 1);
  CHECK(st.pending == 3);

  auto blocked = s.claim(req_at(2000, 100, 25, 100000));
  CHECK(users_of(blocked) == std::vector<std::string>{"bob"});
  CHECK(s.claim(req_at(4999)).users.empty());
  auto later = s.claim(req_at(5000));
  REQUIRE(users_of(later) == std::vector<std::string>{"alice"});
  CHECK(contents_of(later.users[0]) == std::vector<std::string>{"a1", "a2"});
  CHECK(later.users[0].messages[0].attempts == 2);
}

TEST_CASE("dead_letter keeps the message visible and unprocessed", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("alice", "a1"), msg("alice", "a2")}, 1000);
  auto c = s.claim(req_at(1000, 100, 1));
  REQUIRE(c.users.size() == 1);
  s.dead_letter("alice", ids_of(c.users[0]), "max attempts: http 500", 1100);
  auto d = by_content(s, "alice", "a1");
  CHECK(d.status == message_status::dead);
  CHECK(d.last_error == "max attempts: http 500");
  CHECK(d.processed_at == 0);
  // The next message becomes the head and is claimable at once.
  auto next = s.claim(req_at(1100));
  REQUIRE(users_of(next) == std::vector<std::string>{"alice"});
  CHECK(contents_of(next.users[0]) == std::vector<std::string>{"a2"});
}

TEST_CASE("release gives messages back without using an attempt", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("alice", "a1")}, 1000);
  auto c = s.claim(req_at(1000, 100, 25, 60000));
  REQUIRE(c.users.size() == 1);
  s.release("alice", ids_of(c.users[0]));
  auto m = only(s, "alice");
  CHECK(m.status == message_status::pending);
  CHECK(m.attempts == 0);
  CHECK(m.lease_until == 0);
  auto again = s.claim(req_at(1001, 100, 25, 60000));  // no waiting for the old lease
  REQUIRE(again.users.size() == 1);
  CHECK(again.users[0].messages[0].attempts == 1);
}

TEST_CASE("retry_dead puts dead messages back in the queue", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("alice", "a1"), msg("bob", "b1"), msg("alice", "a2")}, 1000);
  auto c = s.claim(req_at(1000, 100, 1));
  REQUIRE(users_of(c) == std::vector<std::string>{"alice", "bob"});
  s.dead_letter("alice", ids_of(c.users[0]), "boom", 1000);
  s.dead_letter("bob", ids_of(c.users[1]), "boom", 1000);
  auto c2 = s.claim(req_at(1000));  // a2 only
  REQUIRE(users_of(c2) == std::vector<std::string>{"alice"});
  s.mark_done("alice", ids_of(c2.users[0]), 1001);
  CHECK(s.stats(1001).users_waiting == 0);

  SECTION("by id") {
    CHECK(s.retry_dead(ids_of(c.users[1]), 2000) == 1);
    CHECK(s.retry_dead(ids_of(c.users[1]), 2000) == 0);  // not dead any more
    auto r = s.claim(req_at(2000));
    REQUIRE(users_of(r) == std::vector<std::string>{"bob"});
    CHECK(r.users[0].messages[0].attempts == 1);
  }
  SECTION("all") {
    CHECK(s.retry_dead({}, 2000) == 2);
    auto m = by_content(s, "alice", "a1");
    CHECK(m.status == message_status::pending);
    CHECK(m.attempts == 0);
    CHECK(m.next_attempt_at == 0);
    CHECK(s.stats(2000).users_waiting == 2);
    auto r = s.claim(req_at(2000));
    CHECK(users_of(r) == std::vector<std::string>{"alice", "bob"});
  }
}

TEST_CASE("retry_dead moves the head back past processed messages", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("u", "first")}, 1000);
  auto c1 = s.claim(req_at(2000));
  REQUIRE(c1.users.size() == 1);
  s.dead_letter("u", ids_of(c1.users[0]), "bad", 2100);
  s.ingest({msg("u", "second"), msg("u", "reply", 1000, {}, "assistant")}, 3000);
  auto c2 = s.claim(req_at(4000));
  REQUIRE(c2.users.size() == 1);
  CHECK(contents_of(c2.users[0]) == std::vector<std::string>{"second"});
  s.mark_done("u", ids_of(c2.users[0]), 4100);
  s.ingest({msg("u", "third")}, 5000);
  CHECK(s.retry_dead({}, 6000) == 1);
  // The revived message is older than the head and everything processed since: it comes
  // first, then the waiting one; the done and assistant messages in between are skipped.
  auto c3 = s.claim(req_at(7000));
  REQUIRE(c3.users.size() == 1);
  CHECK(contents_of(c3.users[0]) == std::vector<std::string>{"first", "third"});
  s.mark_done("u", ids_of(c3.users[0]), 7100);
  CHECK(s.stats(8000).users_waiting == 0);
}

TEST_CASE("assistant messages are never claimed", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("alice", "r1", 1000, {}, "assistant"), msg("bob", "b1"),
            msg("alice", "r2", 1000, {}, "assistant")},
           1000);
  auto c = s.claim(req_at(1000));
  REQUIRE(users_of(c) == std::vector<std::string>{"bob"});
  CHECK(s.stats(1000).skipped == 2);
  CHECK(s.stats(1000).users_waiting == 1);
  s.ingest({msg("carol", "x", 1000, {}, "assistant")}, 1000);
  CHECK(s.claim(req_at(999999)).users.size() == 1);  // bob's expired lease only

  // Random mixes of user and assistant messages, claimed until empty with several caps:
  // no claim holds an assistant message, every user message is claimed once.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    INFO("trial " << trial);
    temp_dir d;
    sqlite::conversation_store t(opts_for(d, "normal"));
    const auto backlog = random_backlog(rng, 30, 4, trial % 5 == 0 ? 1.0 : 0.4);
    t.ingest(backlog, 1000);
    const auto assistant = std::count_if(backlog.begin(), backlog.end(),
                                         [](const auto& m) { return m.role == "assistant"; });
    drain_and_check(t, backlog, trial % 2 ? 3 : 100, trial % 3 ? 2 : 25);
    const auto st = t.stats(3000);
    CHECK(st.skipped == assistant);
    CHECK(st.done == static_cast<std::int64_t>(backlog.size()) - assistant);
    CHECK(st.users_waiting == 0);
  }
}

TEST_CASE("transitions are idempotent and only touch the user's leased messages",
          "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  s.ingest({msg("alice", "a1"), msg("bob", "b1")}, 1000);
  auto c = s.claim(req_at(1000));
  REQUIRE(c.users.size() == 2);
  const auto a_ids = ids_of(c.users[0]);
  const auto b_ids = ids_of(c.users[1]);

  s.mark_done("alice", a_ids, 1100, "first");
  s.mark_done("alice", a_ids, 1200, "second");
  s.schedule_retry("alice", a_ids, "late", 9000);
  s.dead_letter("alice", a_ids, "late", 1300);
  s.release("alice", a_ids);
  auto a = only(s, "alice");
  CHECK(a.status == message_status::done);
  CHECK(a.processed_at == 1100);
  CHECK(a.last_error == "first");

  // Wrong user: nothing happens to bob's message.
  s.mark_done("alice", b_ids, 1100);
  CHECK(only(s, "bob").status == message_status::leased);
  s.release("bob", b_ids);
  s.release("bob", b_ids);
  CHECK(only(s, "bob").attempts == 0);
  s.schedule_retry("bob", b_ids, "x", 5000);  // not leased any more: no effect
  CHECK(only(s, "bob").next_attempt_at == 0);

  // Every transition after every transition (itself included) of the same messages changes
  // nothing: the first one ended the lease. Nor does any transition under the wrong user.
  using transition_fn =
      std::function<void(conversation_store&, const std::string&, const std::vector<std::string>&)>;
  const std::vector<std::pair<const char*, transition_fn>> transitions = {
      {"mark_done", [](auto& st, auto& user, auto& ids) { st.mark_done(user, ids, 1500, "n"); }},
      {"schedule_retry",
       [](auto& st, auto& user, auto& ids) { st.schedule_retry(user, ids, "r", 9000); }},
      {"dead_letter",
       [](auto& st, auto& user, auto& ids) { st.dead_letter(user, ids, "d", 1600); }},
      {"release", [](auto& st, auto& user, auto& ids) { st.release(user, ids); }},
  };
  for (const auto& [first_name, first] : transitions) {
    for (const auto& [second_name, second] : transitions) {
      INFO(first_name << " then " << second_name);
      temp_dir d;
      sqlite::conversation_store t(opts_for(d));
      t.ingest({msg("alice", "a1"), msg("alice", "a2"), msg("bob", "b1")}, 1000);
      auto claimed = t.claim(req_at(1000));
      REQUIRE(users_of(claimed) == std::vector<std::string>{"alice", "bob"});
      const auto leased = state_of(t);
      second(t, "bob", ids_of(claimed.users[0]));  // alice's messages under bob's name
      CHECK(state_of(t) == leased);
      first(t, "alice", ids_of(claimed.users[0]));
      const auto after_first = state_of(t);
      CHECK(after_first != leased);
      second(t, "alice", ids_of(claimed.users[0]));
      CHECK(state_of(t) == after_first);
      CHECK(only(t, "bob").status == message_status::leased);
    }
  }
}

TEST_CASE("stats counts statuses and the oldest waiting message", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  CHECK(s.stats(1000).oldest_pending_age_ms == 0);
  s.ingest({msg("alice", "a1", 400), msg("bob", "b1", 700), msg("bob", "r", 800, {}, "assistant"),
            msg("carol", "c1", 900)},
           1000);
  auto st = s.stats(1000);
  CHECK(st.pending == 3);
  CHECK(st.skipped == 1);
  CHECK(st.users_waiting == 3);
  CHECK(st.oldest_pending_age_ms == 600);
  auto c = s.claim(req_at(1000, 100, 25));
  s.mark_done("alice", ids_of(c.users[0]), 1100);
  st = s.stats(2000);
  CHECK(st.done == 1);
  CHECK(st.leased == 2);
  CHECK(st.pending == 0);
  CHECK(st.users_waiting == 2);
  CHECK(st.oldest_pending_age_ms == 1300);
}

// ---------------------------------------------------------------------------------------
// O(batch)

TEST_CASE("claim query plans use indexes", "[store][conversation]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir));
  std::vector<new_message> msgs;
  for (int i = 0; i < 200; ++i) msgs.push_back(msg("u" + std::to_string(i % 20), "m"));
  s.ingest(msgs, 1000);
  s.db().exec("ANALYZE");  // with statistics the planner must still use the indexes
  const auto plan = s.explain_claim();
  REQUIRE(plan.size() >= 2);
  bool queue = false, messages = false;
  for (const auto& line : plan) {
    INFO(line);
    CHECK(line.find("TEMP B-TREE") == std::string::npos);
    const bool indexed = line.find("USING INDEX") != std::string::npos ||
                         line.find("USING COVERING INDEX") != std::string::npos ||
                         line.find("PRIMARY KEY") != std::string::npos;
    CHECK(indexed);
    if (line.find("user_queue") != std::string::npos) queue = true;
    if (line.find("messages") != std::string::npos) {
      messages = true;
      CHECK(line.find("SEARCH") != std::string::npos);  // not a SCAN of messages
      // (user_id, seq > head - 1): the walk starts at the user's head, so a user's processed
      // history is never read.
      CHECK(line.find("messages_user_seq") != std::string::npos);
      CHECK(line.find("seq>?") != std::string::npos);
    }
  }
  CHECK(queue);
  CHECK(messages);
}

TEST_CASE("claim over a large backlog picks the right users", "[store][conversation][bulk]") {
  temp_dir dir;
  sqlite::conversation_store s(opts_for(dir, "normal"));
  auto user = [](int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "u%04d", i);
    return std::string(buf);
  };

  SECTION("100k pending messages over 1000 users") {
    std::vector<new_message> msgs;
    msgs.reserve(100000);
    for (int j = 0; j < 100; ++j)
      for (int i = 0; i < 1000; ++i) msgs.push_back(msg(user(i), std::to_string(j), 1000));
    s.ingest(msgs, 1000);
    CHECK(s.stats(1000).users_waiting == 1000);

    auto c = s.claim(req_at(2000, 100, 10));
    REQUIRE(c.users.size() == 10);
    for (int i = 0; i < 10; ++i) {
      CHECK(c.users[i].user_id == user(i));
      REQUIRE(c.users[i].messages.size() == 10);
      for (int j = 0; j < 10; ++j) CHECK(c.users[i].messages[j].content == std::to_string(j));
    }
    auto c2 = s.claim(req_at(2000, 100, 10));
    REQUIRE(c2.users.size() == 10);
    CHECK(c2.users.front().user_id == user(10));
    CHECK(c2.users.back().user_id == user(19));
    // Finishing u0000's batch makes it claimable again, behind the users whose oldest
    // waiting message is older than its next one.
    s.mark_done(user(0), ids_of(c.users[0]), 2001);
    auto c3 = s.claim(req_at(2001, 25, 10));
    REQUIRE(users_of(c3) == std::vector<std::string>{user(20), user(21), user(22)});
    CHECK(c3.users[2].messages.size() == 5);
    // u0000 and u0020 now queue behind every user that still waits from the first round.
    s.mark_done(user(20), ids_of(c3.users[0]), 2002);
    auto c4 = s.claim(req_at(2002, 100000, 1));
    REQUIRE(c4.users.size() == 977 + 2);  // u0023..u0999, then u0000, u0020
    CHECK(c4.users[0].user_id == user(23));
    CHECK(c4.users[976].user_id == user(999));
    CHECK(c4.users[977].user_id == user(0));
    CHECK(c4.users[977].messages.front().content == "10");
    CHECK(c4.users[978].user_id == user(20));
    CHECK(c4.users[978].messages.front().content == "10");
  }

  SECTION("one user owns the oldest half") {
    std::vector<new_message> msgs;
    msgs.reserve(100000);
    for (int j = 0; j < 50000; ++j) msgs.push_back(msg("whale", "w" + std::to_string(j), 1000));
    for (int j = 0; j < 50; ++j)
      for (int i = 0; i < 1000; ++i) msgs.push_back(msg(user(i), std::to_string(j), 1000));
    s.ingest(msgs, 1000);

    auto c = s.claim(req_at(2000, 100, 10));
    REQUIRE(c.users.size() == 10);
    CHECK(c.users[0].user_id == "whale");
    CHECK(contents_of(c.users[0]).front() == "w0");
    CHECK(contents_of(c.users[0]).back() == "w9");
    for (int i = 1; i < 10; ++i) CHECK(c.users[i].user_id == user(i - 1));

    // The whale is leased: the next claims go to the other users without blocking.
    auto c2 = s.claim(req_at(2000, 100, 10));
    REQUIRE(c2.users.size() == 10);
    CHECK(c2.users.front().user_id == user(9));
    CHECK(c2.users.back().user_id == user(18));

    s.mark_done("whale", ids_of(c.users[0]), 2001);
    auto c3 = s.claim(req_at(2001, 15, 10));
    REQUIRE(users_of(c3) == std::vector<std::string>{"whale", user(19)});
    CHECK(contents_of(c3.users[0]).front() == "w10");
    CHECK(c3.users[1].messages.size() == 5);
    CHECK(s.stats(2001).oldest_pending_age_ms == 1001);
  }
}
