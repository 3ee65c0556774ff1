// Fact search on both backends, the same cases for each (store/search/engine.hpp): ranking on a
// small table of questions written for these tests, and the index following every change.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "store/postgres/connection.hpp"
#include "store/search/context.hpp"
#include "store/search/lexicon.hpp"
#include "store/sqlite/database.hpp"
#include "tests/store/search_backend.hpp"

using namespace memoryd;
using memoryd::testing::adds;
using memoryd::testing::search_backend;

namespace {

std::vector<std::string> texts(const std::vector<scored_fact>& found) {
  std::vector<std::string> out;
  for (const auto& s : found) out.push_back(s.f.text);
  return out;
}

std::vector<std::string> ask(fact_search& s, const std::string& user, const std::string& q,
                             int limit = 10, const std::string& category = {}) {
  return texts(s.search({user, q, category, limit}));
}

std::string top(fact_search& s, const std::string& user, const std::string& q) {
  auto found = ask(s, user, q, 1);
  return found.empty() ? "" : found[0];
}

// Runs raw SQL on the backend behind `b` (the tests' way to take the index back to before
// migration 3).
void raw_sql(search_backend& b, const std::string& sqlite_sql, const std::string& pg_sql) {
  if (b.opts.backend == "postgres") {
    pg::connection c(b.opts.database_url);
    c.exec(pg_sql);
  } else {
    sqlite::database db(b.opts.memory_db, "normal", 1000);
    db.exec(sqlite_sql);
  }
}

// The first column of the first row of a query on the backend behind `b`.
std::int64_t raw_int(search_backend& b, const std::string& sql) {
  if (b.opts.backend == "postgres")
    return pg::connection(b.opts.database_url).exec(sql).integer(0, 0);
  sqlite::database db(b.opts.memory_db, "normal", 1000);
  return db.scalar_int(sql);
}

// The index holds exactly the user's active facts: the totals BM25 uses count them, and (on
// PostgreSQL, where the index is a column) no ended fact keeps tokens.
void check_index_matches(search_backend& b, const std::string& user) {
  INFO(b.opts.backend << " " << user);
  const auto active = raw_int(b,
                              "SELECT count(*) FROM facts WHERE status = 'active' AND "
                              "user_id = '" +
                                  user + "'");
  CHECK(raw_int(b, "SELECT coalesce(sum(facts), 0) FROM search_users WHERE user_id = '" + user +
                       "'") == active);
  CHECK(raw_int(
            b, "SELECT coalesce(sum(terms), 0) FROM search_users WHERE user_id = '" + user + "'") ==
        raw_int(b,
                // stems, not the broader terms stored after them ("+" each)
                "SELECT coalesce(sum(length(terms) - length(replace(terms, ' ', '')) + 1 - "
                "(length(terms) - length(replace(terms, '+', '')))), 0) "
                "FROM facts WHERE status = 'active' AND terms <> '' AND user_id = '" +
                    user + "'"));
  if (b.opts.backend == "postgres")
    CHECK(raw_int(b, "SELECT count(*) FROM facts WHERE tokens IS NOT NULL AND user_id = '" + user +
                         "'") == active);
}

}  // namespace

TEST_CASE("search ranks the fact that answers the question first", "[search]") {
  search_backend b(GENERATE(as<std::string>{}, "sqlite", "postgres"));
  REQUIRE(search::lexicon::shared().loaded());  // Debian's wordnet-base (scripts/setup.sh)
  b.store->apply(
      adds("ana", {"Has a dog named Max", "Works as a nurse at the city hospital",
                   "Went hiking in the Alps last summer", "Is allergic to peanuts",
                   "Her grandmother lives in Sweden", "Got mentored by a business owner",
                   "Loves painting landscapes", "Plays the violin in an orchestra",
                   "Flew to Paris for a conference", "Has two kids, a son and a daughter"}));
  auto& s = *b.reader;
  CHECK(top(s, "ana", "What is the name of her dog?") == "Has a dog named Max");  // stop words
  CHECK(top(s, "ana", "Where does she work?") == "Works as a nurse at the city hospital");  // stem
  CHECK(top(s, "ana", "Does she like hikes?") == "Went hiking in the Alps last summer");
  CHECK(top(s, "ana", "Any food allergies?") == "Is allergic to peanuts");  // prefix class
  CHECK(top(s, "ana", "Where is her grandma from?") ==
        "Her grandmother lives in Sweden");  // synonym
  CHECK(top(s, "ana", "Who gave her mentorship?") == "Got mentored by a business owner");
  CHECK(top(s, "ana", "How many children does she have?") == "Has two kids, a son and a daughter");
  CHECK(top(s, "ana", "Where did she fly?") == "Flew to Paris for a conference");  // irregular
  CHECK(top(s, "ana", "What instrument does she play?") == "Plays the violin in an orchestra");
}

