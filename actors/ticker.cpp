// ticker: re-arms itself after each tick, so a slow target never sees a burst of ticks.
#include "actors/ticker.hpp"

#include <caf/all.hpp>

namespace memoryd {
namespace {

tick_receiver_actor::behavior_type ticker(tick_receiver_actor::pointer self,
                                          tick_receiver_actor target,
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

tick_receiver_actor spawn_ticker(caf::actor_system& sys, tick_receiver_actor target,
                                 std::chrono::milliseconds interval) {
  return sys.spawn(ticker, std::move(target), interval);
}

}  // namespace memoryd
