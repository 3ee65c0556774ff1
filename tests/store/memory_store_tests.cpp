// The memory store, on each backend (tests/store/backends.hpp): adds, duplicates, updates,
// deletes, replays and group commit of fact batches, with their events; remember and forget.
#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/memory_store.hpp"
#include "tests/store/backends.hpp"
#include "tests/support/temp_dir.hpp"

using namespace memoryd;
using memoryd::testing::store_backend;
using memoryd::testing::temp_dir;

namespace {

fact_op add(const std::string& text, const std::string& category = "interests",
            millis observed = 1000, std::vector<std::string> sources = {"m1"}) {
  fact_op op;
  op.kind = "add";
  op.text = text;
  op.category = category;
  op.observed_at = observed;
  op.source_ids = std::move(sources);
  return op;
}

fact_op update(const std::string& id, const std::string& text, millis observed = 2000,
               const std::string& category = {}) {
  fact_op op;
  op.kind = "update";
  op.fact_id = id;
  op.text = text;
  op.category = category;
  op.observed_at = observed;
  op.source_ids = {"m2"};
  return op;
}

fact_op del(const std::string& id, millis observed = 3000) {
  fact_op op;
  op.kind = "delete";
  op.fact_id = id;
  op.observed_at = observed;
  op.source_ids = {"m3"};
  return op;
}

fact_batch batch(const std::string& user, std::vector<fact_op> ops, millis now = 10000,
                 const std::string& key = {}) {
  fact_batch b;
  b.user_id = user;
  b.batch_key = key;
  b.extractor = "rules/1";
  b.ops = std::move(ops);
  b.now = now;
  return b;
}

}  // namespace

TEST_CASE("memory store adds facts with an event", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  auto r = s.apply(
      batch("alice", {add("  Has a dog named Max. ", "relationships", 1500, {"m1", "m\"2,3"})}));
  CHECK(r.added == 1);
  CHECK_FALSE(r.replay);
  REQUIRE(r.fact_ids.size() == 1);
  auto facts = s.active_facts("alice");
  REQUIRE(facts.size() == 1);
  const auto& f = facts[0];
  CHECK(f.id == r.fact_ids[0]);
  CHECK(f.user_id == "alice");
  CHECK(f.text == "Has a dog named Max.");
  CHECK(f.category == "relationships");
  CHECK(f.status == "active");
  CHECK(f.observed_at == 1500);
  CHECK(f.created_at == 10000);
  CHECK(f.updated_at == 10000);
  CHECK(f.source_ids == std::vector<std::string>{"m1", "m\"2,3"});
  auto ev = s.events("alice");
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == "add");
  CHECK(ev[0].fact_id == f.id);
  CHECK(ev[0].new_text == "Has a dog named Max.");
  CHECK(ev[0].old_text.empty());
  CHECK(ev[0].cause == "extractor");
  CHECK(ev[0].extractor == "rules/1");
  CHECK(ev[0].source_ids == f.source_ids);
  CHECK(ev[0].observed_at == 1500);
  CHECK(ev[0].at == 10000);
  CHECK(s.active_facts("bob").empty());
  CHECK(s.count_facts() == 1);
}

