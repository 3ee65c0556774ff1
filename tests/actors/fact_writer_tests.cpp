// fact_writer: group commit of applies, erasure against work in flight, and the explicit
// remember / forget of the API.
#include "tests/actors/pipeline_fixture.hpp"

#include "actors/request_error.hpp"

namespace memoryd::testing {
namespace {

// Erases the user in the middle of their extraction, as DELETE /v1/users/{id} would: the
// messages in the conversation store, the facts through the fact writer (which must then
// reject this very extraction's results when they arrive).
struct erasing_backend : extractor_backend {
  std::shared_ptr<conversation_store> conv;
  fact_writer_actor fact_writer;
  extraction_output extract(const extraction_input& in) override {
    conv->erase_user(in.user_id);
    caf::anon_send(fact_writer, erase_atom_v, in.user_id, wall_clock_ms());
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

TEST_CASE_METHOD(pipeline_fixture, "remember answers the stored fact and finds it again by text") {
  auto f = ask<fact>(fact_writer, remember_atom_v, std::string("u"), std::string(" Likes tea. "),
                     std::string("preferences"), millis{1000});
  CHECK(f.text == "Likes tea.");
  CHECK(f.category == "preferences");
  CHECK(f.status == "active");
  // The same fact, differently written: no second fact, the stored one answered.
  auto again = ask<fact>(fact_writer, remember_atom_v, std::string("u"), std::string("likes TEA"),
                         std::string("other"), millis{2000});
  CHECK(again.id == f.id);
  CHECK(again.text == "Likes tea.");
  CHECK(mem->active_facts("u").size() == 1);
  auto events = mem->events("u");
  REQUIRE(events.size() == 1);
  CHECK(events[0].cause == "api");
  // Not storable: an invalid-input error, nothing stored.
  CHECK(is_request_error(ask_error(fact_writer, remember_atom_v, std::string("u"),
                                   std::string(" .. "), std::string("other"), millis{3000}),
                         request_error::invalid_input));
  CHECK(mem->all_facts("u").size() == 1);
}

TEST_CASE_METHOD(pipeline_fixture, "forget deletes only the user's own active fact") {
  auto f = ask<fact>(fact_writer, remember_atom_v, std::string("u"), std::string("Likes tea"),
                     std::string("preferences"), millis{1000});
  CHECK_FALSE(ask<bool>(fact_writer, forget_atom_v, std::string("other"), f.id, millis{2000}));
  CHECK(mem->active_facts("u").size() == 1);
  CHECK(ask<bool>(fact_writer, forget_atom_v, std::string("u"), f.id, millis{2000}));
  CHECK(mem->active_facts("u").empty());
  CHECK_FALSE(ask<bool>(fact_writer, forget_atom_v, std::string("u"), f.id, millis{3000}));
  CHECK_FALSE(ask<bool>(fact_writer, forget_atom_v, std::string("u"), std::string("no-such-id"),
                        millis{3000}));
}

}  // namespace
}  // namespace memoryd::testing
