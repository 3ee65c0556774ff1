// The actor pipeline under simulated time: ticker -> batcher -> extractors -> fact writer,
// with real SQLite files.
#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <set>

#include "actors/batcher.hpp"
#include "actors/extractor.hpp"
#include "actors/fact_writer.hpp"
#include "actors/ingest_handoff.hpp"
#include "actors/persistence.hpp"
#include "actors/protocol.hpp"
#include "actors/ticker.hpp"
#include "extract/rules.hpp"
#include "store/sqlite/conversation_store.hpp"
#include "store/sqlite/memory_store.hpp"
#include "tests/support/sim_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using memoryd::testing::sim_fixture;
using memoryd::testing::temp_dir;

namespace memoryd {
namespace {

// A backend whose behaviour per user the test scripts.
struct scripted_backend : extractor_backend {
  std::map<std::string, failure_kind> fail;  // user -> failure to throw
  std::set<std::string> garbage;             // users whose "answer" cannot be parsed
  std::map<std::string, int> calls;
  rule_extractor rules;
  extraction_output extract(const extraction_input& in) override {
    calls[in.user_id]++;
    if (auto it = fail.find(in.user_id); it != fail.end())
      throw extraction_failure(it->second, "scripted failure");
    if (garbage.count(in.user_id))
      throw extraction_failure(failure_kind::unparseable, "no JSON in answer");
    return rules.extract(in);
  }
  std::string version() const override { return "scripted/1"; }
};

// Records what a fake extractor pool sees: concurrency overall and per user.
struct probe {
  int active = 0, max_active = 0, calls = 0;
  std::map<std::string, int> active_per_user;
  int max_per_user = 0;
  std::map<std::string, int> seen;                         // message id -> times extracted
  std::map<std::string, std::chrono::milliseconds> delay;  // per user; default none
};

struct fake_state {
  std::map<std::uint64_t, std::pair<caf::response_promise, std::string>> open;
  std::uint64_t next = 0;
};

// An extractor that answers after a per-user delay on the simulated clock.
caf::behavior fake_extractor(caf::stateful_actor<fake_state>* self, std::shared_ptr<probe> p) {
  auto finish = [=](const std::string& user) {
    p->active--;
    p->active_per_user[user]--;
    extract_outcome out;
    return out;
  };
  return {
      [=](extract_atom, extract_job& job) -> caf::result<extract_outcome> {
        auto& user = job.batch.user_id;
        p->calls++;
        p->max_active = std::max(p->max_active, ++p->active);
        p->max_per_user = std::max(p->max_per_user, ++p->active_per_user[user]);
        for (auto& m : job.batch.messages) p->seen[m.id]++;
        auto d = p->delay.count(user) ? p->delay[user] : 0ms;
        if (d == 0ms) return finish(user);
        auto id = self->state.next++;
        self->state.open.emplace(id, std::make_pair(self->make_response_promise(), user));
        self->delayed_send(self, d, wake_atom_v, id);
        return caf::delegated<extract_outcome>{};
      },
      [=](wake_atom, std::uint64_t id) {
        auto it = self->state.open.find(id);
        it->second.first.deliver(finish(it->second.second));
        self->state.open.erase(it);
      },
  };
}

struct pipeline_fixture : sim_fixture {
  temp_dir dir;
  std::shared_ptr<conversation_store> conv;
  std::shared_ptr<memory_store> mem;
  caf::actor persistence, fact_writer, batcher;
  std::vector<caf::actor> extractors;
  batcher_options opts;

  pipeline_fixture() {
    conv = std::make_shared<sqlite::conversation_store>(
        sqlite::store_options{dir.file("conversation.db"), "normal", 1000});
    mem = std::make_shared<sqlite::memory_store>(
        sqlite::store_options{dir.file("memory.db"), "normal", 1000});
    persistence = keep(spawn_persistence(sys, conv, {}, false));
    fact_writer = keep(spawn_fact_writer(sys, mem, {}, false));
    opts.batch_size = 100;
    opts.per_user_batch_size = 25;
    opts.max_attempts = 3;
    opts.retry_base_ms = 1000;
    opts.retry_max_ms = 60000;
    opts.lease_ms = 600000;
    opts.seed = 42;
  }