TEST_CASE("duplicate adds are detected regardless of case spaces and punctuation",
          "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  s.apply(batch("alice", {add("Has a dog named Max.", "relationships", 1000, {"m1"})}));
  auto r = s.apply(batch("alice", {add("  has a DOG   named max", "other", 2000, {"m2"}),
                                   add("HAS A DOG, NAMED MAX!", "other", 2000, {"m1"})}));
  CHECK(r.added == 0);
  CHECK(r.unchanged == 2);
  auto facts = s.active_facts("alice");
  REQUIRE(facts.size() == 1);
  CHECK(facts[0].text == "Has a dog named Max.");
  CHECK(facts[0].source_ids == std::vector<std::string>{"m1", "m2"});
  CHECK(s.events("alice").size() == 1);
  // Another user's identical fact is separate.
  CHECK(s.apply(batch("bob", {add("has a dog named max")})).added == 1);
  // Within one batch too.
  auto r2 = s.apply(batch("carol", {add("likes tea"), add("Likes tea.")}));
  CHECK(r2.added == 1);
  CHECK(r2.unchanged == 1);

  // Random spellings (fixed seed) of a few facts: any case of each letter, any run of spaces
  // and punctuation between words and around them. Each is a duplicate of the first.
  std::mt19937 rng(42);
  const std::string separators = " \t.,;:!?-'\"()/";
  auto noise = [&](std::size_t min) {
    std::string out;
    const auto n = min + rng() % 3;
    for (std::size_t i = 0; i < n; ++i) out += separators[rng() % separators.size()];
    return out;
  };
  auto respell = [&](const std::string& words) {
    std::string out = noise(0);
    for (char c : words) {
      if (c == ' ') {
        out += noise(1);
      } else {
        out += static_cast<char>(rng() % 2 ? std::toupper(static_cast<unsigned char>(c)) : c);
      }
    }
    return out + noise(0);
  };
  for (const std::string words : {"has a dog named max", "likes rock n roll", "works at acme corp",
                                  "is 34 years old", "lives in new york"}) {
    const auto before = s.count_facts();
    CHECK(s.apply(batch("dave", {add(respell(words))})).added == 1);
    for (int i = 0; i < 20; ++i) {
      const auto text = respell(words);
      INFO("'" << text << "' against '" << words << "'");
      const auto r3 = s.apply(batch("dave", {add(text), add(respell(words))}));
      CHECK(r3.added == 0);
      CHECK(r3.unchanged == 2);
    }
    CHECK(s.count_facts() == before + 1);
    // One letter more is another fact.
    CHECK(s.apply(batch("dave", {add(respell(words + "s"))})).added == 1);
  }
  CHECK(s.active_facts("dave").size() == 10);
}

TEST_CASE("update supersedes the old fact and keeps the history", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  const auto id = s.apply(batch("alice", {add("lives in Paris", "location")})).fact_ids.at(0);
  auto r = s.apply(batch("alice", {update(id, "lives in Berlin", 2000)}, 20000));
  CHECK(r.updated == 1);
  REQUIRE(r.fact_ids.size() == 1);
  const auto new_id = r.fact_ids[0];
  CHECK(new_id != id);

  auto active = s.active_facts("alice");
  REQUIRE(active.size() == 1);
  CHECK(active[0].id == new_id);
  CHECK(active[0].text == "lives in Berlin");
  CHECK(active[0].category == "location");  // kept from the old fact
  CHECK(active[0].observed_at == 2000);
  auto all = s.all_facts("alice");
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == id);
  CHECK(all[0].status == "superseded");
  CHECK(all[0].updated_at == 20000);

  auto ev = s.events("alice");
  REQUIRE(ev.size() == 2);
  CHECK(ev[1].kind == "update");
  CHECK(ev[1].fact_id == id);
  CHECK(ev[1].new_fact_id == new_id);
  CHECK(ev[1].old_text == "lives in Paris");
  CHECK(ev[1].new_text == "lives in Berlin");
  CHECK(ev[1].observed_at == 2000);

  SECTION("the superseded fact cannot be updated again") {
    auto again = s.apply(batch("alice", {update(id, "lives in Rome", 3000)}));
    CHECK(again.rejected == 1);
    CHECK(s.active_facts("alice").at(0).text == "lives in Berlin");
  }
  SECTION("an explicit category replaces the old one") {
    s.apply(batch("alice", {update(new_id, "works in Rome", 3000, "work")}));
    CHECK(s.active_facts("alice").at(0).category == "work");
  }
  SECTION("update to the same normalized text is unchanged") {
    auto same = s.apply(batch("alice", {update(new_id, "Lives in BERLIN!", 3000)}));
    CHECK(same.unchanged == 1);
    CHECK(same.updated == 0);
    CHECK(s.events("alice").size() == 2);
  }
}

TEST_CASE("a stale update is rejected", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  const auto id = s.apply(batch("alice", {add("lives in Paris", "location", 5000)})).fact_ids.at(0);
  auto r = s.apply(batch("alice", {update(id, "lives in Lyon", 4999)}));
  CHECK(r.rejected == 1);
  CHECK(r.updated == 0);
  CHECK(s.active_facts("alice").at(0).text == "lives in Paris");
  CHECK(s.events("alice").size() == 1);
  CHECK(s.apply(batch("alice", {update(id, "lives in Lyon", 5000)})).updated == 1);
}

