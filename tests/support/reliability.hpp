// The knobs every reliability suite shares: short by default, full with
// MEMORYD_RELIABILITY_FULL=1, and a seed for kill moments and fault patterns.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

namespace memoryd::testing {

inline bool full_run() {
  const char* v = std::getenv("MEMORYD_RELIABILITY_FULL");
  return v != nullptr && std::string(v) == "1";
}

inline std::uint64_t seed() {
  const char* v = std::getenv("MEMORYD_RELIABILITY_SEED");
  return v != nullptr ? std::strtoull(v, nullptr, 10) : 20261121;
}

}  // namespace memoryd::testing