TEST_CASE("search: scores, limits, categories, unknown users and empty queries", "[search]") {
  search_backend b(GENERATE(as<std::string>{}, "sqlite", "postgres"));
  b.store->apply(adds("bo", {"Likes tea", "Likes green tea with honey"}, 1000));
  b.store->apply(adds("bo", {"Likes jazz"}, 5000, "interests"));
  b.store->apply(adds("other", {"Likes tea"}));
  auto found = b.reader->search({"bo", "tea", "", 10});
  REQUIRE(found.size() == 3);
  CHECK(found[0].f.text == "Likes tea");  // shorter fact, same term: BM25
  CHECK(found[0].score > found[1].score);
  CHECK(found[0].f.user_id == "bo");
  CHECK(found[2].f.text == "Likes jazz");  // only as the neighbour of a match
  CHECK(found[2].score < found[1].score / 2);
  // Equal scores: the most recently observed first.
  CHECK(ask(*b.reader, "bo", "likes")[0] == "Likes jazz");
  CHECK(ask(*b.reader, "bo", "likes", 2).size() == 2);
  CHECK(ask(*b.reader, "bo", "likes", 10, "interests") == std::vector<std::string>{"Likes jazz"});
  CHECK(ask(*b.reader, "bo", "tea", 10, "health").empty());
  CHECK(ask(*b.reader, "nobody", "tea").empty());
  CHECK(ask(*b.reader, "bo", "What is it?").empty());  // stop words only
  CHECK(ask(*b.reader, "bo", "quantum chromodynamics").empty());
}

TEST_CASE("search: a fact written next to a strong match comes along", "[search]") {
  search_backend b(GENERATE(as<std::string>{}, "sqlite", "postgres"));
  b.store->apply(adds("cy", {"Plays chess on Sundays"}));
  b.store->apply(adds("cy", {"Adopted a rescue cat last spring"}));
  b.store->apply(adds("cy", {"It sleeps on the keyboard all day"}));
  b.store->apply(adds("cy", {"Drives a red car"}));
  // No word in common: the facts written just before and after; the later one first.
  CHECK(ask(*b.reader, "cy", "Tell me about the cat") ==
        std::vector<std::string>{"Adopted a rescue cat last spring",
                                 "It sleeps on the keyboard all day", "Plays chess on Sundays"});
}

