// The processor history ring, its downsampling and quantiles, and the alert rules on it.
#include <catch2/catch.hpp>

#include "domain/alerts.hpp"
#include "domain/processor_history.hpp"

using namespace memoryd;

namespace {

history_sample at(millis t, std::uint32_t ok = 0, std::uint32_t failed = 0,
                  std::uint32_t dead = 0, millis oldest = 0) {
  history_sample s;
  s.at = t;
  s.queue_known = true;
  s.oldest_pending_age_ms = oldest;
  s.extractions[kResultOk] = ok;
  s.extractions[result_index(failure_kind::transient)] = failed;
  s.dead_lettered = dead;
  return s;
}

}  // namespace

TEST_CASE("the history ring keeps the newest samples up to its capacity") {
  history_ring r(3);
  CHECK(r.since(0).empty());
  CHECK(r.latest() == nullptr);
  for (millis t = 1; t <= 5; ++t) r.push(at(t * 10));
  CHECK(r.size() == 3);
  auto all = r.since(0);
  REQUIRE(all.size() == 3);
  CHECK(all[0].at == 30);
  CHECK(all[2].at == 50);
  CHECK(r.since(40).size() == 1);
  CHECK(r.latest()->at == 50);
}

TEST_CASE("the history ring's memory is what the docs say") {
  // docs/ARCHITECTURE.md and config/memoryd.toml: 8,640 samples of 176 bytes, 1.45 MiB.
  CHECK(kHistoryCapacity == 8640);
  CHECK(sizeof(history_sample) == 176);
  CHECK(kHistoryCapacity * sizeof(history_sample) == 1520640);  // 1.45 MiB
}

TEST_CASE("a sample holds the counters' deltas and the queue") {
  processor_status before, now;
  before.cycles = 2;
  before.messages_processed = 10;
  before.extractions[kResultOk] = 5;
  now = before;
  now.cycles = 3;
  now.messages_processed = 14;
  now.dead_lettered = 2;
  now.extractions[kResultOk] = 7;
  now.extractions[result_index(failure_kind::permanent)] = 1;
  now.latency[latency_bucket(0.7)] = 2;
  queue_stats q;
  q.pending = 4;
  q.oldest_pending_age_ms = 1234;
  auto s = make_sample(99, before, now, &q);
  CHECK(s.at == 99);
  CHECK(s.cycles == 1);
  CHECK(s.processed == 4);
  CHECK(s.dead_lettered == 2);
  CHECK(s.extractions[kResultOk] == 2);
  CHECK(s.extractions[result_index(failure_kind::permanent)] == 1);
  CHECK(s.latency[0] == 2);
  CHECK(s.queue_known);
  CHECK(s.pending == 4);
  CHECK(s.oldest_pending_age_ms == 1234);
  CHECK_FALSE(make_sample(99, before, now, nullptr).queue_known);
}

TEST_CASE("downsampling adds counters up and keeps the last queue and the largest age") {
  std::vector<history_sample> in = {at(10, 1, 0, 0, 500), at(20, 2, 1, 1, 900), at(30, 4, 0, 0, 100)};
  in[1].pending = 7;
  in[2].queue_known = false;
  auto out = downsample(in, 2);
  REQUIRE(out.size() == 2);
  CHECK(out[0].at == 20);
  CHECK(out[0].extractions[kResultOk] == 3);
  CHECK(out[0].extractions[result_index(failure_kind::transient)] == 1);
  CHECK(out[0].dead_lettered == 1);
  CHECK(out[0].pending == 7);
  CHECK(out[0].oldest_pending_age_ms == 900);
  CHECK(out[1].extractions[kResultOk] == 4);
  CHECK_FALSE(out[1].queue_known);
  CHECK(downsample(in, 1).size() == 3);
}

