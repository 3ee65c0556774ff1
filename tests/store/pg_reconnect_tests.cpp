// A PostgreSQL store outlives a server restart: the call that meets the broken connection
// fails as connection_lost (or succeeds), and calls on the same store object succeed again
// within a bounded wait, with nothing committed before the restart lost.
//
// The server restarted here is the test's own (private_pg_cluster): restarting the shared
// test cluster would break the connections of the suites ctest runs beside this one.
#include <catch2/catch.hpp>

#include <chrono>

#include "store/postgres/conversation_store.hpp"
#include "store/postgres/memory_store.hpp"
#include "store/postgres/schema.hpp"
#include "tests/store/conversation_store_util.hpp"
#include "tests/store/pg_support.hpp"

using namespace memoryd;
using namespace memoryd::testing;
using namespace std::chrono_literals;

namespace {

// Calls f (no Catch assertions in it: they would swallow its exceptions) until it returns
// without throwing, for at most `limit`. Every failure must be a
// lost connection, and fail fast (backoff: no call waits for a server that is not there).
// Returns how many calls failed; -1 when f never succeeded.
template <class F>
int until_it_works(F&& f, std::vector<std::string>& notes,
                   std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (int failed = 0; std::chrono::steady_clock::now() < until; ++failed) {
    const auto start = std::chrono::steady_clock::now();
    try {
      f();
      return failed;
    } catch (const pg::error& e) {
      if (!e.connection_lost()) notes.push_back(std::string("not connection_lost: ") + e.what());
      if (std::chrono::steady_clock::now() - start > 3s) notes.push_back("slow failure");
    }
    std::this_thread::sleep_for(20ms);
  }
  return -1;
}

}  // namespace

TEST_CASE("pg: the stores reconnect by themselves after the server restarts",
          "[store][pg][restart]") {
  private_pg_cluster server;
  const auto url = server.fresh_database();
  {
    pg::connection c(url);
    pg::migrate(c);
  }
  pg::link_options o;
  o.connect_timeout = 2s;
  o.backoff_min = 50ms;
  o.backoff_max = 400ms;
  pg::conversation_store s(url, o);
  pg::memory_store m(url, o);
  s.ingest({msg("alice", "before", 1000, "E1")}, 1000);
  REQUIRE(m.remember("alice", "Likes tea", "preferences", 1000));

  for (int restart = 0; restart < 2; ++restart) {
    INFO("restart " << restart);
    server.restart();
    std::vector<std::string> notes;
    // The first call on the old connection: lost (reported as such) or, if it went through
    // after all, fine.
    try {
      s.ping();
    } catch (const pg::error& e) {
      CHECK(e.connection_lost());
    }
    try {
      m.ping();
    } catch (const pg::error& e) {
      CHECK(e.connection_lost());
    }
    std::int64_t messages = -1;
    std::size_t facts = 0;
    CHECK(until_it_works([&] { messages = s.count_messages(); }, notes) >= 0);
    CHECK(until_it_works([&] { facts = m.active_facts("alice").size(); }, notes) >= 0);
    CHECK(messages == 1 + restart);
    CHECK(facts == 1u + restart);
    INFO(notes.size() << " notes, first: " << (notes.empty() ? "" : notes.front()));
    CHECK(notes.empty());
    // Back for good: writes, claims, the memory store's transactions.
    const auto out = s.ingest({msg("alice", "after " + std::to_string(restart))}, 2000);
    CHECK_FALSE(out.at(0).duplicate);
    CHECK(s.ingest({msg("alice", "again", 1000, "E1")}, 2000).at(0).duplicate);
    REQUIRE(m.remember("alice", "Has a cat " + std::to_string(restart), "other", 2000));
  }
  const auto c = s.claim(req_at(3000));
  REQUIRE(users_of(c) == std::vector<std::string>{"alice"});
  CHECK(contents_of(c.users[0]) == std::vector<std::string>{"before", "after 0", "after 1"});
  s.mark_done("alice", ids_of(c.users[0]), 3100);
  CHECK(s.stats(3200).done == 3);
  CHECK(m.active_facts("alice").size() == 3);
}
