// The memory store on PostgreSQL with several instances: one user's facts written by two
// instances at once (the per-user advisory lock), and extraction batches that must not write
// once their source messages are erased (fact_batch::sources_must_exist, which only the
// PostgreSQL store can check: its messages are in the same database).
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "store/postgres/conversation_store.hpp"
#include "store/postgres/memory_store.hpp"
#include "tests/store/conversation_store_util.hpp"
#include "tests/store/pg_support.hpp"

using namespace memoryd;
using namespace memoryd::testing;

namespace {

fact_batch adds(const std::string& user, const std::vector<std::string>& texts,
                const std::vector<std::string>& sources, const std::string& key = {}) {
  fact_batch b;
  b.user_id = user;
  b.batch_key = key;
  b.extractor = "rules/1";
  b.now = 10000;
  for (const auto& t : texts) b.ops.push_back({"add", "", t, "other", 5000, sources});
  return b;
}

// Each normalized text of a user must be one fact, however it is written: all added once.
void check_single(memory_store& m, const std::string& user, std::size_t expected) {
  INFO(user);
  const auto facts = m.active_facts(user);
  CHECK(facts.size() == expected);
  CHECK(m.all_facts(user).size() == facts.size());  // nothing superseded or deleted
  std::map<std::string, int> adds_of;               // fact id -> add events
  for (const auto& e : m.events(user))
    if (e.kind == "add") ++adds_of[e.fact_id];
  CHECK(adds_of.size() == facts.size());
  for (const auto& [id, n] : adds_of) CHECK(n == 1);
}

}  // namespace

// Two instances write the same 12 facts of alice (and carol) in other spellings and orders,
// by extraction batches, group commits and "remember", at once. The merge rules read, then
// write: without the per-user lock the second writer of a text hits the unique index of
// active facts (an error) instead of finding the first one's fact.
TEST_CASE("pg: two instances writing one user's facts at once keep each fact single",
          "[store][pg][concurrency]") {
  const migrated_pg_database db;
  const auto& url = db.url();
  const std::vector<std::string> texts = {
      "Likes tea",           "Has a cat",        "Lives in Boston",     "Works at ACME",
      "Is allergic to nuts", "Plays the piano",  "Has a dog named Max", "Likes hiking",
      "Speaks French",       "Drives a red car", "Is vegetarian",       "Runs marathons"};
  constexpr int kRounds = 48;
  problems trouble;
  std::atomic<int> added{0};
  std::vector<std::thread> instances;
  for (int i = 0; i < 2; ++i) {
    instances.emplace_back([&, i] {
      try {
        pg::memory_store m(url);
        const auto spelled = [&](int k) {
          const auto& t = texts[static_cast<std::size_t>(k) % texts.size()];
          return i ? t + "." : "  " + t;
        };
        for (int round = 0; round < kRounds; ++round) {
          const int k = i ? round : kRounds - round;  // the instances go opposite ways
          switch (round % 3) {
            case 0:  // one extraction batch with several facts
              added += m.apply(adds("alice", {spelled(k), spelled(k + 5), spelled(k + 7)}, {"m1"}))
                           .added;
              break;
            case 1: {  // a group commit: alice's batch between other users' batches
              const auto r = m.apply_group({adds("carol", {spelled(k + 3)}, {"m2"}),
                                            adds("alice", {spelled(k)}, {"m3"}),
                                            adds("carol", {spelled(k + 1)}, {"m4"})});
              added += r.at(1).added;
              break;
            }
            default:
              if (!m.remember("alice", spelled(k), "other", 10000))
                trouble.add("remember answered nothing for " + spelled(k));
          }
        }
      } catch (const std::exception& e) {
        trouble.add(std::string("instance failed: ") + e.what());
      }
    });
  }
  for (auto& t : instances) t.join();
  INFO(trouble.text());
  CHECK(trouble.list().empty());
  pg::memory_store m(url);
  check_single(m, "alice", texts.size());
  check_single(m, "carol", texts.size());
  CHECK(added <= static_cast<int>(texts.size()));
}

