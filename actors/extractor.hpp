// extractor: runs one extraction at a time for one user: the user's active facts and new
// messages in, fact operations out, applied by the fact writer. Replies extract_outcome.
#pragma once

#include <caf/fwd.hpp>

#include <chrono>
#include <memory>

namespace memoryd {

class extractor_backend;

struct extractor_options {
  // Bound on each request to the fact writer.
  std::chrono::milliseconds writer_timeout{30000};
};

// `detach`: own thread, for backends that block (LLM calls). false under the test
// coordinator.
caf::actor spawn_extractor(caf::actor_system& sys, caf::actor fact_writer,
                           std::shared_ptr<extractor_backend> backend, extractor_options opts,
                           bool detach);

}  // namespace memoryd
