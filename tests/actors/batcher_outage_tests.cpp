// The batcher while the conversation store is unreachable (a database outage): an outcome
// it could not record is sent again while the claim's lease lasts, so the user's messages do
// not wait for the lease to end once the store is back; past three quarters of the lease it
// gives up (the messages may belong to another claim by then).
#include <catch2/catch.hpp>

#include <stdexcept>

#include "tests/actors/pipeline_fixture.hpp"

using namespace memoryd;
using namespace memoryd::testing;

namespace {

// The fixture's SQLite store behind a switch: while `down`, every call throws, as the
// PostgreSQL store does during an outage. Counts the done transitions tried.
struct switchable_store : conversation_store {
  std::shared_ptr<conversation_store> in;
  bool down = false;
  int mark_done_calls = 0;

  explicit switchable_store(std::shared_ptr<conversation_store> s) : in(std::move(s)) {}
  void check() const {
    if (down) throw std::runtime_error("database unavailable");
  }
  std::vector<std::vector<ingest_outcome>> ingest_group(
      const std::vector<std::vector<new_message>>& r, millis now) override {
    check();
    return in->ingest_group(r, now);
  }
  std::vector<ingest_outcome> ingest(const std::vector<new_message>& m, millis now) override {
    check();
    return in->ingest(m, now);
  }
  std::vector<stored_message> history(const history_query& q) override {
    check();
    return in->history(q);
  }
  claim_result claim(const claim_request& r) override {
    check();
    return in->claim(r);
  }
  void mark_done(const std::string& u, const std::vector<std::string>& ids, millis now,
                 const std::string& note, millis lease) override {
    ++mark_done_calls;
    check();
    in->mark_done(u, ids, now, note, lease);
  }
  void schedule_retry(const std::string& u, const std::vector<std::string>& ids,
                      const std::string& e, millis at, millis lease) override {
    check();
    in->schedule_retry(u, ids, e, at, lease);
  }
  void dead_letter(const std::string& u, const std::vector<std::string>& ids, const std::string& e,
                   millis now, millis lease) override {
    check();
    in->dead_letter(u, ids, e, now, lease);
  }
  void release(const std::string& u, const std::vector<std::string>& ids, millis lease) override {
    check();
    in->release(u, ids, lease);
  }
  std::int64_t retry_dead(const std::vector<std::string>& ids, millis now) override {
    check();
    return in->retry_dead(ids, now);
  }
  std::vector<stored_message> dead_letters(const dead_letter_query& q) override {
    check();
    return in->dead_letters(q);
  }
  std::int64_t erase_user(const std::string& u) override {
    check();
    return in->erase_user(u);
  }
  queue_stats stats(millis now) override {
    check();
    return in->stats(now);
  }
  std::int64_t count_messages() override {
    check();
    return in->count_messages();
  }
  void ping() override { check(); }
};

struct outage_fixture : pipeline_fixture {
  std::shared_ptr<switchable_store> store = std::make_shared<switchable_store>(conv);
  std::shared_ptr<probe> p = std::make_shared<probe>();

  // One user's message in an extraction of 1 s when the store goes down.
  void start_extraction() {
    persistence = keep(spawn_persistence(sys, store, nullptr, {}, spawn_mode::scheduled));
    p->delay["u"] = 1000ms;
    say("u", "I like tea.");
    with_fake(p, 1);
    self->send(batcher, tick_atom_v);
    sched.run();
    REQUIRE(p->calls == 1);
    store->down = true;
  }
};

}  // namespace

TEST_CASE_METHOD(outage_fixture,
                 "an outcome the store could not record is recorded once it is "
                 "back, long before the lease ends") {
  opts.lease_ms = 600000;
  start_extraction();
  advance(5000ms);  // the extraction ends at 1 s; recording fails for 4 s
  CHECK(store->mark_done_calls >= 4);
  CHECK(messages("u")[0].status == "leased");
  store->down = false;
  advance(3000ms);  // retries are at most 2 s apart
  CHECK(messages("u")[0].status == "done");
  CHECK(p->calls == 1);  // recorded, not extracted again
  auto s = ask<processor_status>(batcher, status_atom_v);
  CHECK(s.in_flight == 0);
}

TEST_CASE_METHOD(outage_fixture, "recording is given up at three quarters of the lease") {
  opts.lease_ms = 8000;
  start_extraction();
  advance(6100ms);  // the last retry is due before 6 s (3/4 of the lease)
  const int tried = store->mark_done_calls;
  CHECK(tried >= 3);
  advance(10000ms);
  CHECK(store->mark_done_calls == tried);  // no transition after the lease may have moved on
  CHECK(messages("u")[0].status == "leased");
  store->down = false;
  advance(3000ms);  // the lease has ended: the next claim replays the message
  self->send(batcher, tick_atom_v);
  advance(2000ms);
  CHECK(p->calls == 2);
  CHECK(messages("u")[0].status == "done");
}