TEST_CASE("delete marks the fact deleted", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  const auto id = s.apply(batch("alice", {add("likes jazz")})).fact_ids.at(0);
  auto r = s.apply(batch("alice", {del(id)}, 30000));
  CHECK(r.deleted == 1);
  CHECK(s.active_facts("alice").empty());
  auto all = s.all_facts("alice");
  REQUIRE(all.size() == 1);
  CHECK(all[0].status == "deleted");
  auto ev = s.events("alice");
  REQUIRE(ev.size() == 2);
  CHECK(ev[1].kind == "delete");
  CHECK(ev[1].old_text == "likes jazz");
  CHECK(ev[1].at == 30000);
  // Deleting again or an unknown id: unchanged.
  auto again = s.apply(batch("alice", {del(id), del("no-such-id")}));
  CHECK(again.unchanged == 2);
  CHECK(again.deleted == 0);
  // The text can be added again as a new fact.
  CHECK(s.apply(batch("alice", {add("likes jazz")})).added == 1);
}

TEST_CASE("the same batch_key twice changes nothing", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  const auto id = s.apply(batch("alice", {add("likes jazz")})).fact_ids.at(0);
  auto b = batch("alice", {add("has a cat"), update(id, "likes blues"), add("")}, 10000, "k1");
  auto first = s.apply(b);
  CHECK(first.added == 1);
  CHECK(first.updated == 1);
  CHECK(first.rejected == 1);
  CHECK_FALSE(first.replay);
  const auto events = s.events("alice").size();
  const auto facts = s.count_facts();

  auto second = s.apply(b);
  CHECK(second.replay);
  CHECK(second.added == 1);
  CHECK(second.updated == 1);
  CHECK(second.rejected == 1);
  CHECK(second.fact_ids == first.fact_ids);
  CHECK(s.events("alice").size() == events);
  CHECK(s.count_facts() == facts);
}

TEST_CASE("replaying an unkeyed identical batch adds no facts", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  auto b = batch("alice", {add("has a cat"), add("works at ACME", "work")});
  CHECK(s.apply(b).added == 2);
  auto again = s.apply(b);
  CHECK(again.added == 0);
  CHECK(again.unchanged == 2);
  CHECK(s.count_facts() == 2);
  CHECK(s.events("alice").size() == 2);
}

TEST_CASE("update and delete of another user's fact are rejected", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  const auto id = s.apply(batch("alice", {add("likes jazz")})).fact_ids.at(0);
  auto r = s.apply(batch("mallory", {update(id, "likes noise"), del(id)}));
  CHECK(r.rejected == 2);
  CHECK(r.updated == 0);
  CHECK(r.deleted == 0);
  CHECK(s.active_facts("alice").at(0).text == "likes jazz");
  CHECK(s.active_facts("mallory").empty());
  CHECK(s.events("mallory").empty());
}

TEST_CASE("unknown categories become other and bad texts are rejected", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  auto r =
      s.apply(batch("alice", {add("likes chess", "hobbies"), add("   "), add(std::string(501, 'x')),
                              add(std::string(500, 'y')), add("?!"), fact_op{}}));
  CHECK(r.added == 2);
  CHECK(r.rejected == 4);
  auto f = s.active_facts("alice");
  REQUIRE(f.size() == 2);
  CHECK(f[0].category == "other");
  CHECK(s.apply(batch("alice", {update(f[0].id, "   ")})).rejected == 1);
}

TEST_CASE("memory store data survives reopening the store", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  backend.memory().apply(batch("alice", {add("likes jazz")}, 10000, "k"));
  if (!backend.postgres()) CHECK(backend.memory_tables().count("PRAGMA user_version") == 4);
  auto& s = backend.reopen_memory();
  if (!backend.postgres()) {
    CHECK(backend.memory_tables().count("PRAGMA user_version") == 4);
    CHECK(backend.memory_tables().one("PRAGMA journal_mode") == "wal");
  }
  CHECK(s.active_facts("alice").size() == 1);
  CHECK(s.apply(batch("alice", {add("likes jazz")}, 10000, "k")).replay);
}

