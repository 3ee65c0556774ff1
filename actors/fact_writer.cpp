// fact_writer: the only writer of memory.db. Every apply is one transaction in the store,
// idempotent on the batch key, so a batch replayed after a crash changes nothing.
#include "actors/fact_writer.hpp"

#include <caf/all.hpp>

#include <map>

#include "actors/protocol.hpp"
#include "app/log.hpp"
#include "store/memory_store.hpp"

namespace memoryd {
namespace {

struct fact_writer_state {
  std::shared_ptr<memory_store> store;
  fact_writer_options opts;
  std::map<std::string, millis> erased;  // user -> erased at (wall clock, ms)
};

using fact_writer_actor = caf::stateful_actor<fact_writer_state>;

template <class F>
auto guarded(F&& f) -> caf::result<decltype(f())> {
  try {
    return f();
  } catch (const std::exception& e) {
    log::error("storage_error", {{"db", "memory"}, {"error", e.what()}});
    return caf::make_error(caf::sec::runtime_error, std::string("storage: ") + e.what());
  }
}

// Extraction results drawn from messages older than the user's erasure are dropped: the
// batch was in flight when the user asked to be forgotten.
apply_result apply_unless_erased(fact_writer_state& st, fact_batch& b) {
  std::int32_t dropped = 0;
  auto it = st.erased.find(b.user_id);
  if (b.cause == "extractor" && it != st.erased.end()) {
    auto before = b.ops.size();
    b.ops.erase(std::remove_if(b.ops.begin(), b.ops.end(),
                               [&](const fact_op& op) { return op.observed_at <= it->second; }),
                b.ops.end());
    dropped = static_cast<std::int32_t>(before - b.ops.size());
  }
  auto r = st.store->apply(b);
  r.rejected += dropped;
  return r;
}

erase_report erase(fact_writer_state& st, const std::string& user, millis now) {
  for (auto it = st.erased.begin(); it != st.erased.end();)
    it = it->second < now - st.opts.remember_erasures_ms ? st.erased.erase(it) : std::next(it);
  auto& mark = st.erased[user];
  mark = std::max(mark, now);
  return st.store->erase_user(user);
}

caf::behavior fact_writer(fact_writer_actor* self, std::shared_ptr<memory_store> store,
                          fact_writer_options opts) {
  auto& st = self->state;
  st.store = std::move(store);
  st.opts = opts;
  // clang-format off
  return {
      [=, &st](facts_atom, const std::string& user) { return guarded([&] { return st.store->active_facts(user); }); },
      [=, &st](events_atom, const std::string& user) { return guarded([&] { return st.store->events(user); }); },
      [=, &st](apply_atom, fact_batch& b) { return guarded([&] { return apply_unless_erased(st, b); }); },
      [=, &st](erase_atom, const std::string& user, millis now) { return guarded([&] { return erase(st, user, now); }); },
      [=, &st](health_atom) { return guarded([&] { return st.store->db().scalar_int("SELECT 1") == 1; }); },
  };
  // clang-format on
}

}  // namespace

caf::actor spawn_fact_writer(caf::actor_system& sys, std::shared_ptr<memory_store> store,
                             fact_writer_options opts, bool detach) {
  return detach ? sys.spawn<caf::detached>(fact_writer, std::move(store), opts)
                : sys.spawn(fact_writer, std::move(store), opts);
}

}  // namespace memoryd