  void with_backend(std::shared_ptr<extractor_backend> backend, int pool) {
    for (int i = 0; i < pool; ++i)
      extractors.push_back(keep(spawn_extractor(sys, fact_writer, backend, {}, false)));
    batcher = keep(spawn_batcher(sys, persistence, extractors, opts));
    sched.run();
  }

  void with_fake(std::shared_ptr<probe> p, int pool) {
    for (int i = 0; i < pool; ++i) extractors.push_back(keep(sys.spawn(fake_extractor, p)));
    batcher = keep(spawn_batcher(sys, persistence, extractors, opts));
    sched.run();
  }

  void say(const std::string& user, const std::string& text, const std::string& role = "user") {
    conv->ingest({new_message{user, role, text, "sms", "", 0}}, 1000);
  }

  std::vector<stored_message> messages(const std::string& user) {
    history_query q;
    q.user_id = user;
    q.limit = 1000;
    return conv->history(q);
  }

  std::map<std::string, int> statuses() {
    std::map<std::string, int> out;
    for (auto& m : messages("")) out[m.status]++;
    return out;
  }

  std::vector<std::string> fact_texts(const std::string& user) {
    std::vector<std::string> out;
    for (auto& f : mem->active_facts(user)) out.push_back(f.text);
    return out;
  }
};

TEST_CASE_METHOD(pipeline_fixture,
                 "nothing is claimed before interval_ms and a tick processes the batch") {
  with_backend(std::make_shared<rule_extractor>(), 2);
  keep(spawn_ticker(sys, batcher, 1000ms));
  say("+15551234567", "I have a dog named Max and I'm allergic to peanuts.");
  say("+15551234567", "Nice to hear that!", "assistant");
  advance(900ms);
  CHECK(statuses()["pending"] == 1);
  CHECK(mem->active_facts("+15551234567").empty());
  advance(100ms);
  CHECK(statuses()["done"] == 1);
  CHECK(statuses()["skipped"] == 1);
  auto facts = fact_texts("+15551234567");
  CHECK(facts.size() == 2);
  CHECK(std::count(facts.begin(), facts.end(), "Has a dog named Max") == 1);
  CHECK(std::count(facts.begin(), facts.end(), "Is allergic to peanuts") == 1);
  for (auto& f : mem->active_facts("+15551234567")) {
    CHECK(f.created_at > 0);
    CHECK(f.observed_at == 1000);  // the message's time, not the processing time
    CHECK(f.source_ids.size() == 1);
  }
  for (auto& e : mem->events("+15551234567")) CHECK(e.at > 0);
}

TEST_CASE_METHOD(pipeline_fixture, "run answers the cycle result with counts") {
  with_backend(std::make_shared<rule_extractor>(), 2);
  say("alice", "I live in New York.");
  say("bob", "I love hiking.");
  say("bob", "what time is it?");
  auto r = ask<cycle_result>(batcher, run_atom_v);
  CHECK(r.users == 2);
  CHECK(r.messages_processed == 3);
  CHECK(r.facts_written == 2);
  CHECK(r.errors == 0);
  auto again = ask<cycle_result>(batcher, run_atom_v);
  CHECK(again.messages_processed == 0);
  CHECK(again.users == 0);
}

TEST_CASE_METHOD(pipeline_fixture, "a later statement supersedes the earlier one across cycles") {
  with_backend(std::make_shared<rule_extractor>(), 1);
  say("alice", "I live in New York.");
  ask<cycle_result>(batcher, run_atom_v);
  say("alice", "I moved to Boston.");
  ask<cycle_result>(batcher, run_atom_v);
  CHECK(fact_texts("alice") == std::vector<std::string>{"Lives in Boston"});
  auto events = mem->events("alice");
  REQUIRE(events.size() == 2);
  CHECK(events[1].kind == "update");
  CHECK(events[1].old_text == "Lives in New York");
}

TEST_CASE_METHOD(pipeline_fixture, "never more than pool_size extractions at once") {
  auto p = std::make_shared<probe>();
  for (int u = 0; u < 10; ++u) {
    p->delay["user" + std::to_string(u)] = 1000ms;
    say("user" + std::to_string(u), "I like tea.");
  }
  with_fake(p, 3);
  self->send(batcher, tick_atom_v);
  sched.run();
  CHECK(p->active == 3);
  advance(5000ms);
  CHECK(p->max_active == 3);
  CHECK(p->calls == 10);
  CHECK(statuses()["done"] == 10);
}

TEST_CASE_METHOD(pipeline_fixture,
                 "a user is never in two extractors and each message is extracted once") {
  auto p = std::make_shared<probe>();
  opts.per_user_batch_size = 2;
  opts.batch_size = 4;
  for (int i = 0; i < 12; ++i) say("chatty", "I like item " + std::to_string(i) + ".");
  for (int u = 0; u < 6; ++u) say("quiet" + std::to_string(u), "I like tea.");
  p->delay["chatty"] = 700ms;
  with_fake(p, 4);
  auto ticker = keep(spawn_ticker(sys, batcher, 200ms));
  (void)ticker;
  advance(20000ms);
  CHECK(p->max_per_user == 1);
  CHECK(p->seen.size() == 18);
  for (auto& [id, n] : p->seen) CHECK(n == 1);
  CHECK(statuses()["done"] == 18);
}

TEST_CASE_METHOD(pipeline_fixture,
                 "a failing extraction is retried after its backoff then dead-lettered") {
  auto backend = std::make_shared<scripted_backend>();
  backend->fail["bad"] = failure_kind::transient;
  with_backend(backend, 1);
  say("bad", "I like tea.");
  say("bad", "I like coffee.");
  ask<cycle_result>(batcher, run_atom_v);
  CHECK(backend->calls["bad"] == 1);
  auto m = messages("bad");
  REQUIRE(m.size() == 2);
  CHECK(m[0].status == "pending");
  CHECK(m[0].attempts == 1);
  // Backoff after attempt 1 is in [500, 1000] ms: nothing before 500 ms.
  advance(400ms);
  CHECK(backend->calls["bad"] == 1);
  advance(700ms);  // the batcher wakes itself when the retry is due
  CHECK(backend->calls["bad"] == 2);
  CHECK(messages("bad")[0].attempts == 2);
  // Backoff after attempt 2 is in [1000, 2000] ms.
  advance(900ms);
  CHECK(backend->calls["bad"] == 2);
  advance(1200ms);
  CHECK(backend->calls["bad"] == 3);
  m = messages("bad");
  CHECK(m[0].status == "dead");
  CHECK(m[1].status == "dead");
  CHECK(m[0].last_error == "scripted failure");
  advance(60000ms);
  CHECK(backend->calls["bad"] == 3);
}

TEST_CASE_METHOD(
    pipeline_fixture,
    "a permanent failure dead-letters at once and garbage is processed with its error") {
  auto backend = std::make_shared<scripted_backend>();
  backend->fail["badkey"] = failure_kind::permanent;
  backend->garbage.insert("garbled");
  with_backend(backend, 2);
  say("badkey", "I like tea.");
  say("garbled", "I like tea.");
  say("fine", "I like tea.");
  auto r = ask<cycle_result>(batcher, run_atom_v);
  CHECK(r.messages_processed == 2);
  CHECK(r.dead_lettered == 1);
  CHECK(r.errors == 2);
  CHECK(messages("badkey")[0].status == "dead");
  CHECK(messages("garbled")[0].status == "done");
  CHECK(messages("garbled")[0].last_error.find("parse") != std::string::npos);
  CHECK(fact_texts("fine") == std::vector<std::string>{"Likes tea"});
  advance(120000ms);
  CHECK(backend->calls["badkey"] == 1);
  CHECK(backend->calls["garbled"] == 1);
}

TEST_CASE_METHOD(pipeline_fixture, "a user's later messages wait behind that user's retry") {
  auto backend = std::make_shared<scripted_backend>();
  backend->fail["u"] = failure_kind::transient;
  opts.max_attempts = 5;
  with_backend(backend, 1);
  say("u", "I like tea.");
  ask<cycle_result>(batcher, run_atom_v);
  say("u", "I like coffee.");
  backend->fail.clear();
  auto r = ask<cycle_result>(batcher, run_atom_v);  // the user is waiting for the retry
  CHECK(r.messages_processed == 0);
  advance(1100ms);
  CHECK(messages("u")[0].status == "done");
  CHECK(messages("u")[1].status == "done");
  auto facts = fact_texts("u");
  CHECK(facts.size() == 2);
}

TEST_CASE_METHOD(pipeline_fixture, "a slow user does not hold up others") {
  auto p = std::make_shared<probe>();
  p->delay["slow"] = 60000ms;
  say("slow", "I like tea.");
  for (int u = 0; u < 5; ++u) say("fast" + std::to_string(u), "I like tea.");
  with_fake(p, 2);
  self->send(batcher, tick_atom_v);
  sched.run();
  auto st = statuses();
  CHECK(st["done"] == 5);
  CHECK(st["leased"] == 1);
  advance(60000ms, 1000ms);
  CHECK(statuses()["done"] == 6);
}

TEST_CASE_METHOD(pipeline_fixture, "a tick while a cycle is still running does not double-claim") {
  auto p = std::make_shared<probe>();
  for (int u = 0; u < 3; ++u) {
    p->delay["u" + std::to_string(u)] = 10000ms;
    say("u" + std::to_string(u), "I like tea.");
  }
  opts.drain_backlog = false;
  with_fake(p, 1);
  self->send(batcher, tick_atom_v);
  sched.run();
  CHECK(p->calls == 1);
  auto s = ask<processor_status>(batcher, status_atom_v);
  CHECK(s.queued == 2);
  CHECK(s.in_flight == 1);
  for (int i = 0; i < 5; ++i) {
    self->send(batcher, tick_atom_v);
    sched.run();
  }
  CHECK(p->calls == 1);
  advance(40000ms, 1000ms);
  CHECK(p->calls == 3);
  for (auto& [id, n] : p->seen) CHECK(n == 1);
  CHECK(statuses()["done"] == 3);
}

TEST_CASE_METHOD(pipeline_fixture, "drain releases queued work without using an attempt") {
  auto p = std::make_shared<probe>();
  for (int u = 0; u < 3; ++u) {
    p->delay["u" + std::to_string(u)] = 5000ms;
    say("u" + std::to_string(u), "I like tea.");
  }
  with_fake(p, 1);
  self->send(batcher, tick_atom_v);
  sched.run();
  self->send(batcher, drain_atom_v);
  sched.run();
  CHECK(statuses()["pending"] == 2);  // released at once
  CHECK(statuses()["leased"] == 1);   // still in flight
  advance(5000ms);
  CHECK(statuses()["done"] == 1);
  for (auto& m : messages(""))
    if (m.status == "pending") CHECK(m.attempts == 0);
  bool drained = false;
  self->receive([&](bool b) { drained = b; },
                caf::after(0s) >> [] { FAIL("drain did not answer"); });
  CHECK(drained);
}

TEST_CASE_METHOD(pipeline_fixture, "persistence group-commits queued ingests and answers each") {
  with_backend(std::make_shared<rule_extractor>(), 1);
  for (int i = 0; i < 5; ++i)
    self->send(persistence, ingest_atom_v,
               std::vector<new_message>{{"g", "user", "msg " + std::to_string(i), "api",
                                         "sid-" + std::to_string(i % 3), 0}});
  sched.run();
  int answered = 0, duplicates = 0;
  for (int i = 0; i < 5; ++i)
    self->receive(
        [&](std::vector<ingest_outcome>& r) {
          answered++;
          duplicates += r.at(0).duplicate ? 1 : 0;
        },
        caf::after(0s) >> [] { FAIL("missing reply"); });
  CHECK(answered == 5);
  CHECK(duplicates == 2);
  CHECK(messages("g").size() == 3);
}

// The HTTP hot path: requests queued by io threads on the handoff, one wake-up per empty
// queue, one transaction for everything queued, each callback answered after COMMIT.
struct handoff_fixture : sim_fixture {
  temp_dir dir;
  std::shared_ptr<conversation_store> conv = std::make_shared<sqlite::conversation_store>(
      sqlite::store_options{dir.file("conversation.db"), "normal", 1000});
  std::shared_ptr<ingest_handoff> handoff = std::make_shared<ingest_handoff>();
  caf::actor persistence;
  std::vector<outcome<std::vector<ingest_outcome>>> answers;

