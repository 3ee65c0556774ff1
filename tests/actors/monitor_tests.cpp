// The monitor under simulated time: samples into the history ring, alerts on a burst of
// failures (one notice, one webhook POST to a fake receiver on 127.0.0.1), resolution when the
// failures stop, and a webhook that is slow or failing never holds up the pipeline.
#include <boost/json.hpp>

#include <thread>

#include "actors/alert_webhook.hpp"
#include "actors/monitor.hpp"
#include "store/search/lexicon.hpp"
#include "tests/actors/pipeline_fixture.hpp"
#include "tests/support/fake_llm.hpp"

namespace memoryd::testing {
namespace {

// Waits (real time, at most `limit`) until the receiver has seen `n` requests.
bool wait_for_requests(const fake_llm& receiver, std::size_t n,
                       std::chrono::milliseconds limit = 5000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (receiver.requests().size() < n) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Waits (real time, at most `limit`) until the webhook has had `n` answers: the receiver sees a
// request before the webhook reads its answer.
bool wait_for_delivered(const alert_webhook& webhook, std::int64_t n,
                        std::chrono::milliseconds limit = 10000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (webhook.delivered() < n) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

struct monitor_fixture : pipeline_fixture {
  std::shared_ptr<scripted_backend> backend = std::make_shared<scripted_backend>();
  fake_llm receiver;
  std::shared_ptr<alert_webhook> webhook;
  monitor_actor monitor;
  std::vector<alert_state> crossings;

  explicit monitor_fixture(alert_webhook_options wo = {}) {
    // WordNet is read by the first fact write (7 s in a sanitizer build); read it here, so no
    // cycle below waits for it while a test orders the cycle against the webhook's answer.
    static_cast<void>(search::lexicon::shared());
    with_backend(backend, 2);
    wo.url = receiver.url() + "/hooks/alerts";
    if (wo.retry_base == std::chrono::milliseconds(1000)) wo.retry_base = 50ms;
    webhook = std::make_shared<alert_webhook>(wo);
    monitor_options mo;
    mo.interval = 10000ms;
    mo.rules.failure_rate = 0.5;
    mo.rules.min_attempts = 3;
    mo.rules.window_ms = 60000;
    mo.rules.oldest_pending_ms = 0;
    mo.rules.dead_letters = 0;
    mo.notify = [this](const alert_state& s, millis window) {
      crossings.push_back(s);
      webhook->notify(s, window, 0);
    };
    monitor = keep(spawn_monitor(sys, persistence, batcher, mo));
    sched.run();
  }

  // Six users whose extraction fails (transient: retried with backoff until max_attempts).
  void burst() {
    for (int i = 0; i < 6; ++i) {
      const auto u = "bad" + std::to_string(i);
      backend->fail[u] = failure_kind::transient;
      say(u, "I like tea.");
    }
    ask<cycle_result>(batcher, run_atom_v);
  }

  std::vector<alert_state> states() { return ask<std::vector<alert_state>>(monitor, alerts_atom_v); }
};

TEST_CASE_METHOD(monitor_fixture, "a burst of failures raises one alert and one webhook call, "
                                  "and recovery resolves it") {
  for (int i = 0; i < 20; ++i) receiver.push(fake_response{});  // 200s
  advance(10000ms);
  CHECK(crossings.empty());
  burst();
  advance(10000ms);  // the next sample sees 6 of 6 extractions failed
  REQUIRE(crossings.size() == 1);
  CHECK(crossings[0].alert == "failure_rate");
  CHECK(crossings[0].active);
  CHECK(states()[0].active);
  REQUIRE(wait_for_requests(receiver, 1));
  // The retries keep failing and later samples still see the rate: no second alert or call.
  advance(40000ms);
  std::this_thread::sleep_for(200ms);
  CHECK(crossings.size() == 1);
  CHECK(receiver.requests().size() == 1);
  const auto first = receiver.requests().at(0);
  CHECK(first.method == "POST");
  CHECK(first.target == "/hooks/alerts");
  CHECK(first.headers.at("content-type") == "application/json");
  auto body = boost::json::parse(first.body).as_object();
  CHECK(body.at("alert").as_string() == "failure_rate");
  CHECK(body.at("state").as_string() == "firing");
  CHECK(body.at("value").as_double() == 1.0);
  CHECK(body.at("threshold").as_double() == 0.5);
  CHECK(std::string(body.at("text").as_string().c_str()).rfind("memoryd alert: extraction failure rate 100%", 0) == 0);

  // Recovery: the backend answers again; new users succeed; the failures age out of the window.
  backend->fail.clear();
  for (int i = 0; i < 5; ++i) say("good" + std::to_string(i), "I like coffee.");
  ask<cycle_result>(batcher, run_atom_v);
  advance(70000ms);
  REQUIRE(crossings.size() == 2);
  CHECK_FALSE(crossings[1].active);
  CHECK_FALSE(states()[0].active);
  REQUIRE(wait_for_requests(receiver, 2));
  auto resolved = boost::json::parse(receiver.requests().at(1).body).as_object();
  CHECK(resolved.at("state").as_string() == "resolved");
  CHECK(wait_for_delivered(*webhook, 2));
  CHECK(webhook->delivered() == 2);
}

TEST_CASE_METHOD(monitor_fixture, "the history holds a sample per interval with the deltas") {
  advance(20000ms);
  say("alice", "I live in New York.");
  backend->fail["bob"] = failure_kind::permanent;
  say("bob", "I like tea.");
  ask<cycle_result>(batcher, run_atom_v);
  advance(10000ms);
  auto w = ask<history_window>(monitor, proc_hist_atom_v, millis{3600000});
  CHECK(w.interval_ms == 10000);
  REQUIRE(w.samples.size() == 4);  // at start, +10 s, +20 s, +30 s
  CHECK(w.samples[3].at - w.samples[0].at == 30000);
  const auto& s = w.samples[3];
  CHECK(s.processed == 1);
  CHECK(s.dead_lettered == 1);
  CHECK(s.extractions[kResultOk] == 1);
  CHECK(s.extractions[result_index(failure_kind::permanent)] == 1);
  CHECK(s.queue_known);
  CHECK(s.dead == 1);
  CHECK(w.samples[2].processed == 0);
  CHECK(ask<history_window>(monitor, proc_hist_atom_v, millis{15000}).samples.size() == 2);
}

struct slow_receiver_fixture : monitor_fixture {
  slow_receiver_fixture() : monitor_fixture(options()) {}
  static alert_webhook_options options() {
    alert_webhook_options o;
    o.retry_base = 50ms;
    o.timeout = 8000ms;
    return o;
  }
};

TEST_CASE_METHOD(slow_receiver_fixture,
                 "a failing or slow receiver is retried with backoff and never holds up the pipeline") {
  fake_response failing;
  failing.status = 500;
  receiver.push(failing);
  fake_response slow;
  slow.delay = 3000ms;
  receiver.push(slow);
  burst();
  advance(10000ms);
  REQUIRE(crossings.size() == 1);
  REQUIRE(wait_for_requests(receiver, 2));  // the 500, then the retry, which the receiver holds
  // While the receiver holds its answer, a whole cycle runs to the end: nothing in the pipeline
  // waits for the webhook. (Ordering, not a stopwatch: the cycle ends before the answer comes.)
  say("carol", "I live in Denver.");
  auto r = ask<cycle_result>(batcher, run_atom_v);
  CHECK(r.messages_processed >= 1);
  CHECK(webhook->delivered() == 0);
  CHECK(wait_for_delivered(*webhook, 1));
  CHECK(webhook->delivered() == 1);
  CHECK(webhook->failed() == 0);
}

}  // namespace
}  // namespace memoryd::testing
