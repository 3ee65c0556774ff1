// ticker: re-arms itself after each tick, so a slow target never sees a burst of ticks.
#include "actors/ticker.hpp"

#include <caf/all.hpp>

#include "actors/protocol.hpp"

namespace memoryd {
namespace {

caf::behavior ticker(caf::event_based_actor* self, caf::actor target,
                     std::chrono::milliseconds interval) {
  self->delayed_send(self, interval, tick_atom_v);
  return {
      [=](tick_atom) {
        self->send(target, tick_atom_v);
        self->delayed_send(self, interval, tick_atom_v);
      },
  };
}

}  // namespace

caf::actor spawn_ticker(caf::actor_system& sys, caf::actor target,
                        std::chrono::milliseconds interval) {
  return sys.spawn(ticker, std::move(target), interval);
}

}  // namespace memoryd
