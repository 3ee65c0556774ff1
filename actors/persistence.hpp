// persistence: the only writer of conversation.db (interface in actors/protocol.hpp).
#pragma once

#include <caf/fwd.hpp>

#include <cstddef>
#include <memory>

#include "actors/protocol.hpp"

namespace memoryd {

class conversation_store;
class ingress_queue;

struct persistence_options {
  // Messages per transaction at most, so a flood cannot delay the first reply forever.
  std::size_t group_commit_max = 1024;
};

// `queue`: the ingress queue whose ingests this actor commits (null in actor tests that send
// ingest messages only); closed when the actor ends.
persistence_actor spawn_persistence(caf::actor_system& sys,
                                    std::shared_ptr<conversation_store> store,
                                    std::shared_ptr<ingress_queue> queue, persistence_options opts,
                                    spawn_mode mode);

}  // namespace memoryd