TEST_CASE("latency quantiles interpolate within their bucket") {
  std::array<std::uint32_t, kLatencyBounds + 1> h{};
  CHECK(latency_quantile(h, 0.5) == -1);
  h[latency_bucket(0.5)] = 100;  // all in (0, 1] ms
  CHECK(latency_quantile(h, 0.5) == Approx(0.5));
  CHECK(latency_quantile(h, 0.99) == Approx(0.99));
  h[latency_bucket(200)] = 100;  // and as many in (100, 250] ms
  CHECK(latency_quantile(h, 0.5) == Approx(1));
  CHECK(latency_quantile(h, 0.99) == Approx(100 + 150 * 0.98));
  h[kLatencyBounds] = 1000;  // slower than the last bound: that bound
  CHECK(latency_quantile(h, 0.99) == Approx(60000));
}

TEST_CASE("an alert fires once when its value reaches the threshold and resolves once") {
  alert_rules rules;
  rules.failure_rate = 0.5;
  rules.min_attempts = 4;
  rules.window_ms = 30000;
  rules.oldest_pending_ms = 0;  // off
  rules.dead_letters = 0;       // off
  alert_evaluator e(rules);
  history_ring r;
  r.push(at(10000, 1, 1));
  CHECK(e.evaluate(r, 10000).empty());  // 2 attempts: too few for a verdict
  r.push(at(20000, 0, 4));
  auto fired = e.evaluate(r, 20000);  // 5 of 6 failed
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].state.alert == "failure_rate");
  CHECK(fired[0].state.active);
  CHECK(fired[0].state.value == Approx(5.0 / 6));
  CHECK(fired[0].state.since == 20000);
  r.push(at(30000, 0, 2));
  CHECK(e.evaluate(r, 30000).empty());  // still firing: no second notice
  CHECK(e.states()[0].active);
  // The failures leave the window and successes come in.
  for (millis t = 40000; t <= 60000; t += 10000) r.push(at(t, 10, 0));
  auto resolved = e.evaluate(r, 60000);
  REQUIRE(resolved.size() == 1);
  CHECK_FALSE(resolved[0].state.active);
  CHECK(resolved[0].state.since == 0);
  CHECK_FALSE(e.states()[1].enabled);
  CHECK_FALSE(e.states()[2].enabled);
}

TEST_CASE("oldest pending and dead letters alerts") {
  alert_rules rules;
  rules.failure_rate = 0;
  rules.oldest_pending_ms = 60000;
  rules.dead_letters = 3;
  rules.window_ms = 20000;
  alert_evaluator e(rules);
  history_ring r;
  r.push(at(10000, 0, 0, 2, 59999));
  CHECK(e.evaluate(r, 10000).empty());
  r.push(at(20000, 0, 0, 1, 60000));
  auto c = e.evaluate(r, 20000);
  REQUIRE(c.size() == 2);
  CHECK(c[0].state.alert == "oldest_pending");
  CHECK(c[1].state.alert == "dead_letters");
  CHECK(c[1].state.value == 3);
  r.push(at(30000, 0, 0, 0, 10));  // the first dead letters left the 20 s window
  auto resolved = e.evaluate(r, 30000);
  REQUIRE(resolved.size() == 2);
  CHECK_FALSE(resolved[0].state.active);
  CHECK_FALSE(resolved[1].state.active);
}

TEST_CASE("alert texts say what, how much and the threshold") {
  alert_state s;
  s.alert = "failure_rate";
  s.active = true;
  s.value = 0.853;
  s.threshold = 0.2;
  CHECK(alert_text(s, 300000) ==
        "memoryd alert: extraction failure rate 85% over the last 5 min (threshold 20%)");
  s.alert = "oldest_pending";
  s.active = false;
  s.value = 45000;
  s.threshold = 1800000;
  CHECK(alert_text(s, 300000) ==
        "memoryd resolved: the oldest pending message has waited 45 s (threshold 30 min)");
  s.alert = "dead_letters";
  s.active = true;
  s.value = 12;
  s.threshold = 1;
  CHECK(alert_text(s, 60000) ==
        "memoryd alert: 12 messages dead-lettered in the last 60 s (threshold 1)");
}
