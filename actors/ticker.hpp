// ticker: sends `tick` to its target every interval, on the actor clock (so tests drive
// it with simulated time).
#pragma once

#include <caf/fwd.hpp>

#include <chrono>

namespace memoryd {

caf::actor spawn_ticker(caf::actor_system& sys, caf::actor target,
                        std::chrono::milliseconds interval);

}  // namespace memoryd
