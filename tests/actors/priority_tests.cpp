// Scheduling under simulated time (issue 18): a live message's lag behind a large backfill,
// backfill's share under saturating live traffic, and the quiet period with its bound. The
// pipeline is the real batcher and persistence on SQLite files, with fake extractors that
// take a set time.
#include "tests/actors/pipeline_fixture.hpp"

#include "actors/ticker.hpp"

namespace memoryd::testing {
namespace {

new_message message(const std::string& user, const std::string& text, message_priority p,
                    millis at = 0) {
  new_message m{user, "user", text, "sms", "", at};
  m.priority = p;
  return m;
}

// Advances simulated time in steps of `step` until `done` holds or `limit` has passed;
// answers the time it took.
template <class Fixture, class Pred>
std::chrono::milliseconds advance_until(Fixture& f, Pred done, std::chrono::milliseconds limit,
                                        std::chrono::milliseconds step = 50ms) {
  std::chrono::milliseconds waited{0};
  while (!done() && waited < limit) {
    f.advance(step);
    waited += step;
  }
  return waited;
}

TEST_CASE_METHOD(pipeline_fixture,
                 "a live message waits at most one interval and one cycle behind 100,000 "
                 "backfill messages") {
  auto p = std::make_shared<probe>();
  opts.drain_backlog = false;  // one claim per tick: the lag is the scheduling's alone
  p->default_delay = 200ms;    // an extraction; a cycle of 100 (10 users) on 4 extractors: 600 ms
  std::vector<new_message> backlog;
  for (int u = 0; u < 10'000; ++u) {
    for (int k = 0; k < 10; ++k)
      backlog.push_back(message("b" + std::to_string(u), "history", message_priority::backfill));
    if (backlog.size() >= 10'000) {
      conv->ingest(backlog, 1000);
      backlog.clear();
    }
  }
  with_fake(p, 4);
  keep(spawn_ticker(sys, batcher, 1000ms));
  advance(2500ms);  // two cycles of backfill
  CHECK(p->seen.size() == 200);
  conv->ingest({message("alice", "I moved to Denver", message_priority::live)}, 1000);
  const auto lag = advance_until(
      *this, [&] { return messages("alice").front().status == message_status::done; }, 10'000ms);
  INFO("lag " << lag.count() << " ms");
  CHECK(lag <= 1000ms + 600ms);  // the next tick, then its cycle
  // The cycle that took alice still gave backfill the rest of its batch.
  advance(500ms);  // its last extractions (before the next tick)
  CHECK(p->seen.size() == 300);
  CHECK(conv->stats(wall_clock_ms()).backfill.messages_waiting == 100'000 - 299);
}

TEST_CASE_METHOD(pipeline_fixture,
                 "backfill keeps its share under saturating live traffic, "
                 "and drains when live traffic stops") {
  auto p = std::make_shared<probe>();
  opts.drain_backlog = false;
  opts.backfill_share = 0.2;
  std::vector<new_message> backlog;
  for (int u = 0; u < 200; ++u)
    for (int k = 0; k < 10; ++k)
      backlog.push_back(message("b" + std::to_string(u), "history", message_priority::backfill));
  conv->ingest(backlog, 1000);
  with_fake(p, 4);
  keep(spawn_ticker(sys, batcher, 1000ms));
  int next_user = 0;
  for (int tick = 1; tick <= 10; ++tick) {
    // 100 live messages from new users before each tick: more than a batch can take.
    std::vector<new_message> live;
    for (int i = 0; i < 100; ++i)
      live.push_back(message("l" + std::to_string(next_user++), "now", message_priority::live));
    conv->ingest(live, 1000);
    advance(1000ms);
    auto st = conv->stats(wall_clock_ms());
    INFO("tick " << tick);
    CHECK(st.backfill.messages_waiting == 2000 - 20 * tick);  // 20 of each batch of 100
    CHECK(st.live.messages_waiting == 20 * tick);             // live got the other 80
  }
  // Live traffic stops: live drains first, then backfill.
  advance(30'000ms);
  auto st = conv->stats(wall_clock_ms());
  CHECK(st.live.messages_waiting == 0);
  CHECK(st.backfill.messages_waiting == 0);
  CHECK(st.done == 3000);
}

TEST_CASE_METHOD(pipeline_fixture,
                 "five messages two seconds apart with quiet_ms 5000 make one extraction") {
  auto p = std::make_shared<probe>();
  opts.quiet_ms = 5000;
  const millis base = wall_clock_ms();  // the batcher's clock starts at or after this
  with_fake(p, 2);
  keep(spawn_ticker(sys, batcher, 1000ms));
  const std::vector<std::string> parts = {"I have a dog", "his name is Max", "he's a beagle",
                                          "he is 3", "he loves the park"};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) advance(2000ms);
    const millis at = base + static_cast<millis>(i) * 2000;
    conv->ingest({message("+15550001", parts[i], message_priority::live, at)}, at);
  }
  advance(4500ms);  // t = 12.5 s: the last message is 4.5 s old
  CHECK(p->batches["+15550001"].empty());
  advance(1500ms);  // t = 14 s: quiet since 13 s
  CHECK(p->batches["+15550001"] == std::vector<std::size_t>{5});
  CHECK(statuses()["done"] == 5);
}

TEST_CASE_METHOD(pipeline_fixture, "max_wait_ms bounds the wait of a user who never goes quiet") {
  auto p = std::make_shared<probe>();
  opts.quiet_ms = 5000;
  opts.max_wait_ms = 10'000;
  const millis base = wall_clock_ms();
  with_fake(p, 2);
  keep(spawn_ticker(sys, batcher, 1000ms));
  // A message every second for 30 s: never 5 s of quiet.
  std::vector<std::size_t> first_seen_at;
  for (int s = 0; s < 30; ++s) {
    const millis at = base + s * 1000;
    conv->ingest({message("chatty", "m" + std::to_string(s), message_priority::live, at)}, at);
    advance(1000ms);
    if (first_seen_at.empty() && !p->batches["chatty"].empty())
      first_seen_at.push_back(static_cast<std::size_t>(s));
  }
  REQUIRE(first_seen_at.size() == 1);
  // The oldest message (t = 0) is 10 s old at t = 10 s: the tick then, or the next, takes it.
  CHECK(first_seen_at[0] >= 9);
  CHECK(first_seen_at[0] <= 10);
  // Later batches are bounded the same way: 30 messages in batches of about 10.
  std::size_t total = 0;
  for (auto n : p->batches["chatty"]) {
    CHECK(n >= 9);
    total += n;
  }
  CHECK(p->batches["chatty"].size() >= 2);
  CHECK(total <= 30);
}

}  // namespace
}  // namespace memoryd::testing
