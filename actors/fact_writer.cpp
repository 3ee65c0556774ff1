// fact_writer: the only writer of memory.db. Every apply is idempotent on the batch key, so a
// batch replayed after a crash changes nothing.
#include "actors/fact_writer.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <map>

#include "actors/request_error.hpp"
#include "actors/store_call.hpp"
#include "core/log.hpp"
#include "store/memory_store.hpp"

namespace memoryd {
namespace {

struct queued_apply {
  fact_batch batch;
  caf::typed_response_promise<apply_result> promise;
};

struct fact_writer_state {
  std::shared_ptr<memory_store> store;
  fact_writer_options opts;
  std::map<std::string, millis> erased;  // user -> erased at (wall clock, ms)
  std::vector<queued_apply> queue;       // applies waiting for the next group commit
};

using self_pointer = fact_writer_actor::stateful_pointer<fact_writer_state>;

// Extraction results drawn from messages older than the user's erasure are dropped: the
// batch was in flight when the user asked to be forgotten. Returns how many ops it dropped.
std::int32_t drop_erased(const fact_writer_state& st, fact_batch& b) {
  auto it = st.erased.find(b.user_id);
  if (b.cause != "extractor" || it == st.erased.end()) return 0;
  auto before = b.ops.size();
  b.ops.erase(std::remove_if(b.ops.begin(), b.ops.end(),
                             [&](const fact_op& op) { return op.observed_at <= it->second; }),
              b.ops.end());
  return static_cast<std::int32_t>(before - b.ops.size());
}

// Group commit, as in persistence: every apply queued while the previous transaction ran
// goes into one transaction (one fsync), and each requester is answered after COMMIT. The
// erasure filter runs here, so an erase that arrived while a batch was queued still wins.
void commit_applies(self_pointer self) {
  auto& st = self->state;
  if (st.queue.empty()) return;
  auto queued = std::move(st.queue);
  st.queue.clear();
  std::vector<fact_batch> batches;
  std::vector<std::int32_t> dropped;
  for (auto& q : queued) {
    dropped.push_back(drop_erased(st, q.batch));
    batches.push_back(std::move(q.batch));
  }
  try {
    auto results = st.store->apply_group(batches);
    for (std::size_t i = 0; i < queued.size(); ++i) {
      results[i].rejected += dropped[i];
      queued[i].promise.deliver(std::move(results[i]));
    }
  } catch (const std::exception& e) {
    log::error("storage_error",
               {{"db", "memory"}, {"batches", queued.size()}, {"error", e.what()}});
    for (auto& q : queued) q.promise.deliver(storage_error(e));
  }
}

caf::result<apply_result> enqueue_apply(self_pointer self, fact_batch& b) {
  auto& st = self->state;
  auto rp = self->make_response_promise<apply_result>();
  if (st.queue.empty()) self->send(self, commit_atom_v);
  st.queue.push_back({std::move(b), rp});
  return rp;
}

erase_report erase(fact_writer_state& st, const std::string& user, millis now) {
  for (auto it = st.erased.begin(); it != st.erased.end();)
    it = it->second < now - st.opts.remember_erasures_ms ? st.erased.erase(it) : std::next(it);
  auto& mark = st.erased[user];
  mark = std::max(mark, now);
  return st.store->erase_user(user);
}

// "Remember this": text that is not storable (empty or too long) is the caller's mistake.
caf::result<fact> remember(fact_writer_state& st, const std::string& user, const std::string& text,
                           const std::string& category, millis now) {
  auto stored = st.store->remember(user, text, category, now);
  if (!stored)
    return make_request_error(request_error::invalid_input,
                              "text: not a storable fact (empty or too long)");
  return std::move(*stored);
}

fact_writer_actor::behavior_type fact_writer(self_pointer self, std::shared_ptr<memory_store> store,
                                             fact_writer_options opts) {
  auto& st = self->state;
  st.store = std::move(store);
  st.opts = opts;
  // On shutdown, apply what is queued (and answer it) before the database closes.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    commit_applies(self);
    self->quit(msg.reason);
  });
  auto db = [](auto f) { return store_call("memory", f); };
  // clang-format off
  return {
      [=, &st](facts_atom, const std::string& user) { return db([&] { return st.store->active_facts(user); }); },
      [=, &st](facts_atom, const fact_query& q) { return db([&] { return st.store->list(q); }); },
      [=](apply_atom, fact_batch& b) { return enqueue_apply(self, b); },
      [=](commit_atom) { commit_applies(self); },
      [=, &st](remember_atom, const std::string& user, const std::string& text, const std::string& category, millis now) { return db([&] { return remember(st, user, text, category, now); }); },
      [=, &st](forget_atom, const std::string& user, const std::string& id, millis now) { return db([&] { return st.store->forget(user, id, now); }); },
      [=, &st](erase_atom, const std::string& user, millis now) { return db([&] { return erase(st, user, now); }); },
      [=, &st](health_atom) { return db([&] { st.store->ping(); }); },
  };
  // clang-format on
}

}  // namespace

fact_writer_actor spawn_fact_writer(caf::actor_system& sys, std::shared_ptr<memory_store> store,
                                    fact_writer_options opts, spawn_mode mode) {
  if (mode == spawn_mode::detached)
    return sys.spawn<caf::detached>(fact_writer, std::move(store), opts);
  return sys.spawn(fact_writer, std::move(store), opts);
}

}  // namespace memoryd
