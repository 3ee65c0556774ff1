// Sequences are not commit-ordered: on PostgreSQL a message can commit after a message with a
// higher seq was claimed, and a writer of a user's queue row can meet an ingest that is still
// in flight. Each case stops one store's statement half way (the test holds a lock it needs),
// lets another store act, then lets the first one finish: nothing may be stranded.
#include <future>

#include "store/postgres/conversation_store.hpp"
#include "tests/store/conversation_store_util.hpp"
#include "tests/store/pg_support.hpp"

using namespace memoryd;
using namespace memoryd::testing;
using namespace std::chrono_literals;

namespace {

pg::link_options bounded() {
  pg::link_options o;
  o.statement_timeout = 20s;  // a lock that is never released fails the test, not the run
  return o;
}

}  // namespace

// Store A's ingest group draws z-user's seq, then waits inside the same statement: its second
// message's external_id is being inserted by the test's open transaction (the unique index
// makes A wait for that transaction). Meanwhile store B ingests a later z-user message, which
// is claimed. A's message, with the lower seq, commits after that claim: it must become
// z-user's head (the ingest lowers head_seq with LEAST), wait behind the lease, and then be
// claimed in its FIFO place, not stranded behind a head that never saw it.
TEST_CASE("pg: a lower seq committed after a higher one was claimed is still processed",
          "[store][pg][concurrency]") {
  const migrated_pg_database db(true);  // counts lock waits
  const auto& url = db.url();
  pg::conversation_store a(url, bounded()), b(url, bounded());
  pg::connection test(url), watch(url);
  test.exec("BEGIN");
  test.exec(
      "INSERT INTO messages (id, user_id, role, content, external_id, created_at, status) "
      "VALUES ('held', 'a-blocker', 'user', 'held', 'X-held', 1000, 'pending')");
  auto group = std::async(std::launch::async, [&] {
    return a.ingest_group({{msg("z-user", "z-low"), msg("a-blocker", "b1", 1000, "X-held")}}, 1000);
  });
  // A has inserted z-low (its seq drawn) and waits for the test's transaction.
  const bool blocked = eventually([&] { return lock_waiters(watch) >= 1; });
  if (!blocked) test.exec("ROLLBACK");
  REQUIRE(blocked);
  const auto m1 = b.ingest({msg("m-user", "m1")}, 1000).at(0);  // between the two z-user seqs
  const auto high = b.ingest({msg("z-user", "z-high")}, 1000).at(0);
  const auto first = b.claim(req_at(2000, 100, 25, 1000));
  test.exec("ROLLBACK");  // A's b1 goes in after all
  REQUIRE(group.wait_for(20s) == std::future_status::ready);
  const auto out = group.get().at(0);
  const auto low = out.at(0);

  CHECK(low.seq < out.at(1).seq);
  CHECK(out.at(1).seq < m1.seq);
  CHECK(m1.seq < high.seq);  // the point: z-low's seq is older than z-high's, its commit newer
  REQUIRE(users_of(first) == std::vector<std::string>{"m-user", "z-user"});
  CHECK(contents_of(first.users[1]) == std::vector<std::string>{"z-high"});
  b.release("m-user", ids_of(first.users[0]));
  // z-user's head went down to z-low; the lease of z-high still gates the user.
  auto row = watch.exec("SELECT head_seq, available_at FROM user_queue WHERE user_id = 'z-user'");
  REQUIRE(row.rows() == 1);
  CHECK(row.integer(0, 0) == low.seq);
  CHECK(row.integer(0, 1) == 3000);
  const auto during = b.claim(req_at(2900));  // z-user is leased: not in this claim
  CHECK(users_of(during) == std::vector<std::string>{"a-blocker", "m-user"});

  b.mark_done("z-user", ids_of(first.users[1]), 2500);
  const auto next = a.claim(req_at(10000));  // the other leases ended at 3900
  REQUIRE(users_of(next) == std::vector<std::string>{"z-user", "a-blocker", "m-user"});
  CHECK(contents_of(next.users[0]) == std::vector<std::string>{"z-low"});
  for (const auto& u : next.users) a.mark_done(u.user_id, ids_of(u), 10100);
  const auto st = a.stats(10200);
  CHECK(st.done == 4);
  CHECK(st.pending + st.leased == 0);
  CHECK(st.users_waiting == 0);
}

// Every writer of a user's queue row locks it before it reads the user's messages. Store A's
// ingest group upserts a-user's row (holding its lock) and then waits for z-blocker's row,
// which the test holds; a mark_done of a-user's claimed message on store B meanwhile must wait
// for A, and then see A's message: a refresh that read the messages first would find nothing
// waiting, delete the row once A let go of it, and strand A's message.
TEST_CASE("pg: a transition waits for an ingest holding the user's queue row",
          "[store][pg][concurrency]") {
  const migrated_pg_database db(true);  // counts lock waits
  const auto& url = db.url();
  pg::conversation_store a(url, bounded()), b(url, bounded());
  pg::connection test(url), watch(url);
  b.ingest({msg("a-user", "a1"), msg("z-blocker", "zb0")}, 1000);
  const auto first = b.claim(req_at(2000, 100, 25, 60000));
  REQUIRE(users_of(first) == std::vector<std::string>{"a-user", "z-blocker"});

  test.exec("BEGIN");
  test.exec("SELECT head_seq FROM user_queue WHERE user_id = 'z-blocker' FOR UPDATE");
  auto group = std::async(std::launch::async, [&] {
    return a.ingest_group({{msg("a-user", "a2"), msg("z-blocker", "zb1")}}, 2100);
  });
  bool waiting = eventually([&] { return lock_waiters(watch) >= 1; });  // A, on z-blocker
  auto done =
      std::async(std::launch::async, [&] { b.mark_done("a-user", ids_of(first.users[0]), 2200); });
  waiting = waiting && eventually([&] { return lock_waiters(watch) >= 2; });  // B, on a-user
  test.exec("COMMIT");
  REQUIRE(waiting);
  REQUIRE(group.wait_for(20s) == std::future_status::ready);
  REQUIRE(done.wait_for(20s) == std::future_status::ready);
  group.get();
  done.get();

  const auto next = b.claim(req_at(3000));
  REQUIRE(users_of(next) == std::vector<std::string>{"a-user"});  // z-blocker is leased
  CHECK(contents_of(next.users[0]) == std::vector<std::string>{"a2"});
  CHECK(by_content(b, "a-user", "a1").status == message_status::done);
}
