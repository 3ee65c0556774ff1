// persistence: the only writer of conversation.db.
#pragma once

#include <caf/fwd.hpp>

#include <cstddef>
#include <memory>

namespace memoryd {

class conversation_store;
class ingest_handoff;

struct persistence_options {
  // Messages per transaction at most, so a flood cannot delay the first reply forever.
  std::size_t group_commit_max = 1024;
};

// Handles: ingest (group commit, replies once durable), history, claim, done, retry, dead,
// release, retry-dead, stats, health. `detach`: own thread (production); false under the
// test coordinator. `handoff`: ingests queued by the HTTP io threads, taken on handoff_atom
// (see ingest_handoff.hpp); closed when the actor ends.
caf::actor spawn_persistence(caf::actor_system& sys, std::shared_ptr<conversation_store> store,
                             persistence_options opts, bool detach,
                             std::shared_ptr<ingest_handoff> handoff = nullptr);

}  // namespace memoryd
