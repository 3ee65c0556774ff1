// conversation store: claiming the next batch (FIFO over users, caps, leases, plans, large
// backlogs).
#include "store/postgres/conversation_store.hpp"
#include "tests/store/conversation_store_util.hpp"

using namespace memoryd;
using namespace memoryd::testing;

TEST_CASE("claim is FIFO across users with seq breaking created_at ties", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
      store_backend tb(backend.name(), "normal");
      auto& t = tb.conversations();
      const auto backlog = random_backlog(rng, n, users, 0.0);
      t.ingest(backlog, 1000);
      claims += drain_and_check(t, backlog, batch, per_user);
      CHECK(t.stats(3000).done == n);
    }
    CHECK(claims > 40);
  }
}

TEST_CASE("a leased user is skipped until the lease expires", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
  CHECK(dead.processed_at == 1200);  // when it was given up: the dead-letter list shows it
  CHECK(s.stats(1200).dead == 1);

  SECTION("a user whose only messages die leaves the queue") {
    auto later = s.claim(req_at(1300, 100, 25, 100, 1));  // a2: attempts 1 >= 1
    CHECK(later.dead_lettered == 1);
    CHECK(later.users.empty());
    CHECK(s.stats(1300).users_waiting == 0);
  }
}

TEST_CASE("dead letters in a claim do not use up the user's share", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  s.ingest({msg("alice", "a1"), msg("alice", "a2"), msg("alice", "a3"), msg("bob", "b1")}, 1000);
  auto first = s.claim(req_at(1000, 100, 2, 100, 1));
  REQUIRE(users_of(first) == std::vector<std::string>{"alice", "bob"});
  CHECK(contents_of(first.users[0]) == std::vector<std::string>{"a1", "a2"});
  s.mark_done("bob", ids_of(first.users[1]), 1001);
  // The lease ends at 1100 with a1 and a2 at max_attempts (1): the next claim dead-letters
  // them and takes what follows them, within alice's share of 2.
  auto c = s.claim(req_at(1100, 100, 2, 100, 1));
  CHECK(c.dead_lettered == 2);
  REQUIRE(users_of(c) == std::vector<std::string>{"alice"});
  CHECK(contents_of(c.users[0]) == std::vector<std::string>{"a3"});
  CHECK(by_content(s, "alice", "a2").status == message_status::dead);
  CHECK(s.stats(1100).users_waiting == 1);
}

TEST_CASE("assistant messages are never claimed", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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
    store_backend tb(backend.name(), "normal");
    auto& t = tb.conversations();
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

// SQLite's plan (EXPLAIN QUERY PLAN); PostgreSQL's is the next case.
TEST_CASE("claim query plans use indexes", "[store][conversation][sqlite]") {
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
    // The quiet period's two lookups per candidate user are correlated subqueries: the line
    // that opens each says only that; what it reads is on the lines that follow.
    if (line.find("CORRELATED SCALAR SUBQUERY") != std::string::npos) continue;
    const bool indexed = line.find("USING INDEX") != std::string::npos ||
                         line.find("USING COVERING INDEX") != std::string::npos ||
                         line.find("PRIMARY KEY") != std::string::npos;
    CHECK(indexed);
    if (line.find("user_queue") != std::string::npos) {
      queue = true;
      CHECK(line.find("user_queue_class (priority=?") != std::string::npos);  // one class
    }
    if (line.find("messages") != std::string::npos) {
      messages = true;
      CHECK(line.find("SEARCH") != std::string::npos);  // not a SCAN of messages
      // (user_id, seq > head - 1): the walk starts at the user's head, so a user's processed
      // history is never read; the head's own row is read by its key.
      const bool from_head = line.find("messages_user_seq") != std::string::npos &&
                             (line.find("seq>?") != std::string::npos);
      // A claimed message's context: the user's entry right before it (descending, LIMIT 1).
      const bool context =
          line.find("SEARCH p USING INDEX messages_user_seq (user_id=? AND seq<?)") !=
          std::string::npos;
      CHECK((from_head || context ||
             line.find("INTEGER PRIMARY KEY (rowid=?)") != std::string::npos));
    }
  }
  CHECK(queue);
  CHECK(messages);
}

