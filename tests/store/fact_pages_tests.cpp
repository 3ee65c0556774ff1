// memory store: a user's active facts and fact events read a keyset page at a time
// (GET /v1/users/{id}/facts and .../facts/events with cursor, issue 18), on both backends.
// The facts of one group commit share one created_at, so a page key of created_at alone would
// skip or repeat them at a page boundary; (created_at, seq) must not.
#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "tests/store/backends.hpp"

using namespace memoryd;
using namespace memoryd::testing;

namespace {

// `n` facts for `user`, all written in one group commit at `now` (one created_at).
void add_facts(memory_store& m, const std::string& user, int n, millis now,
               const std::string& prefix = "item") {
  std::vector<fact_batch> batches;
  for (int i = 0; i < n; i += 100) {
    fact_batch b;
    b.user_id = user;
    b.batch_key = user + "-" + prefix + "-" + std::to_string(i);
    b.extractor = "test";
    b.now = now;
    for (int k = i; k < std::min(n, i + 100); ++k)
      b.ops.push_back(
          {"add", "", "Likes " + prefix + " " + std::to_string(k), "preferences", now, {}});
    batches.push_back(std::move(b));
  }
  m.apply_group(batches);
}

// Reads the user's active facts as the HTTP handler does: limit + 1 per page, the extra one
// only says another page follows; the last fact shown is the next page's key. `between` runs
// after each page that has a successor.
std::vector<std::vector<fact>> fact_pages(memory_store& m, const std::string& user,
                                          std::size_t limit,
                                          const std::function<void(std::size_t)>& between = {}) {
  std::vector<std::vector<fact>> out;
  millis after_created_at = 0;
  std::int64_t after_seq = 0;
  for (;;) {
    auto rows = m.active_facts_page(user, after_created_at, after_seq,
                                    static_cast<std::int32_t>(limit + 1));
    REQUIRE(rows.size() <= limit + 1);
    const bool more = rows.size() > limit;
    if (more) rows.pop_back();
    out.push_back(rows);
    if (!more) return out;
    REQUIRE(out.size() < 100000);
    after_created_at = rows.back().created_at;
    after_seq = rows.back().seq;
    if (between) between(out.size());
  }
}

std::vector<std::string> ids(const std::vector<std::vector<fact>>& pages) {
  std::vector<std::string> out;
  for (const auto& p : pages)
    for (const auto& f : p) out.push_back(f.id);
  return out;
}

std::vector<std::string> ids(const std::vector<fact>& facts) {
  std::vector<std::string> out;
  for (const auto& f : facts) out.push_back(f.id);
  return out;
}

}  // namespace

TEST_CASE("fact pages return each active fact once, in written order, whatever created_at",
          "[store][facts][pages]") {
  FOR_EACH_BACKEND(b);
  auto& m = b.memory();
  add_facts(m, "alice", 1500, 1000);        // one created_at for all
  add_facts(m, "alice", 50, 999, "early");  // written later, created earlier: listed first
  add_facts(m, "bob", 30, 1000);
  const auto expected = ids(m.active_facts("alice"));
  REQUIRE(expected.size() == 1550);
  CHECK(expected.front() == ids(m.active_facts_page("alice", 0, 0, 1)).front());

  for (std::size_t limit : {1u, 7u, 100u, 1549u, 1550u, 1551u}) {
    INFO("limit " << limit);
    auto pages = fact_pages(m, "alice", limit);
    CHECK(pages.size() == (1550 + limit - 1) / limit);
    for (std::size_t p = 0; p + 1 < pages.size(); ++p) CHECK(pages[p].size() == limit);
    for (const auto& page : pages)
      for (const auto& f : page) {
        CHECK(f.user_id == "alice");
        CHECK(f.status == "active");
      }
    CHECK(ids(pages) == expected);
  }
  CHECK(m.active_facts_page("carol", 0, 0, 10).empty());
}

TEST_CASE("fact pages under concurrent writes: facts active throughout come exactly once",
          "[store][facts][pages]") {
  FOR_EACH_BACKEND(b);
  auto& m = b.memory();
  add_facts(m, "alice", 300, 5000);
  const auto before = m.active_facts("alice");
  // Between pages: forget a fact not read yet and write new ones (same created_at, so they sort
  // after everything written before them, inside the pass).
  std::set<std::string> forgotten;
  std::size_t added = 0;
  auto pages = fact_pages(m, "alice", 40, [&](std::size_t page) {
    const auto& victim = before[before.size() - page];
    REQUIRE(m.forget("alice", victim.id, 5000));
    forgotten.insert(victim.id);
    add_facts(m, "alice", 3, 5000, "new" + std::to_string(page));
    added += 3;
  });
  std::vector<std::string> got = ids(pages);
  std::set<std::string> unique(got.begin(), got.end());
  CHECK(unique.size() == got.size());  // no repeats
  for (const auto& f : before)
    if (!forgotten.count(f.id)) CHECK(unique.count(f.id) == 1);  // no gaps
  for (const auto& id : forgotten) CHECK(unique.count(id) == 0);
  CHECK(got.size() == before.size() - forgotten.size() + added);  // the new ones come after
  CHECK(got == ids(m.active_facts("alice")));
}

TEST_CASE("fact event pages read the history newest first without gaps or repeats",
          "[store][facts][pages]") {
  FOR_EACH_BACKEND(b);
  auto& m = b.memory();
  add_facts(m, "alice", 120, 1000);
  for (const auto& f : m.active_facts("alice"))
    if (f.text.back() == '7') REQUIRE(m.forget("alice", f.id, 2000));
  add_facts(m, "bob", 10, 1000);
  auto all = m.events("alice");  // oldest first
  REQUIRE(all.size() == 132);
  std::reverse(all.begin(), all.end());

  for (std::int32_t limit : {1, 10, 131, 132, 133}) {
    INFO("limit " << limit);
    std::vector<std::int64_t> got;
    std::int64_t before = 0;
    for (int pages = 0;; ++pages) {
      REQUIRE(pages < 1000);
      auto rows = m.events_page("alice", before, limit + 1);
      const bool more = rows.size() > static_cast<std::size_t>(limit);
      if (more) rows.pop_back();
      for (const auto& e : rows) {
        CHECK(e.user_id == "alice");
        got.push_back(e.seq);
      }
      if (!more) break;
      before = rows.back().seq;
    }
    std::vector<std::int64_t> want;
    for (const auto& e : all) want.push_back(e.seq);
    CHECK(got == want);
  }
  CHECK(m.events_page("carol", 0, 10).empty());
}
