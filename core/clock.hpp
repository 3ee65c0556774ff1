// Time as memoryd stores it: milliseconds since the Unix epoch, from the wall clock.
// Actors whose timing tests drive with simulated time (the batcher) measure on the actor
// clock instead and only anchor it here once.
#pragma once

#include <chrono>
#include <cstdint>

namespace memoryd {

// Milliseconds since the Unix epoch.
using millis = std::int64_t;

inline millis wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace memoryd
