// extractor: one extraction at a time for one user: the user's active facts and new messages
// in, fact operations out, applied by the fact writer (interface in actors/protocol.hpp).
#pragma once

#include <caf/fwd.hpp>

#include <chrono>
#include <memory>

#include "actors/protocol.hpp"

namespace memoryd {

class extractor_backend;

struct extractor_options {
  // Bound on each request to the fact writer.
  std::chrono::milliseconds writer_timeout{30000};
};

// spawn_mode::detached for backends that block (LLM calls): each extractor its own thread.
extractor_actor spawn_extractor(caf::actor_system& sys, fact_writer_actor fact_writer,
                                std::shared_ptr<extractor_backend> backend, extractor_options opts,
                                spawn_mode mode);

}  // namespace memoryd
