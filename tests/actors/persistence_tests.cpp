// persistence: group commit of ingests, from its mailbox and from the ingress queue.
#include "tests/actors/pipeline_fixture.hpp"

#include "actors/ingress_queue.hpp"

namespace memoryd::testing {
namespace {

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

// The HTTP hot path: requests queued by io threads on the ingress queue, one wake-up per
// empty queue, one transaction for everything queued, each callback answered after COMMIT.
struct queue_fixture : sim_fixture {
  temp_dir dir;
  std::shared_ptr<conversation_store> conv = std::make_shared<sqlite::conversation_store>(
      sqlite::store_options{dir.file("conversation.db"), "normal", 1000});
  std::shared_ptr<ingress_queue> queue = std::make_shared<ingress_queue>();
  persistence_actor persistence;
  std::vector<outcome<std::vector<ingest_outcome>>> answers;

  explicit queue_fixture(std::size_t group_commit_max = 1024) {
    persistence =
        keep(spawn_persistence(sys, conv, queue, {group_commit_max}, spawn_mode::scheduled));
  }

  // Like ingress_api::ingest: queue, and wake the actor when the queue was empty.
  bool push(const std::string& user, const std::string& text, const std::string& sid = {},
            std::chrono::milliseconds deadline_in = 10s) {
    ingress_queue::request r;
    r.messages = {{user, "user", text, "sms", sid, 0}};
    r.done = [this](outcome<std::vector<ingest_outcome>> o) { answers.push_back(std::move(o)); };
    r.deadline = ingress_queue::clock::now() + deadline_in;
    const bool wake = queue->push(std::move(r));
    if (wake) caf::anon_send(persistence, ingests_queued_atom_v);
    return wake;
  }

  std::int64_t stored() { return conv->count_messages(); }
};

TEST_CASE_METHOD(queue_fixture, "queued ingests are committed together and answered after") {
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
  CHECK(queue->size() == 0);
  // The queue is empty again: the next request wakes the actor again.
  CHECK(push("+15550003", "three"));
  sched.run();
  CHECK(answers.size() == 4);
  CHECK(stored() == 3);
}

TEST_CASE("queued groups stop at group_commit_max messages and continue in the next") {
  queue_fixture f(2);
  for (int i = 0; i < 5; ++i) f.push("+1555000" + std::to_string(i), "m" + std::to_string(i));
  CHECK(f.queue->size() == 5);
  f.sched.run_once();  // one transaction: two messages
  CHECK(f.answers.size() == 2);
  CHECK(f.stored() == 2);
  f.sched.run();  // the actor woke itself for the rest
  CHECK(f.answers.size() == 5);
  CHECK(f.stored() == 5);
}

TEST_CASE_METHOD(queue_fixture, "a queued request past its deadline is refused, not stored") {
  push("+15550001", "late", "SM-late", -1ms);
  push("+15550002", "in time", "SM-ok");
  sched.run();
  REQUIRE(answers.size() == 2);
  REQUIRE_FALSE(answers[0].ok());
  CHECK(answers[0].failure.http_status == 503);
  REQUIRE(answers[1].ok());
  CHECK(stored() == 1);
}

TEST_CASE_METHOD(queue_fixture, "queued requests are refused once persistence is gone") {
  push("+15550001", "queued before the exit");
  // The exit handler commits what is queued, then the queue closes.
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

}  // namespace
}  // namespace memoryd::testing