TEST_CASE("apply_group writes several batches in one transaction with per-batch results",
          "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& m = backend.memory();
  auto a = batch("a", {add("Likes tea", "other")}, 10000, "ka");
  auto b = batch("b", {add("Has a cat", "other"), add("Likes tea", "other")});
  auto results = m.apply_group({a, b, a});
  REQUIRE(results.size() == 3);
  CHECK(results[0].added == 1);
  CHECK(results[1].added == 2);
  CHECK(results[2].replay);  // the same key later in the same group is a replay
  CHECK(m.active_facts("a").size() == 1);
  CHECK(m.active_facts("b").size() == 2);

  // One transaction: a batch that fails leaves none of the group behind, earlier batches and
  // their keys included.
  const auto facts = m.count_facts();
  backend.memory_tables().refuse("facts", "text", "boom");
  auto c = batch("c", {add("Likes coffee", "other")}, 10000, "kc");
  auto d = batch("d", {add("Has a dog", "other")});
  CHECK_THROWS_AS(m.apply_group({c, d, batch("e", {add("boom", "other")})}), std::runtime_error);
  CHECK(m.count_facts() == facts);
  CHECK(m.all_facts("c").empty());
  CHECK(m.events("d").empty());
  CHECK(backend.memory_tables().count(
            "SELECT count(*) FROM applied_batches WHERE batch_key = 'kc'") == 0);
  backend.memory_tables().allow("facts");
  const auto retried = m.apply_group({c, d});
  REQUIRE(retried.size() == 2);
  CHECK_FALSE(retried[0].replay);
  CHECK(retried[0].added == 1);
  CHECK(retried[1].added == 1);
}

TEST_CASE("remember answers the fact as stored or the one already known", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  auto f = s.remember("alice", "  Likes tea.", "preferences", 1000);
  REQUIRE(f);
  CHECK(f->text == "Likes tea.");
  CHECK(f->category == "preferences");
  CHECK(f->status == "active");
  auto again = s.remember("alice", "likes TEA", "other", 2000);
  REQUIRE(again);
  CHECK(again->id == f->id);
  CHECK(s.active_facts("alice").size() == 1);
  CHECK_FALSE(s.remember("alice", " ... ", "other", 3000));
  CHECK_FALSE(s.remember("alice", std::string(501, 'x'), "other", 3000));
  CHECK_FALSE(s.remember("", "Likes tea", "other", 3000));
  CHECK(s.count_facts() == 1);
  auto events = s.events("alice");
  REQUIRE(events.size() == 1);
  CHECK(events[0].cause == "api");
}

TEST_CASE("forget deletes an active fact of that user only", "[store][memory]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.memory();
  auto f = s.remember("alice", "Likes tea", "preferences", 1000);
  REQUIRE(f);
  CHECK_FALSE(s.forget("bob", f->id, 2000));
  CHECK(s.active_facts("alice").size() == 1);
  CHECK(s.forget("alice", f->id, 2000));
  CHECK(s.active_facts("alice").empty());
  CHECK_FALSE(s.forget("alice", f->id, 3000));
  CHECK_FALSE(s.forget("alice", "no-such-id", 3000));
  CHECK(s.events("alice").back().kind == "delete");
  s.ping();
}

// memory.db checkpoints its WAL on a background thread with synchronous=normal, where a commit
// does not fsync and a checkpoint inside it was 14% of a fact write; with FULL inside the commit
// that crosses the threshold, as SQLite does (a background checkpoint's fsync made each FULL
// commit wait: docs/PERFORMANCE.md, "Fact writes").
TEST_CASE("memory.db checkpoints in the background with synchronous=normal only",
          "[store][memory][sqlite]") {
  temp_dir dir_normal, dir_full;
  sqlite::memory_store normal({dir_normal.file("m.db"), "normal", 1000});
  sqlite::memory_store full({dir_full.file("m.db"), "full", 1000});
  // Distinct words, so each fact adds index entries: well past 1,000 WAL pages.
  int n = 0;
  for (int commit = 0; commit < 400; ++commit) {
    std::vector<fact_op> ops;
    for (int i = 0; i < 5; ++i, ++n)
      ops.push_back(add("Likes word" + std::to_string(n) + " and thing" + std::to_string(n * 7),
                        "interests", 1000 + n, {"m" + std::to_string(n)}));
    for (auto* s : {&normal, &full})
      s->apply(batch("user" + std::to_string(commit % 20), ops, 1000 + commit,
                     "k" + std::to_string(commit)));
  }
  for (int i = 0; i < 200 && normal.background_checkpoints() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // bounded wait
  CHECK(normal.background_checkpoints() > 0);
  CHECK(full.background_checkpoints() == 0);
  // The full store's WAL stays bounded by SQLite's own checkpoint in the commit.
  const auto wal_full = std::filesystem::file_size(dir_full.file("m.db") + "-wal");
  INFO("WAL with in-commit checkpoints: " << wal_full << " bytes");
  CHECK(wal_full < 2000u * 4096u);
  CHECK(normal.count_facts() == n);
  CHECK(full.count_facts() == n);
  CHECK(normal.db().scalar_text("PRAGMA integrity_check") == "ok");
}
