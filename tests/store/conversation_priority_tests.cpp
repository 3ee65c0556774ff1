// Priorities and the quiet period in the per-user queue (DESIGN §5, issue 18), on both
// backends: live before backfill with backfill's share kept, a user's class following their
// waiting messages, per-user order across classes, the quiet period and its bound, and the
// counts per class.
#include "tests/store/conversation_store_util.hpp"

namespace memoryd::testing {
namespace {

new_message backfill(const std::string& user, const std::string& content, millis at = 1000) {
  auto m = msg(user, content, at);
  m.priority = message_priority::backfill;
  return m;
}

std::int32_t claimed(const claim_result& r, message_priority p) {
  std::int32_t n = 0;
  for (const auto& u : r.users)
    for (const auto& m : u.messages) n += m.priority == p ? 1 : 0;
  return n;
}

void finish(conversation_store& s, const claim_result& r, millis now) {
  for (const auto& u : r.users) s.mark_done(u.user_id, ids_of(u), now, "", u.lease_until);
}

TEST_CASE("live users are claimed first and backfill keeps its share",
          "[store][conversation][priority]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  std::vector<new_message> msgs;
  // Backfill arrived first (older heads): FIFO alone would give it the whole batch.
  for (int i = 0; i < 50; ++i) msgs.push_back(backfill("b" + std::to_string(100 + i), "old"));
  for (int i = 0; i < 50; ++i) msgs.push_back(msg("l" + std::to_string(100 + i), "new"));
  s.ingest(msgs, 1000);

  auto r = s.claim(req_at(2000, 20, 5));
  // 20 x 0.2 = 4 owed to backfill; live takes the other 16, oldest first in each class.
  CHECK(claimed(r, message_priority::live) == 16);
  CHECK(claimed(r, message_priority::backfill) == 4);
  REQUIRE(r.users.size() == 20);
  CHECK(r.users.front().user_id == "l100");
  CHECK(r.users[15].user_id == "l115");
  CHECK(r.users[16].user_id == "b100");  // backfill in its own FIFO order
  CHECK(r.users[19].user_id == "b103");

  // With no live work left, backfill takes the whole batch.
  auto req = req_at(3000, 100, 5);
  req.backfill_share = 0.2;
  finish(s, r, 2500);
  auto all = s.claim(req);
  CHECK(claimed(all, message_priority::live) == 34);
  CHECK(claimed(all, message_priority::backfill) == 46);

  // Backfill's share is owed only while backfill waits: here it is all leased.
  for (int i = 0; i < 5; ++i) s.ingest({msg("late" + std::to_string(i), "x")}, 3500);
  auto live_only = s.claim(req_at(3600, 5, 5));
  CHECK(claimed(live_only, message_priority::live) == 5);
}

TEST_CASE("backfill's share is rounded up and 0 turns it off", "[store][conversation][priority]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  std::vector<new_message> msgs;
  for (int i = 0; i < 30; ++i) msgs.push_back(backfill("b" + std::to_string(100 + i), "old"));
  for (int i = 0; i < 30; ++i) msgs.push_back(msg("l" + std::to_string(100 + i), "new"));
  s.ingest(msgs, 1000);
  auto req = req_at(2000, 7, 1);
  req.backfill_share = 0.3;  // 2.1 -> 3
  auto r = s.claim(req);
  CHECK(claimed(r, message_priority::backfill) == 3);
  CHECK(claimed(r, message_priority::live) == 4);
  req.backfill_share = 0;
  auto none = s.claim(req);
  CHECK(claimed(none, message_priority::backfill) == 0);
  CHECK(claimed(none, message_priority::live) == 7);
}

TEST_CASE("a live message makes its user live, older backfill first, and the user goes back",
          "[store][conversation][priority]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  std::vector<new_message> history;
  for (int i = 0; i < 6; ++i) history.push_back(backfill("mixed", "h" + std::to_string(i)));
  for (int i = 0; i < 3; ++i) history.push_back(backfill("other" + std::to_string(i), "o"));
  s.ingest(history, 1000);
  s.ingest({msg("mixed", "I moved to Denver")}, 1100);
  s.ingest({backfill("mixed", "h6")}, 1200);  // more history after the live message
  auto st = s.stats(1500);
  CHECK(st.live.users_waiting == 1);
  CHECK(st.backfill.users_waiting == 3);
  CHECK(st.live.messages_waiting == 1);
  CHECK(st.backfill.messages_waiting == 10);

  // A batch of 4, none owed to backfill: the live user only, with their history first.
  auto req = req_at(2000, 4, 4);
  req.backfill_share = 0;
  auto r1 = s.claim(req);
  REQUIRE(users_of(r1) == std::vector<std::string>{"mixed"});
  CHECK(contents_of(r1.users[0]) == std::vector<std::string>{"h0", "h1", "h2", "h3"});
  finish(s, r1, 2100);
  req.now = 2200;
  req.batch_size = 2;
  auto r2 = s.claim(req);
  REQUIRE(users_of(r2) == std::vector<std::string>{"mixed"});  // still live: Denver waits
  CHECK(contents_of(r2.users[0]) == std::vector<std::string>{"h4", "h5"});
  finish(s, r2, 2300);
  req.now = 2400;
  auto r3 = s.claim(req);
  REQUIRE(users_of(r3).front() == "mixed");
  CHECK(contents_of(r3.users[0]) == std::vector<std::string>{"I moved to Denver", "h6"});
  CHECK(r3.users[0].messages[0].priority == message_priority::live);
  CHECK(r3.users[0].messages[1].priority == message_priority::backfill);
  s.schedule_retry("mixed", {r3.users[0].messages[1].id}, "later", 2500, r3.users[0].lease_until);
  s.mark_done("mixed", {r3.users[0].messages[0].id}, 2450, "", r3.users[0].lease_until);
  // Only backfill of "mixed" waits now: the user is backfill again.
  auto after = s.stats(3000);
  CHECK(after.live.users_waiting == 0);
  CHECK(after.backfill.users_waiting == 4);
  CHECK(by_content(s, "mixed", "h6").priority == message_priority::backfill);
  CHECK(by_content(s, "mixed", "I moved to Denver").priority == message_priority::live);
}

TEST_CASE("a live message put back from the dead letters makes its user live",
          "[store][conversation][priority]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  s.ingest({msg("u", "live one")}, 1000);
  auto r = s.claim(req_at(2000));
  REQUIRE(r.users.size() == 1);
  s.dead_letter("u", ids_of(r.users[0]), "boom", 2100, r.users[0].lease_until);
  s.ingest({backfill("u", "history")}, 2200);
  CHECK(s.stats(2300).backfill.users_waiting == 1);
  CHECK(s.retry_dead({}, 2400) == 1);
  auto st = s.stats(2500);
  CHECK(st.live.users_waiting == 1);
  CHECK(st.backfill.users_waiting == 0);
  auto req = req_at(2600);
  req.backfill_share = 0;
  auto again = s.claim(req);
  REQUIRE(again.users.size() == 1);
  CHECK(contents_of(again.users[0]) == std::vector<std::string>{"live one", "history"});
}

TEST_CASE("the quiet period waits for a user's last message, max_wait_ms bounds it",
          "[store][conversation][quiet]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  // "thread" writes five messages two seconds apart; "early" wrote once, long ago.
  s.ingest({msg("early", "one", 1'000)}, 1'000);
  for (int i = 0; i < 5; ++i)
    s.ingest({msg("thread", "part " + std::to_string(i), 10'000 + i * 2'000)}, 10'000 + i * 2'000);
  auto quiet = [](millis now) {
    auto r = req_at(now, 100, 25, 60'000);
    r.quiet_ms = 5'000;
    r.max_wait_ms = 600'000;
    return r;
  };
  auto r1 = s.claim(quiet(22'999));  // "thread"'s last message is 4,999 ms old
  CHECK(users_of(r1) == std::vector<std::string>{"early"});
  auto r2 = s.claim(quiet(23'000));
  REQUIRE(users_of(r2) == std::vector<std::string>{"thread"});
  CHECK(r2.users[0].messages.size() == 5);  // the whole thought in one batch
  finish(s, r1, 23'100);
  finish(s, r2, 23'100);

  // A user who never goes quiet is claimed once their oldest waiting message is max_wait old.
  auto bounded = [&](millis now) {
    auto r = quiet(now);
    r.max_wait_ms = 15'000;
    return r;
  };
  for (int i = 0; i < 15; ++i)
    s.ingest({msg("chatty", "m" + std::to_string(i), 100'000 + i * 1'000)}, 100'000 + i * 1'000);
  CHECK(s.claim(bounded(114'999)).users.empty());  // last 999 ms old, first 14,999
  s.ingest({msg("chatty", "m15", 115'000)}, 115'000);
  auto r3 = s.claim(bounded(115'000));  // last 0 ms old, first 15,000
  REQUIRE(users_of(r3) == std::vector<std::string>{"chatty"});
  CHECK(r3.users[0].messages.size() == 16);
  finish(s, r3, 115'100);
  // Off (0): claimed at once.
  s.ingest({msg("now", "hi", 200'000)}, 200'000);
  CHECK(users_of(s.claim(req_at(200'000))) == std::vector<std::string>{"now"});
}

TEST_CASE("the quiet period holds a retried user's batch as it holds a new one",
          "[store][conversation][quiet]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  s.ingest({msg("u", "a", 1'000)}, 1'000);
  auto req = req_at(10'000, 100, 25, 60'000);
  req.quiet_ms = 5'000;
  auto r = s.claim(req);
  REQUIRE(r.users.size() == 1);
  s.schedule_retry("u", ids_of(r.users[0]), "transient", 12'000, r.users[0].lease_until);
  s.ingest({msg("u", "b", 11'000)}, 11'000);
  req.now = 12'000;  // retry due, but "b" is 1 s old
  CHECK(s.claim(req).users.empty());
  req.now = 16'000;
  auto again = s.claim(req);
  REQUIRE(again.users.size() == 1);
  CHECK(contents_of(again.users[0]) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("stats count waiting users, messages and the oldest age per class",
          "[store][conversation][priority]") {
  FOR_EACH_BACKEND(backend);
  auto& s = backend.conversations();
  s.ingest({backfill("b1", "x", 1'000), backfill("b1", "y", 1'500), backfill("b2", "z", 2'000)},
           5'000);
  s.ingest({msg("l1", "x", 4'000), msg("l1", "reply", 4'100, "", "assistant")}, 5'000);
  auto st = s.stats(10'000);
  CHECK(st.pending == 4);
  CHECK(st.skipped == 1);
  CHECK(st.live.users_waiting == 1);
  CHECK(st.live.messages_waiting == 1);
  CHECK(st.live.oldest_age_ms == 6'000);
  CHECK(st.backfill.users_waiting == 2);
  CHECK(st.backfill.messages_waiting == 3);
  CHECK(st.backfill.oldest_age_ms == 9'000);
  CHECK(st.users_waiting == 3);
  CHECK(st.oldest_pending_age_ms == 9'000);
}

}  // namespace
}  // namespace memoryd::testing
