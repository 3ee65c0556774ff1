// Erasing a user: nothing of theirs is left, and work in flight cannot bring facts back. The
// rows on each backend; the bytes in the files (WAL frames, free pages) on SQLite.
#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/sqlite/conversation_store.hpp"
#include "store/sqlite/memory_store.hpp"
#include "tests/store/backends.hpp"
#include "tests/support/file_scan.hpp"
#include "tests/support/temp_dir.hpp"

using namespace memoryd;

namespace {

fact_batch batch_of(const std::string& user, const std::string& cause, millis observed,
                    std::vector<std::string> texts) {
  fact_batch b;
  b.user_id = user;
  b.cause = cause;
  b.now = 10'000;
  for (auto& t : texts) b.ops.push_back({"add", "", t, "other", observed, {"m1"}});
  return b;
}

}  // namespace

TEST_CASE("erasing a user removes their messages and queue entry only", "[store][erase]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  auto& t = backend.conversation_tables();
  s.ingest({{"gone", "user", "I like tea.", "api", "sid-1", 0},
            {"gone", "assistant", "Nice.", "api", "", 0},
            {"kept", "user", "I like coffee.", "api", "", 0}},
           1000);
  auto claimed = s.claim({2000, 100, 25, 60000, 3});
  REQUIRE(claimed.users.size() == 2);
  const auto kept_rows = t.rows_of("kept");
  REQUIRE(t.rows_of("gone") ==
          std::map<std::string, std::int64_t>{{"messages", 2}, {"user_queue", 1}});
  CHECK(s.erase_user("gone") == 2);
  CHECK(t.rows_of("gone").empty());
  CHECK(t.rows_of("kept") == kept_rows);
  history_query all;
  all.limit = 100;
  auto left = s.history(all);
  REQUIRE(left.size() == 1);
  CHECK(left[0].user_id == "kept");
  CHECK(s.stats(3000).users_waiting == 1);
  // In-flight work of the erased user finds nothing to change.
  s.mark_done("gone", {claimed.users[0].messages[0].id}, 3000);
  CHECK(s.history(all).size() == 1);
  // The external id is free again: a new delivery is a new message.
  auto again = s.ingest({{"gone", "user", "hello", "api", "sid-1", 0}}, 4000);
  CHECK_FALSE(again[0].duplicate);
  CHECK(s.erase_user("nobody") == 0);
}

TEST_CASE("erasing a user's facts leaves nothing of them in memory.db", "[store][erase]") {
  FOR_EACH_BACKEND(backend);
  auto& m = backend.memory();
  auto& t = backend.memory_tables();
  auto keyed = batch_of("gone", "extractor", 1000, {"Likes tea", "Has a cat"});
  keyed.batch_key = "k1";
  m.apply(keyed);
  m.apply(batch_of("kept", "extractor", 1000, {"Likes tea"}));
  const auto kept_rows = t.rows_of("kept");
  REQUIRE(t.rows_of("gone") ==
          std::map<std::string, std::int64_t>{
              {"applied_batches", 1}, {"fact_events", 2}, {"facts", 2}, {"search_users", 1}});
  auto r = m.erase_user("gone");
  CHECK(t.rows_of("gone").empty());
  CHECK(t.rows_of("kept") == kept_rows);
  CHECK(r.facts == 2);
  CHECK(r.fact_events == 2);
  CHECK(m.all_facts("gone").empty());
  CHECK(m.events("gone").empty());
  CHECK(m.active_facts("kept").size() == 1);
  CHECK(t.count("SELECT count(*) FROM applied_batches WHERE user_id = 'gone'") == 0);
  // The user may start again: the same batch key is no longer a replay.
  CHECK(m.apply(keyed).added == 2);
}