  explicit handoff_fixture(std::size_t group_commit_max = 1024) {
    persistence = keep(spawn_persistence(sys, conv, {group_commit_max}, false, handoff));
  }

  // Like actor_api::ingest: queue, and wake the actor when the queue was empty.
  bool push(const std::string& user, const std::string& text, const std::string& sid = {},
            std::chrono::milliseconds deadline_in = 10s) {
    ingest_handoff::request r;
    r.messages = {{user, "user", text, "sms", sid, 0}};
    r.done = [this](outcome<std::vector<ingest_outcome>> o) { answers.push_back(std::move(o)); };
    r.deadline = ingest_handoff::clock::now() + deadline_in;
    const bool wake = handoff->push(std::move(r));
    if (wake) caf::anon_send(persistence, handoff_atom_v);
    return wake;
  }

  std::int64_t stored() { return conv->count_messages(); }
};

TEST_CASE_METHOD(handoff_fixture, "handoff ingests are committed together and answered after") {
  CHECK(push("+15550001", "one", "SM1"));
  CHECK_FALSE(push("+15550002", "two", "SM2"));  // a wake-up is already on its way
  CHECK_FALSE(push("+15550001", "one again", "SM1"));
  CHECK(answers.empty());  // nothing answered before the actor ran
  sched.run();
  REQUIRE(answers.size() == 3);
  for (auto& a : answers) REQUIRE(a.ok());
  CHECK_FALSE(answers[0].value->at(0).duplicate);
  CHECK_FALSE(answers[1].value->at(0).duplicate);
  CHECK(answers[2].value->at(0).duplicate);
  CHECK(answers[2].value->at(0).id == answers[0].value->at(0).id);
  CHECK(stored() == 2);
  CHECK(handoff->size() == 0);
  // The queue is empty again: the next request wakes the actor again.
  CHECK(push("+15550003", "three"));
  sched.run();
  CHECK(answers.size() == 4);
  CHECK(stored() == 3);
}

TEST_CASE("handoff groups stop at group_commit_max messages and continue in the next") {
  handoff_fixture f(2);
  for (int i = 0; i < 5; ++i) f.push("+1555000" + std::to_string(i), "m" + std::to_string(i));
  CHECK(f.handoff->size() == 5);
  f.sched.run_once();  // one transaction: two messages
  CHECK(f.answers.size() == 2);
  CHECK(f.stored() == 2);
  f.sched.run();  // the actor woke itself for the rest
  CHECK(f.answers.size() == 5);
  CHECK(f.stored() == 5);
}

TEST_CASE_METHOD(handoff_fixture, "a handoff request past its deadline is refused, not stored") {
  push("+15550001", "late", "SM-late", -1ms);
  push("+15550002", "in time", "SM-ok");
  sched.run();
  REQUIRE(answers.size() == 2);
  REQUIRE_FALSE(answers[0].ok());
  CHECK(answers[0].failure.http_status == 503);
  REQUIRE(answers[1].ok());
  CHECK(stored() == 1);
}

TEST_CASE_METHOD(handoff_fixture, "handoff requests are refused once persistence is gone") {
  push("+15550001", "queued before the exit");
  // The exit handler commits what is queued, then the handoff closes.
  caf::anon_send_exit(persistence, caf::exit_reason::user_shutdown);
  sched.run();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].ok());
  CHECK(stored() == 1);
  CHECK_FALSE(push("+15550002", "after the exit"));  // answered at once, nothing to wake
  REQUIRE(answers.size() == 2);
  REQUIRE_FALSE(answers[1].ok());
  CHECK(answers[1].failure.http_status == 503);
  CHECK(stored() == 1);
}