TEST_CASE("search follows updates, deletes, erasures and remembered facts", "[search]") {
  search_backend b(GENERATE(as<std::string>{}, "sqlite", "postgres"));
  auto r = b.store->apply(adds("dee", {"Lives in New York", "Drinks oolong tea"}));
  REQUIRE(r.fact_ids.size() == 2);
  CHECK(top(*b.reader, "dee", "york") == "Lives in New York");  // searchable once committed

  fact_batch moved;
  moved.user_id = "dee";
  moved.now = 20'000;
  moved.ops.push_back({"update", r.fact_ids[0], "Lives in Boston", "", 20'000, {}});
  REQUIRE(b.store->apply(moved).updated == 1);
  CHECK(ask(*b.reader, "dee", "new york").empty());  // superseded
  CHECK(top(*b.reader, "dee", "Where does she live?") == "Lives in Boston");

  REQUIRE(b.store->forget("dee", r.fact_ids[1], 30'000));
  CHECK(ask(*b.reader, "dee", "oolong").empty());
  check_index_matches(b, "dee");

  auto kept = b.store->remember("dee", "Is learning Portuguese", "interests", 40'000);
  REQUIRE(kept);
  CHECK(top(*b.reader, "dee", "portuguese") == "Is learning Portuguese");
  auto remembered = b.reader->recent_facts("dee", 5, true);
  REQUIRE(remembered.size() == 1);
  CHECK(remembered[0].id == kept->id);
  auto recent = b.reader->recent_facts("dee", 5, false);
  REQUIRE(recent.size() == 2);
  CHECK(recent[0].text == "Is learning Portuguese");  // the latest first

  b.store->apply(adds("stays", {"Lives in Boston"}));
  check_index_matches(b, "dee");
  b.store->erase_user("dee");
  CHECK(raw_int(b, "SELECT count(*) FROM search_users WHERE user_id = 'dee'") == 0);
  CHECK(ask(*b.reader, "dee", "boston portuguese").empty());
  CHECK(b.reader->recent_facts("dee", 5, false).empty());
  CHECK(ask(*b.reader, "stays", "boston").size() == 1);
  // The user can start again, under a new key.
  b.store->apply(adds("dee", {"Lives in Lisbon"}));
  CHECK(top(*b.reader, "dee", "lisbon") == "Lives in Lisbon");
}

TEST_CASE("opening a store indexes the facts stored before the index existed", "[search]") {
  search_backend b(GENERATE(as<std::string>{}, "sqlite", "postgres"));
  b.store->apply(adds("eve", {"Keeps bees in the garden", "Sings in a choir"}));
  b.store->remember("eve", "Prefers window seats", "preferences", 20'000);
  auto gone = b.store->apply(adds("eve", {"Owns a sailboat"}));
  b.store->forget("eve", gone.fact_ids[0], 30'000);
  b.store.reset();
  // Back to schema version 2: no search columns, tables or indexes.
  const std::string common =
      "DROP TABLE search_users; DROP INDEX facts_unindexed; DROP INDEX facts_user_pos; "
      "DROP INDEX facts_user_remembered; ";
  raw_sql(b,
          common +
              "DROP TABLE facts_fts; ALTER TABLE facts DROP COLUMN terms; "
              "ALTER TABLE facts DROP COLUMN pos; ALTER TABLE facts DROP COLUMN origin; "
              "PRAGMA user_version = 2;",
          common +
              "ALTER TABLE facts DROP COLUMN terms, DROP COLUMN pos, DROP COLUMN origin, "
              "DROP COLUMN tokens; DROP INDEX user_queue_class; ALTER TABLE user_queue DROP "
              "COLUMN priority, DROP COLUMN live_seq; ALTER TABLE messages DROP COLUMN priority; "
              "CREATE INDEX user_queue_head ON user_queue (head_seq); "
              "DELETE FROM memoryd_migrations WHERE version >= 3;");
  CHECK_THROWS(b.reader->search({"eve", "bees", "", 10}));

  b.reopen();
  check_index_matches(b, "eve");
  CHECK(top(*b.reader, "eve", "Does she keep bees?") == "Keeps bees in the garden");
  CHECK(top(*b.reader, "eve", "choir") == "Sings in a choir");
  CHECK(ask(*b.reader, "eve", "sailboat").empty());          // deleted before: never indexed
  auto remembered = b.reader->recent_facts("eve", 5, true);  // origin from the history
  REQUIRE(remembered.size() == 1);
  CHECK(remembered[0].text == "Prefers window seats");
  // And the index keeps working for new facts.
  b.store->apply(adds("eve", {"Collects vinyl records"}));
  CHECK(top(*b.reader, "eve", "records") == "Collects vinyl records");
}

TEST_CASE("the memory block: relevant, remembered, recent, each once, cut at a fact", "[search]") {
  search_backend b(GENERATE(as<std::string>{}, "sqlite", "postgres"));
  b.store->apply(adds("fay", {"Plays the cello", "Has a cat named Miso"}, 1000));
  b.store->remember("fay", "Is vegetarian", "health", 2000);
  b.store->apply(adds("fay", {"Started a new job at a bakery"}, 3000));
  auto c = search::build_context(*b.reader, {"fay", "What should I say to her?", 2000});
  // Nothing relevant: remembered first, then the most recent.
  REQUIRE(c.facts.size() == 4);
  CHECK(c.facts[0].reason == "remembered");
  CHECK(c.facts[0].f.text == "Is vegetarian");
  CHECK(c.facts[1].reason == "recent");
  CHECK(c.facts[1].f.text == "Started a new job at a bakery");
  CHECK(c.text.rfind("- Is vegetarian\n- Started a new job at a bakery\n- ", 0) == 0);

  c = search::build_context(*b.reader, {"fay", "Does she have pets? A cat?", 2000});
  REQUIRE(c.facts.size() == 4);  // the cat once, as relevant
  CHECK(c.facts[0].f.text == "Has a cat named Miso");
  CHECK(c.facts[0].reason == "relevant");
  CHECK(c.facts[0].score > 0);
  CHECK(std::count_if(c.facts.begin(), c.facts.end(),
                      [](auto& f) { return f.f.text == "Has a cat named Miso"; }) == 1);

  // Whole facts only: "- Has a cat named Miso" is 22 bytes, the next line would pass 30.
  c = search::build_context(*b.reader, {"fay", "cat", 30});
  CHECK(c.text == "- Has a cat named Miso");
  CHECK(c.facts.size() == 1);
  CHECK(search::build_context(*b.reader, {"nobody", "cat", 2000}).facts.empty());
}
