// ticker: sends `tick` to its target every interval, on the actor clock (so tests drive it
// with simulated time).
#pragma once

#include <caf/fwd.hpp>

#include <chrono>

#include "actors/protocol.hpp"

namespace memoryd {

tick_receiver_actor spawn_ticker(caf::actor_system& sys, tick_receiver_actor target,
                                 std::chrono::milliseconds interval);

}  // namespace memoryd