TEST_CASE("backoff is exponential, capped and jittered") {
  batcher_options o;
  o.retry_base_ms = 1000;
  o.retry_max_ms = 10000;
  for (std::uint64_t r : {0ull, 1ull, 499ull, 500ull, 123456789ull}) {
    auto d1 = backoff_delay(o, 1, 0, r);
    CHECK(d1 >= 500);
    CHECK(d1 <= 1000);
    auto d3 = backoff_delay(o, 3, 0, r);
    CHECK(d3 >= 2000);
    CHECK(d3 <= 4000);
    auto d9 = backoff_delay(o, 9, 0, r);
    CHECK(d9 >= 5000);
    CHECK(d9 <= 10000);
  }
  CHECK(backoff_delay(o, 1, 7000, 0) == 7000);     // Retry-After wins when longer
  CHECK(backoff_delay(o, 1, 900000, 0) == 10000);  // but never beyond the cap
}

}  // namespace
}  // namespace memoryd

namespace memoryd {
namespace {

// Erases the user in the middle of their extraction, as DELETE /v1/users/{id} would: the
// messages in the conversation store, the facts through the fact writer (which must then
// reject this very extraction's results when they arrive).
struct erasing_backend : extractor_backend {
  std::shared_ptr<conversation_store> conv;
  caf::actor fact_writer;
  extraction_output extract(const extraction_input& in) override {
    conv->erase_user(in.user_id);
    caf::anon_send(fact_writer, erase_atom_v, in.user_id,
                   millis{std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count()});
    return rule_extractor{}.extract(in);
  }
  std::string version() const override { return "erasing/1"; }
};

TEST_CASE_METHOD(pipeline_fixture, "an erased user's batch in flight brings nothing back") {
  auto backend = std::make_shared<erasing_backend>();
  backend->conv = conv;
  backend->fact_writer = fact_writer;
  with_backend(backend, 1);
  say("gone", "I have a dog named Max.");
  say("kept", "I like tea.");
  auto r = ask<cycle_result>(batcher, run_atom_v);
  CHECK(r.users == 2);
  CHECK(mem->all_facts("gone").empty());
  CHECK(mem->events("gone").empty());
  CHECK(messages("gone").empty());
  CHECK(conv->stats(0).users_waiting == 0);
}

TEST_CASE_METHOD(pipeline_fixture, "a 429 slows the whole pool down and success speeds it up") {
  struct limited_backend : extractor_backend {
    int remaining_429 = 1;
    extraction_output extract(const extraction_input&) override {
      if (remaining_429-- > 0)
        throw extraction_failure(failure_kind::rate_limited, "429 Too Many Requests", 2000);
      return {};
    }
    std::string version() const override { return "limited/1"; }
  };
  auto backend = std::make_shared<limited_backend>();
  with_backend(backend, 4);
  say("first", "I like tea.");
  ask<cycle_result>(batcher, run_atom_v);
  auto s = ask<processor_status>(batcher, status_atom_v);
  CHECK(s.pool_size == 4);
  CHECK(s.concurrency_limit == 2);
  auto m = messages("first");
  REQUIRE(m.size() == 1);
  CHECK(m[0].status == "pending");
  // Retry-After (2 s) beats the 1 s base backoff: nothing before it.
  advance(1900ms);
  CHECK(messages("first")[0].status == "pending");
  advance(200ms);
  CHECK(messages("first")[0].status == "done");
  for (int u = 0; u < 6; ++u) say("u" + std::to_string(u), "I like tea.");
  ask<cycle_result>(batcher, run_atom_v);
  CHECK(ask<processor_status>(batcher, status_atom_v).concurrency_limit == 4);
}

}  // namespace
}  // namespace memoryd

