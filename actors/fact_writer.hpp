// fact_writer: the only writer of memory.db.
#pragma once

#include <caf/fwd.hpp>

#include <memory>

namespace memoryd {

class memory_store;

// Handles: facts (active facts of a user), events (a user's fact history), apply (a
// fact_batch, idempotently), health.
caf::actor spawn_fact_writer(caf::actor_system& sys, std::shared_ptr<memory_store> store,
                             bool detach);

}  // namespace memoryd
