// Builds the actor pipeline from a config and takes it down in order.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "actors/protocol.hpp"
#include "app/config.hpp"

namespace memoryd {

class extractor_backend;
class alert_webhook;

struct pipeline {
  persistence_actor persistence;
  fact_writer_actor fact_writer;
  std::vector<extractor_actor> extractors;
  batcher_actor batcher;
  tick_receiver_actor ticker;
  monitor_actor monitor;                   // history and alerts, when serving
  std::shared_ptr<alert_webhook> webhook;  // alerts.webhook_url's sender, when set
  ingress_actor ingress;
  std::uint16_t port = 0;  // HTTP port, when serving
};

enum class pipeline_mode { serve, process_once };

std::shared_ptr<extractor_backend> make_extractor_backend(const config& cfg);

// Opens both databases (creating their directories), spawns the actors and, when serving,
// starts the HTTP listener and (if processor.enabled) the ticker. Throws std::runtime_error
// with a message for the user when a database cannot be opened or the port cannot be bound,
// and config_error naming server.tls_cert or server.tls_key when TLS cannot be set up.
pipeline start_pipeline(caf::actor_system& sys, const config& cfg, pipeline_mode mode);

// Shutdown order: stop accepting and answer requests in flight; stop ticking; let the
// batcher finish or release its work; then the extractors and the stores (which close
// their databases). Each step is bounded by `grace`.
void stop_pipeline(caf::actor_system& sys, pipeline& p, std::chrono::milliseconds grace);

}  // namespace memoryd
