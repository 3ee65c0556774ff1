// conversation store: ingest (group commit, duplicates), history, durability and, on SQLite,
// its commit modes and WAL checkpoints.
#include <sqlite3.h>

#include "tests/store/conversation_store_util.hpp"

using namespace memoryd;
using namespace memoryd::testing;

TEST_CASE("conversation store adds messages and reads history", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
  CHECK(stored_users(s) == std::vector<std::string>{"alice", "bob"});
  CHECK(only(s, "bob").created_at == 2000);
}

TEST_CASE("history returns the latest N oldest first and clamps the limit",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  std::vector<new_message> msgs;
  for (int i = 0; i < 1005; ++i) msgs.push_back(msg("u", "m" + std::to_string(i), 1000 + i));
  s.ingest(msgs, 1);
  history_query q;
  q.user_id = "u";
  q.limit = 3;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"m1002", "m1003", "m1004"});
  q.limit = 0;
  CHECK(contents_of(s.history(q)) == std::vector<std::string>{"m1004"});
  q.limit = 5000;  // at most a page of 1,000 and one more (is there an older page?)
  auto all = s.history(q);
  REQUIRE(all.size() == 1001);
  CHECK(all.front().content == "m4");
  CHECK(all.back().content == "m1004");
}

TEST_CASE("history filters by processed time range role and user", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
  CHECK(stored_users(s) == std::vector<std::string>{"alice", "bob", "carol"});
}

TEST_CASE("claims and transitions commit without their own fsync on a FULL database",
          "[store][conversation][sqlite]") {
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
          "[store][conversation][sqlite]") {
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
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
  const auto stored = backend.queue_state();
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
    CHECK(backend.queue_state() == stored);
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
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  // The third request fails inside the transaction: the first two must not be stored either.
  backend.conversation_tables().refuse("messages", "content", "boom");
  CHECK_THROWS_AS(
      s.ingest_group({{msg("alice", "a1")}, {msg("bob", "b1")}, {msg("carol", "boom")}}, 1000),
      std::runtime_error);
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

TEST_CASE("data survives reopening the store", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  backend.conversations().ingest({msg("alice", "a1", 1000, "E1")}, 1000);
  auto& s = backend.reopen_conversations("normal");
  if (!backend.postgres()) CHECK(backend.conversation_tables().count("PRAGMA user_version") == 4);
  CHECK(s.count_messages() == 1);
  CHECK(s.ingest({msg("alice", "a1", 1000, "E1")}, 1000)[0].duplicate);
  CHECK(s.claim(req_at(2000)).users.size() == 1);
}
