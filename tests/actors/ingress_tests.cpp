// ingress: the HTTP layer's calls as messages, asked of persistence, the fact writer and the
// batcher in turn (its HTTP side is tested in tests/http and tests/integration).
#include "tests/actors/pipeline_fixture.hpp"

#include "actors/ingress.hpp"
#include "actors/ingress_queue.hpp"
#include "actors/request_error.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certificate.hpp"

#include <filesystem>
#include <fstream>
#include <tuple>

namespace memoryd::testing {
namespace {

struct ingress_fixture : pipeline_fixture {
  ingress_actor ingress;

  // With a certificate the listener serves TLS (the reload tests).
  void start(const test_certificate* tls = nullptr) {
    with_backend(std::make_shared<rule_extractor>(), 1);
    ingress_options o;
    if (tls) {
      o.http.tls_cert_file = tls->cert_file;
      o.http.tls_key_file = tls->key_file;
    }
    o.http.address = "127.0.0.1";
    o.http.port = 0;  // any free port: nothing connects, the tests message the actor
    o.http.threads = 1;
    o.shutdown_grace = 100ms;
    auto h = start_ingress(
        sys, {persistence, fact_writer, batcher, std::make_shared<ingress_queue>(), nullptr, {}}, o,
        spawn_mode::scheduled);
    ingress = keep(h.actor);
    CHECK(h.port != 0);
  }

  // reload_atom's answer: ok, and the certificate or the reason.
  std::pair<bool, std::string> reload() {
    self->send(ingress, reload_atom_v);
    sched.run();
    std::pair<bool, std::string> res;
    self->receive(
        [&](bool ok, std::string& message) {
          res = {ok, std::move(message)};
        },
        [&](caf::error& e) { FAIL(sys.render(e)); },
        caf::after(std::chrono::seconds(0)) >> [] { FAIL("no reply"); });
    return res;
  }
};

TEST_CASE_METHOD(ingress_fixture, "erase removes the user's messages and facts and counts both") {
  start();
  say("gone", "I have a dog named Max.");
  say("gone", "Hi there", "assistant");
  say("kept", "I like tea.");
  ask<cycle_result>(batcher, run_atom_v);
  REQUIRE(fact_texts("gone").size() == 1);
  auto r = ask<erase_report>(ingress, erase_atom_v, std::string("gone"));
  CHECK(r.messages == 2);
  CHECK(r.facts == 1);
  CHECK(r.fact_events == 1);
  CHECK(messages("gone").empty());
  CHECK(mem->all_facts("gone").empty());
  CHECK(fact_texts("kept") == std::vector<std::string>{"Likes tea"});
}

TEST_CASE_METHOD(ingress_fixture, "status combines the queue and the processor") {
  start();
  say("a", "I like tea.");
  say("b", "I like coffee.");
  auto before = ask<status_report>(ingress, status_atom_v);
  CHECK(before.queue.pending == 2);
  CHECK(before.queue.users_waiting == 2);
  CHECK(before.processor.pool_size == 1);
  CHECK(before.processor.running);
  ask<cycle_result>(ingress, run_atom_v);
  auto after = ask<status_report>(ingress, status_atom_v);
  CHECK(after.queue.pending == 0);
  CHECK(after.queue.done == 2);
  CHECK(after.processor.messages_processed == 2);
  CHECK(after.processor.cycles == 1);
}

TEST_CASE_METHOD(ingress_fixture, "readiness follows the processor and health the databases") {
  start();
  auto ready = ask<health_report>(ingress, ready_atom_v);
  CHECK(ready.ok);
  CHECK(ask<health_report>(ingress, health_atom_v).ok);
  CHECK(ask<bool>(batcher, drain_atom_v));
  ready = ask<health_report>(ingress, ready_atom_v);
  CHECK_FALSE(ready.ok);
  CHECK(ready.detail == "stopping");
  CHECK(ask<health_report>(ingress, health_atom_v).ok);
}

TEST_CASE_METHOD(ingress_fixture, "facts with history and the explicit remember and forget") {
  start();
  auto f = ask<fact>(ingress, remember_atom_v, std::string("u"), std::string("Likes tea"),
                     std::string("preferences"));
  fact_query q;
  q.user_id = "u";
  q.limit = 10;
  auto listing = ask<fact_listing>(ingress, facts_atom_v, q);
  REQUIRE(listing.facts.size() == 1);
  CHECK(listing.facts[0].id == f.id);
  CHECK(listing.events.empty());
  CHECK(ask<bool>(ingress, forget_atom_v, std::string("u"), f.id));
  CHECK_FALSE(ask<bool>(ingress, forget_atom_v, std::string("u"), f.id));
  q.events_limit = 10;
  listing = ask<fact_listing>(ingress, facts_atom_v, q);
  CHECK(listing.facts.empty());
  REQUIRE(listing.events.size() == 2);  // newest first
  CHECK(listing.events[0].kind == "delete");
  CHECK(listing.events[1].kind == "add");
  CHECK(is_request_error(
      ask_error(ingress, remember_atom_v, std::string("u"), std::string(""), std::string("other")),
      request_error::invalid_input));
}

}  // namespace

TEST_CASE_METHOD(ingress_fixture, "reload loads the TLS files again, or says why it did not") {
  temp_dir dir;
  auto cert = make_test_certificate(dir, "server");
  start(&cert);
  auto renewed = make_test_certificate(dir, "renewed");
  std::filesystem::copy_file(renewed.cert_file, cert.cert_file,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(renewed.key_file, cert.key_file,
                             std::filesystem::copy_options::overwrite_existing);
  auto [ok, message] = reload();
  CHECK(ok);
  CHECK(message.find("CN=localhost") != std::string::npos);
  std::ofstream(cert.key_file, std::ios::trunc) << "not a key\n";
  std::tie(ok, message) = reload();
  CHECK_FALSE(ok);
  CHECK(message.find(cert.key_file) != std::string::npos);
}

TEST_CASE_METHOD(ingress_fixture, "reload without TLS configured changes nothing") {
  start();
  auto [ok, message] = reload();
  CHECK_FALSE(ok);
  CHECK(message == "TLS is not configured");
}

}  // namespace memoryd::testing
