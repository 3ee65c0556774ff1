// conversation store: what happens to claimed messages (done, retry, dead, release, revive), and
// stats.
#include "tests/store/conversation_store_util.hpp"

using namespace memoryd;
using namespace memoryd::testing;

TEST_CASE("mark_done records processed time and the note", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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

TEST_CASE("an outcome that comes after its lease ended changes nothing of the next claim's",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  s.ingest({msg("alice", "a1"), msg("alice", "a2")}, 1000);
  auto first = s.claim(req_at(1000, 100, 25, 100));
  REQUIRE(users_of(first) == std::vector<std::string>{"alice"});
  CHECK(first.users[0].lease_until == 1100);
  // The first extraction outlives its lease; another claim (another instance) takes alice.
  auto second = s.claim(req_at(1100, 100, 25, 100));
  REQUIRE(users_of(second) == std::vector<std::string>{"alice"});
  CHECK(second.users[0].lease_until == 1200);
  const auto ids = ids_of(first.users[0]);
  const auto before = backend.conversation_tables().dump("messages") + backend.conversation_tables().dump("user_queue");
  // Every late outcome of the first claim finds nothing under its lease.
  s.schedule_retry("alice", ids, "late", 9000, first.users[0].lease_until);
  s.dead_letter("alice", ids, "late", 1150, first.users[0].lease_until);
  s.release("alice", ids, first.users[0].lease_until);
  s.mark_done("alice", ids, 1150, "", first.users[0].lease_until);
  CHECK(backend.conversation_tables().dump("messages") + backend.conversation_tables().dump("user_queue") == before);
  CHECK(s.claim(req_at(1150, 100, 25, 100)).users.empty());  // still gated by the second
  // The current claim's outcome lands.
  s.mark_done("alice", ids, 1160, "", second.users[0].lease_until);
  CHECK(by_content(s, "alice", "a1").status == message_status::done);
  CHECK(by_content(s, "alice", "a2").status == message_status::done);
  CHECK(s.stats(1200).users_waiting == 0);
}

TEST_CASE("schedule_retry blocks the user and their later messages until retry_at",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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

TEST_CASE("dead_letter keeps the message visible with the time it was given up",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  s.ingest({msg("alice", "a1"), msg("alice", "a2")}, 1000);
  auto c = s.claim(req_at(1000, 100, 1));
  REQUIRE(c.users.size() == 1);
  s.dead_letter("alice", ids_of(c.users[0]), "max attempts: http 500", 1100);
  auto d = by_content(s, "alice", "a1");
  CHECK(d.status == message_status::dead);
  CHECK(d.last_error == "max attempts: http 500");
  CHECK(d.processed_at == 1100);
  // The next message becomes the head and is claimable at once.
  auto next = s.claim(req_at(1100));
  REQUIRE(users_of(next) == std::vector<std::string>{"alice"});
  CHECK(contents_of(next.users[0]) == std::vector<std::string>{"a2"});
}

TEST_CASE("release gives messages back without using an attempt", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
    CHECK(m.processed_at == 0);
    CHECK(s.stats(2000).users_waiting == 2);
    auto r = s.claim(req_at(2000));
    CHECK(users_of(r) == std::vector<std::string>{"alice", "bob"});
  }
}

TEST_CASE("retry_dead moves the head back past processed messages", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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

TEST_CASE("transitions are idempotent and only touch the user's leased messages",
          "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
      store_backend tb(backend.name());
      auto& t = tb.conversations();
      t.ingest({msg("alice", "a1"), msg("alice", "a2"), msg("bob", "b1")}, 1000);
      auto claimed = t.claim(req_at(1000));
      REQUIRE(users_of(claimed) == std::vector<std::string>{"alice", "bob"});
      const auto leased = tb.queue_state();
      second(t, "bob", ids_of(claimed.users[0]));  // alice's messages under bob's name
      CHECK(tb.queue_state() == leased);
      first(t, "alice", ids_of(claimed.users[0]));
      const auto after_first = tb.queue_state();
      CHECK(after_first != leased);
      second(t, "alice", ids_of(claimed.users[0]));
      CHECK(tb.queue_state() == after_first);
      CHECK(only(t, "bob").status == message_status::leased);
    }
  }
}

TEST_CASE("stats counts statuses and the oldest waiting message", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
