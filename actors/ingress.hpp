// ingress: owns the HTTP listener and turns its requests into messages to persistence
// and the fact writer. A request is answered only once its target has answered (for an
// ingest: once the messages are committed).
#pragma once

#include <caf/actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

#include "http/server.hpp"

namespace memoryd {

class ingest_handoff;

struct ingress_options {
  server_options http;
  std::chrono::milliseconds request_timeout{10000};  // pipeline answer bound (-> 503)
  std::chrono::milliseconds cycle_timeout{600000};   // POST /v1/processor/run
  std::chrono::milliseconds shutdown_grace{5000};
};

struct ingress_handle {
  caf::actor actor;
  std::uint16_t port = 0;
};

// Spawns the ingress and starts listening. Throws std::runtime_error if it cannot listen.
// Ingests go through `handoff` to `persistence` (spawned with the same handoff).
// `stop` makes it stop accepting, finish requests in flight (up to the grace period),
// close the listener and quit; it replies true when done.
ingress_handle start_ingress(caf::actor_system& sys, caf::actor persistence,
                             std::shared_ptr<ingest_handoff> handoff, caf::actor fact_writer,
                             caf::actor batcher, ingress_options opts, bool detach);

}  // namespace memoryd
