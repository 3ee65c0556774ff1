// The actor pipeline under simulated time, on real SQLite files: persistence and the fact
// writer over temporary databases, a batcher with real or fake extractors.
#pragma once

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <set>

#include "actors/batcher.hpp"
#include "actors/extractor.hpp"
#include "actors/fact_writer.hpp"
#include "actors/persistence.hpp"
#include "actors/protocol.hpp"
#include "extract/rules.hpp"
#include "store/sqlite/conversation_store.hpp"
#include "store/sqlite/memory_store.hpp"
#include "tests/support/sim_fixture.hpp"
#include "tests/support/temp_dir.hpp"

namespace memoryd::testing {

using namespace std::chrono_literals;

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
  std::map<std::string, int> seen;                          // message id -> times extracted
  std::map<std::string, std::chrono::milliseconds> delay;   // per user; default none
  std::chrono::milliseconds default_delay{0};               // users without their own
  std::map<std::string, std::vector<std::size_t>> batches;  // per user: messages per call
};

using finish_atom = caf::atom_constant<caf::atom("t_finish")>;

// An extractor that answers after a per-user delay on the simulated clock. Its interface is
// the extractor's plus the timer it sends itself.
using fake_extractor_actor = extractor_actor::extend<caf::reacts_to<finish_atom, std::uint64_t>>;

struct fake_state {
  std::map<std::uint64_t, std::pair<caf::typed_response_promise<extract_outcome>, std::string>>
      open;
  std::uint64_t next = 0;
};

inline fake_extractor_actor::behavior_type fake_extractor(
    fake_extractor_actor::stateful_pointer<fake_state> self, std::shared_ptr<probe> p) {
  auto finish = [=](const std::string& user) {
    p->active--;
    p->active_per_user[user]--;
    return extract_outcome{};
  };
  return {
      [=](extract_atom, extract_job& job) -> caf::result<extract_outcome> {
        auto& user = job.batch.user_id;
        p->calls++;
        p->max_active = std::max(p->max_active, ++p->active);
        p->max_per_user = std::max(p->max_per_user, ++p->active_per_user[user]);
        for (auto& m : job.batch.messages) p->seen[m.id]++;
        p->batches[user].push_back(job.batch.messages.size());
        auto d = p->delay.count(user) ? p->delay[user] : p->default_delay;
        if (d == 0ms) return finish(user);
        auto id = self->state.next++;
        auto rp = self->make_response_promise<extract_outcome>();
        self->state.open.emplace(id, std::make_pair(rp, user));
        self->delayed_send(self, d, finish_atom::value, id);
        return rp;
      },
      [=](finish_atom, std::uint64_t id) {
        auto it = self->state.open.find(id);
        it->second.first.deliver(finish(it->second.second));
        self->state.open.erase(it);
      },
  };
}

struct pipeline_fixture : sim_fixture {
  temp_dir dir;
  std::shared_ptr<sqlite::conversation_store> conv;
  std::shared_ptr<sqlite::memory_store> mem;
  persistence_actor persistence;
  fact_writer_actor fact_writer;
  batcher_actor batcher;
  std::vector<extractor_actor> extractors;
  batcher_options opts;

  pipeline_fixture() {
    conv = std::make_shared<sqlite::conversation_store>(
        sqlite::store_options{dir.file("conversation.db"), "normal", 1000});
    mem = std::make_shared<sqlite::memory_store>(
        sqlite::store_options{dir.file("memory.db"), "normal", 1000});
    persistence = keep(spawn_persistence(sys, conv, nullptr, {}, spawn_mode::scheduled));
    fact_writer = keep(spawn_fact_writer(sys, mem, {}, spawn_mode::scheduled));
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
      extractors.push_back(
          keep(spawn_extractor(sys, fact_writer, backend, {}, spawn_mode::scheduled)));
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

}  // namespace memoryd::testing