// Byte level: the WAL holds every version of every page written since the last checkpoint, so
// deleting rows is not enough (DESIGN §2.9).
TEST_CASE("an erasure leaves none of the user's bytes in the database, WAL or shm files",
          "[store][erase][sqlite]") {
  testing::temp_dir dir;
  sqlite::conversation_store s({dir.file("c.db"), "normal", 1000});
  sqlite::memory_store m({dir.file("m.db"), "normal", 1000});
  CHECK(s.db().scalar_int("PRAGMA secure_delete") == 1);
  CHECK(m.db().scalar_int("PRAGMA secure_delete") == 1);
  std::vector<new_message> msgs;
  for (int i = 0; i < 200; ++i)
    msgs.push_back({"kept-" + std::to_string(i % 7), "user", "I like tea.", "api", "", 0});
  msgs.push_back({"gone-x4q", "user", "I keep a pet snarglewump.", "api", "sid-snarg", 0});
  s.ingest(msgs, 1000);
  auto claimed = s.claim({2000, 100, 25, 60000, 3});
  REQUIRE_FALSE(claimed.users.empty());
  m.apply(batch_of("gone-x4q", "extractor", 1000, {"Keeps a pet snarglewump"}));
  m.apply(batch_of("kept-1", "extractor", 1000, {"Likes tea"}));
  const std::vector<std::string> needles{"gone-x4q", "snarglewump", "sid-snarg"};
  REQUIRE(testing::occurrences_in_files(dir.path(), needles).size() >= 3);  // the check can fail

  CHECK(s.erase_user("gone-x4q") == 1);
  m.erase_user("gone-x4q");
  CHECK(testing::occurrences_in_files(dir.path(), needles).empty());
  CHECK(std::filesystem::file_size(dir.file("c.db-wal")) == 0);
  CHECK(std::filesystem::file_size(dir.file("m.db-wal")) == 0);
  // The store keeps working after the truncation, and so does everyone else's data.
  CHECK(m.active_facts("kept-1").size() == 1);
  s.ingest({{"kept-1", "user", "Hello.", "api", "", 0}}, 3000);
  CHECK(s.count_messages() == 201);
}

TEST_CASE("an erasure that cannot truncate the WAL fails, and succeeds when retried",
          "[store][erase][sqlite]") {
  testing::temp_dir dir;
  sqlite::memory_store m({dir.file("m.db"), "normal", 100});
  m.apply(batch_of("gone", "extractor", 1000, {"Owns a flumberwick"}));
  // Another connection in the middle of a read keeps the WAL frames it may still need.
  sqlite3* reader = nullptr;
  REQUIRE(sqlite3_open(dir.file("m.db").c_str(), &reader) == SQLITE_OK);
  REQUIRE(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM facts;", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  CHECK_THROWS_AS(m.erase_user("gone"), sqlite::error);
  CHECK(m.all_facts("gone").empty());  // the rows are gone; the old frames are not yet
  CHECK_FALSE(testing::occurrences_in_files(dir.path(), {"flumberwick"}).empty());
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  auto again = m.erase_user("gone");  // the caller's retry (DELETE is idempotent)
  CHECK(again.facts == 0);
  CHECK(testing::occurrences_in_files(dir.path(), {"flumberwick"}).empty());
}

// The search index (docs/ARCHITECTURE.md, "Search"): the FTS5 shadow tables hold only keyed
// tokens, never words, and the key that made them goes with the user, under the same
// secure_delete and WAL truncation as the facts.
TEST_CASE("an erasure leaves none of the user's words or token key in the search index") {
  testing::temp_dir dir;
  sqlite::memory_store m({dir.file("m.db"), "normal", 1000});
  for (int i = 0; i < 50; ++i)  // other users' facts, commits and FTS segments around it
    m.apply(batch_of("kept-" + std::to_string(i), "extractor", 1000, {"Likes tea", "Has a dog"}));
  m.apply(batch_of("gone-zq", "extractor", 1000, {"Breeds quokkazorbs", "Plays the theremin"}));
  m.apply(batch_of("kept-0", "extractor", 1000, {"Reads novels"}));
  const std::string key =
      m.db().scalar_text("SELECT key FROM search_users WHERE user_id = 'gone-zq'");
  REQUIRE(key.size() == 32);
  // The stems are in facts.terms (like the text); the FTS tables hold tokens only.
  const std::vector<std::string> needles{"gone-zq", "quokkazorb", "theremin", key};
  REQUIRE(testing::occurrences_in_files(dir.path(), needles).size() >= 4);  // can fail
  CHECK(m.db().scalar_int("SELECT count(*) FROM facts_fts_data WHERE instr(block, 'theremin')") ==
        0);
  REQUIRE(m.search({"gone-zq", "theremin", "", 10}).size() == 2);  // and its neighbour

  m.erase_user("gone-zq");
  CHECK(testing::occurrences_in_files(dir.path(), needles).empty());
  CHECK(m.search({"gone-zq", "theremin", "", 10}).empty());
  // The index is still consistent, and serves everyone else.
  m.db().exec("INSERT INTO facts_fts (facts_fts) VALUES ('integrity-check')");
  CHECK(m.search({"kept-0", "novels", "", 1}).at(0).f.text == "Reads novels");
  CHECK(m.search({"kept-7", "dog", "", 1}).at(0).f.text == "Has a dog");
}
