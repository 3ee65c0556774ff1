// fact_writer: the only writer of memory.db. Every apply is one transaction in the store,
// idempotent on the batch key, so a batch replayed after a crash changes nothing.
#include "actors/fact_writer.hpp"

#include <caf/all.hpp>

#include "actors/protocol.hpp"
#include "app/log.hpp"
#include "store/memory_store.hpp"

namespace memoryd {
namespace {

struct fact_writer_state {
  std::shared_ptr<memory_store> store;
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

caf::behavior fact_writer(fact_writer_actor* self, std::shared_ptr<memory_store> store) {
  self->state.store = std::move(store);
  auto& st = self->state;
  return {
      [=, &st](facts_atom, const std::string& user) {
        return guarded([&] { return st.store->active_facts(user); });
      },
      [=, &st](events_atom, const std::string& user) {
        return guarded([&] { return st.store->events(user); });
      },
      [=, &st](apply_atom, const fact_batch& b) {
        return guarded([&] { return st.store->apply(b); });
      },
      [=, &st](health_atom) { return guarded([&] { return st.store->count_facts() >= 0; }); },
  };
}

}  // namespace

caf::actor spawn_fact_writer(caf::actor_system& sys, std::shared_ptr<memory_store> store,
                             bool detach) {
  return detach ? sys.spawn<caf::detached>(fact_writer, std::move(store))
                : sys.spawn(fact_writer, std::move(store));
}

}  // namespace memoryd