// The planner's choice means something only when a sequential scan could be cheaper: with
// a few rows it is, whatever the indexes. So the tables hold 2,000 waiting users and 40,000
// messages, 3/4 of them processed (as in a live queue), with fresh statistics; the planner
// runs with its defaults (enable_seqscan on). Without user_queue_class the same data gets a
// scan or a sort of user_queue: the check below can fail.
TEST_CASE("pg: the claim's plan walks user_queue_class and messages_waiting",
          "[store][conversation][pg]") {
  store_backend backend("postgres");
  auto& s = dynamic_cast<pg::conversation_store&>(backend.conversations());
  auto& t = backend.conversation_tables();
  std::vector<new_message> msgs;
  for (int j = 0; j < 20; ++j)
    for (int i = 0; i < 2000; ++i) msgs.push_back(msg("u" + std::to_string(i), std::to_string(j)));
  s.ingest(msgs, 1000);
  // Processing 30,000 messages through the store would take the test's whole budget: the
  // first 15 of each user are marked done here, and the heads moved past them, as
  // mark_done would.
  t.exec("UPDATE messages SET status = 'done', memory_processed_at = 2000 WHERE content::int < 15");
  t.exec(
      "UPDATE user_queue q SET head_seq = (SELECT min(seq) FROM messages m "
      "WHERE m.user_id = q.user_id AND m.status = 'pending')");
  t.exec("ANALYZE");
  auto uses = [](const std::vector<std::string>& plan, const std::string& what) {
    return std::any_of(plan.begin(), plan.end(),
                       [&](const std::string& l) { return l.find(what) != std::string::npos; });
  };
  auto text = [](const std::vector<std::string>& plan) {
    std::string out;
    for (const auto& l : plan) out += l + "\n";
    return out;
  };
  const auto plan = s.explain_claim();
  INFO(text(plan));
  CHECK(uses(plan, "Index Scan using user_queue_class on user_queue"));  // FIFO order, LIMIT
  // An ordered index scan that stops at the user's share: a bitmap scan would read and sort
  // all of a user's waiting messages (a user with half the backlog: O(backlog) per claim).
  // The planner prefers the bitmap when it expects ~2 waiting messages per user, as here.
  CHECK(uses(plan, "Index Scan using messages_waiting on messages"));
  CHECK_FALSE(uses(plan, "Bitmap"));
  CHECK_FALSE(uses(plan, "Seq Scan"));
  // A claimed message's context: one entry, read backward from the message.
  CHECK(uses(plan, "Index Scan Backward using messages_user_seq on messages p"));
  CHECK(s.claim(req_at(3000, 10, 5)).users.size() == 2);  // and the claim itself works

  t.exec("DROP INDEX user_queue_class");
  t.exec("ANALYZE");
  const auto without = s.explain_claim();
  INFO(text(without));
  CHECK((uses(without, "Seq Scan on user_queue") || uses(without, "Sort")));
}

TEST_CASE("claim over a large backlog picks the right users", "[store][conversation][bulk]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
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

TEST_CASE("a claimed message carries the assistant turn right before it", "[store][conversation]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  // Another user's assistant turn between alice's messages is not alice's context; a user
  // message between the question and the reply takes the context over.
  s.ingest(
      {msg("alice", "Are you married?", 100, {}, "assistant"), msg("alice", "No, not yet.", 200),
       msg("bob", "What about you?", 250, {}, "assistant"), msg("alice", "I have a cat", 300),
       msg("alice", "What is its name?", 400, {}, "assistant"), msg("bob", "hi", 450),
       msg("alice", "Max", 500), msg("carol", "first words", 600)},
      1000);
  auto asking = [](claim_request r) {
    r.with_context = true;  // as the batcher does for an LLM extractor
    return r;
  };
  auto c = s.claim(asking(req_at(1000, 100, 2)));
  REQUIRE(users_of(c) == std::vector<std::string>{"alice", "bob", "carol"});
  REQUIRE(contents_of(c.users[0]) == std::vector<std::string>{"No, not yet.", "I have a cat"});
  CHECK(c.users[0].messages[0].context_before == "Are you married?");
  CHECK(c.users[0].messages[1].context_before.empty());  // its previous message is alice's own
  CHECK(c.users[1].messages[0].context_before == "What about you?");
  CHECK(c.users[2].messages[0].context_before.empty());  // nothing before
  // The user's next claim, after the first is done: the context of a message that waited.
  s.mark_done("alice", ids_of(c.users[0]), 1000);
  auto next = s.claim(asking(req_at(1000, 100, 2)));
  REQUIRE(users_of(next) == std::vector<std::string>{"alice"});
  REQUIRE(contents_of(next.users[0]) == std::vector<std::string>{"Max"});
  CHECK(next.users[0].messages[0].context_before == "What is its name?");
  // A claim that does not ask (the rules extractor) reads no context.
  s.release("alice", ids_of(next.users[0]));
  auto plain = s.claim(req_at(1000, 100, 2));
  REQUIRE(users_of(plain) == std::vector<std::string>{"alice"});
  REQUIRE(contents_of(plain.users[0]) == std::vector<std::string>{"Max"});
  CHECK(plain.users[0].messages[0].context_before.empty());
}
