// ingress: owns the HTTP listener and turns its requests into messages to the pipeline
// (interface in actors/protocol.hpp). A request is answered only once its target has
// answered; an ingest, once its messages are committed.
#pragma once

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/protocol.hpp"
#include "http/server.hpp"

namespace memoryd {

class ingress_queue;
class search_pool;

struct ingress_options {
  server_options http;
  std::chrono::milliseconds request_timeout{10000};  // pipeline answer bound (-> 503)
  std::chrono::milliseconds cycle_timeout{600000};   // POST /v1/processor/run
  std::chrono::milliseconds shutdown_grace{5000};
  // Shown by GET /v1/processor/status: the extractor backend and its model.
  std::string extractor = "rules";
  std::string model;
};

// The rest of the pipeline, as the ingress sees it.
struct ingress_targets {
  persistence_actor persistence;
  fact_writer_actor fact_writer;
  batcher_actor batcher;
  // Ingests from the io threads go here; `persistence` must have been spawned with it.
  std::shared_ptr<ingress_queue> queue;
  // Fact search and the memory block (reader threads of their own); null: those answer 503.
  std::shared_ptr<search_pool> search;
  // The processor history and the alerts; null: history answers 503, status has no alerts.
  monitor_actor monitor;
};

struct ingress_handle {
  ingress_actor actor;
  std::uint16_t port = 0;
};

// Spawns the ingress and starts listening. Throws std::runtime_error if it cannot listen.
ingress_handle start_ingress(caf::actor_system& sys, ingress_targets targets, ingress_options opts,
                             spawn_mode mode);

}  // namespace memoryd
