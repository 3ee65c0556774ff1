// batcher: claims batches from persistence, hands each user's messages to an idle extractor
// (work pulling), and turns outcomes into done / retry-later / dead-lettered.
#pragma once

#include <caf/fwd.hpp>

#include <cstdint>
#include <vector>

#include "actors/protocol.hpp"
#include "core/clock.hpp"

namespace memoryd {

struct batcher_options {
  std::int32_t batch_size = 100;
  std::int32_t per_user_batch_size = 25;
  std::int32_t max_attempts = 3;
  millis retry_base_ms = 30000;
  millis retry_max_ms = 3600000;
  millis lease_ms = 600000;     // also the bound on one extraction
  double backfill_share = 0.2;  // claim_request's scheduling fields (domain/queue.hpp)
  millis quiet_ms = 0;
  millis max_wait_ms = 600000;
  bool with_context = false;  // the extractors read the assistant turn before a message
  std::uint64_t seed = 0;     // jitter; 0: random
  // Keep claiming while claims come back full, instead of waiting for the next tick.
  bool drain_backlog = true;
};

// Runs on the scheduler: it never blocks (interface in actors/protocol.hpp).
batcher_actor spawn_batcher(caf::actor_system& sys, persistence_actor persistence,
                            std::vector<extractor_actor> extractors, batcher_options opts);

// The retry delay after `attempts` failed attempts: base * 2^(attempts-1) capped at max,
// with "equal jitter" (uniformly in [d/2, d]); never less than a server's Retry-After.
millis backoff_delay(const batcher_options& opts, std::int32_t attempts, millis retry_after_ms,
                     std::uint64_t random);

}  // namespace memoryd