namespace memoryd {
namespace {

fact_batch one_fact(const std::string& user, const std::string& text, millis observed) {
  fact_batch b;
  b.user_id = user;
  b.now = observed;
  b.ops.push_back({"add", "", text, "other", observed, {"m"}});
  return b;
}

TEST_CASE_METHOD(pipeline_fixture,
                 "the fact writer group-commits queued applies and an erase in between wins") {
  for (int i = 0; i < 4; ++i)
    self->send(fact_writer, apply_atom_v, one_fact("u" + std::to_string(i), "Likes tea", 1000));
  self->send(fact_writer, apply_atom_v, one_fact("gone", "Likes tea", 1000));
  self->send(fact_writer, erase_atom_v, std::string("gone"), millis{2000});
  sched.run();
  int answered = 0, rejected = 0;
  for (int i = 0; i < 5; ++i)
    self->receive(
        [&](apply_result& r) {
          answered++;
          rejected += r.rejected;
        },
        caf::after(0s) >> [] { FAIL("missing apply reply"); });
  self->receive([](erase_report&) {}, caf::after(0s) >> [] { FAIL("missing erase reply"); });
  CHECK(answered == 5);
  CHECK(rejected == 1);
  for (int i = 0; i < 4; ++i) CHECK(mem->active_facts("u" + std::to_string(i)).size() == 1);
  CHECK(mem->all_facts("gone").empty());
}

}  // namespace
}  // namespace memoryd