TEST_CASE("pg: an extraction batch writes only while one of its source messages exists",
          "[store][pg]") {
  store_backend b("postgres");
  auto& s = b.conversations();
  auto& m = b.memory();
  auto& t = b.memory_tables();
  const auto out = s.ingest(
      {msg("alice", "I have a cat"), msg("bob", "I like tea"), msg("bob", "I live in Oslo")}, 1000);

  auto alice = adds("alice", {"Has a cat"}, {out[0].id}, "k-alice");
  alice.sources_must_exist = true;
  auto bob = adds("bob", {"Likes tea", "Lives in Oslo"}, {out[1].id, out[2].id}, "k-bob");
  bob.sources_must_exist = true;

  SECTION("sources stored: written") {
    const auto r = m.apply_group({alice, bob});
    CHECK(r.at(0).added == 1);
    CHECK(r.at(1).added == 2);
    CHECK(m.active_facts("bob").size() == 2);
  }
  SECTION("one source left: written") {
    t.exec("DELETE FROM messages WHERE id = '" + out[1].id + "'");
    CHECK(m.apply(bob).added == 2);
  }
  SECTION("sources erased: nothing written, in a group beside a batch that is written") {
    CHECK(s.erase_user("bob") == 2);
    const auto r = m.apply_group({bob, alice});
    CHECK(r.at(0).added == 0);
    CHECK(r.at(0).rejected == 2);
    CHECK(r.at(1).added == 1);
    CHECK(m.all_facts("bob").empty());
    CHECK(m.events("bob").empty());
    CHECK(t.rows_of("bob").empty());  // no applied-batch record either
    CHECK(m.active_facts("alice").size() == 1);
    // The flag is what keeps them out: the same batch without it writes.
    bob.sources_must_exist = false;
    CHECK(m.apply(bob).added == 2);
  }
}

// The two orders an erasure (on any instance) can meet an extraction batch in flight: the
// batch has not checked its sources yet (it waits for the user's lock, held here by the test)
// and then writes nothing; or it has (it waits inside its insert, on a row the test is
// inserting) and the erasure of the messages waits for it, so the facts it wrote are there for
// the memory erasure that follows.
TEST_CASE("pg: an erasure waits for an extraction batch in flight, or the batch writes nothing",
          "[store][pg][concurrency]") {
  const migrated_pg_database db(true);  // counts lock waits, takes an advisory lock
  const auto& url = db.url();
  pg::conversation_store conversations(url);
  pg::memory_store writer(url);
  pg::connection test(url), watch(url);
  const auto out = conversations.ingest({msg("bob", "I like tea")}, 1000);
  auto batch = adds("bob", {"Likes tea"}, {out[0].id}, "k-bob");
  batch.sources_must_exist = true;

  SECTION("the batch checks its sources after the erasure: nothing written") {
    test.exec("BEGIN");
    test.exec("SELECT pg_advisory_xact_lock(hashtextextended('bob', 0))");
    auto applied = std::async(std::launch::async, [&] { return writer.apply(batch); });
    const bool waiting = eventually([&] { return lock_waiters(watch) >= 1; });
    CHECK(conversations.erase_user("bob") == 1);  // does not wait for the batch
    test.exec("COMMIT");
    REQUIRE(waiting);
    REQUIRE(applied.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    CHECK(applied.get().added == 0);
    CHECK(writer.all_facts("bob").empty());
  }
  SECTION("the batch checked its sources first: the erasure waits for it") {
    test.exec("BEGIN");  // an active fact of the same text, not committed: the batch waits
    test.exec(
        "INSERT INTO facts (id, user_id, text, norm, category, status, created_at, updated_at) "
        "VALUES ('held', 'bob', 'Likes tea', 'likes tea', 'other', 'active', 1, 1)");
    auto applied = std::async(std::launch::async, [&] { return writer.apply(batch); });
    bool waiting = eventually([&] { return lock_waiters(watch) >= 1; });
    auto erased = std::async(std::launch::async, [&] { return conversations.erase_user("bob"); });
    waiting = waiting && eventually([&] { return lock_waiters(watch) >= 2; });
    CHECK(erased.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
    test.exec("ROLLBACK");
    REQUIRE(waiting);
    REQUIRE(applied.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    REQUIRE(erased.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    CHECK(applied.get().added == 1);
    CHECK(erased.get() == 1);
    CHECK(writer.active_facts("bob").size() == 1);  // for the memory erasure, next
    CHECK(writer.erase_user("bob").facts == 1);
  }
}
