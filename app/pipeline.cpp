#include "app/pipeline.hpp"

#include <caf/all.hpp>

#include "actors/alert_webhook.hpp"
#include "actors/batcher.hpp"
#include "actors/extractor.hpp"
#include "actors/fact_writer.hpp"
#include "actors/ingress.hpp"
#include "actors/ingress_queue.hpp"
#include "actors/monitor.hpp"
#include "actors/persistence.hpp"
#include "actors/protocol.hpp"
#include "actors/search_pool.hpp"
#include "actors/ticker.hpp"
#include "app/storage.hpp"
#include "core/log.hpp"
#include "extract/llm_backend.hpp"
#include "extract/rules.hpp"

namespace memoryd {
std::shared_ptr<extractor_backend> make_extractor_backend(const config& cfg) {
  if (cfg.extractor.backend == "rules") return std::make_shared<rule_extractor>();
  const auto& p = cfg.extractor.backend == "anthropic" ? cfg.anthropic : cfg.openai;
  llm_options o;
  o.provider = cfg.extractor.backend;
  o.base_url = p.base_url;
  o.api_key = p.api_key;
  o.model = p.model;
  o.max_tokens = cfg.llm.max_tokens;
  o.token_limit_field = p.max_tokens_field;
  o.timeout = std::chrono::milliseconds(cfg.llm.timeout_ms);
  o.ca_file = cfg.llm.ca_file;
  o.structured_output = cfg.llm.structured_output;
  try {
    return std::make_shared<llm_extractor>(o);
  } catch (const std::exception& e) {
    throw config_error(cfg.llm.ca_file.empty() ? "extractor.backend" : "llm.ca_file", e.what());
  }
}

pipeline start_pipeline(caf::actor_system& sys, const config& cfg, pipeline_mode mode) {
  auto [conv, mem] = open_stores(storage_options_of(cfg));
  pipeline p;
  auto queue = std::make_shared<ingress_queue>();
  p.persistence = spawn_persistence(
      sys, conv, queue, persistence_options{static_cast<std::size_t>(cfg.storage.group_commit_max)},
      spawn_mode::detached);
  p.fact_writer = spawn_fact_writer(sys, mem, fact_writer_options{2 * cfg.processor.lease_ms},
                                    spawn_mode::detached);
  // One backend per extractor: an LLM backend keeps its own connection and is not shared.
  extractor_options eo;
  eo.writer_timeout =
      std::chrono::milliseconds(cfg.storage.busy_timeout_ms) + std::chrono::seconds(30);
  bool with_context = false;
  for (std::int64_t i = 0; i < cfg.extractor.pool_size; ++i) {
    auto backend = make_extractor_backend(cfg);
    with_context = backend->reads_context();
    p.extractors.push_back(
        spawn_extractor(sys, p.fact_writer, std::move(backend), eo, spawn_mode::detached));
  }
  batcher_options bo;
  bo.batch_size = static_cast<std::int32_t>(cfg.processor.batch_size);
  bo.per_user_batch_size = static_cast<std::int32_t>(cfg.processor.per_user_batch_size);
  bo.max_attempts = static_cast<std::int32_t>(cfg.processor.max_attempts);
  bo.retry_base_ms = cfg.processor.retry_base_ms;
  bo.retry_max_ms = cfg.processor.retry_max_ms;
  bo.lease_ms = cfg.processor.lease_ms;
  bo.backfill_share = cfg.processor.backfill_share;
  bo.quiet_ms = cfg.processor.quiet_ms;
  bo.max_wait_ms = cfg.processor.max_wait_ms;
  bo.with_context = with_context;
  bo.drain_backlog = mode == pipeline_mode::serve;
  p.batcher = spawn_batcher(sys, p.persistence, p.extractors, bo);
  if (mode == pipeline_mode::process_once) return p;

  if (!cfg.alerts.webhook_url.empty()) {
    alert_webhook_options wo;
    wo.url = cfg.alerts.webhook_url;
    wo.ca_file = cfg.llm.ca_file;
    p.webhook = std::make_shared<alert_webhook>(wo);
  }
  monitor_options mo;
  mo.interval = std::chrono::milliseconds(cfg.history.interval_ms);
  mo.rules.failure_rate = cfg.alerts.failure_rate;
  mo.rules.min_attempts = cfg.alerts.min_attempts;
  mo.rules.window_ms = cfg.alerts.window_ms;
  mo.rules.oldest_pending_ms = cfg.alerts.oldest_pending_ms;
  mo.rules.dead_letters = cfg.alerts.dead_letters;
  if (p.webhook)
    mo.notify = [w = p.webhook](const alert_state& s, millis window) {
      w->notify(s, window, wall_clock_ms());
    };
  p.monitor = spawn_monitor(sys, p.persistence, p.batcher, std::move(mo));

  ingress_options io;
  io.extractor = cfg.extractor.backend;
  if (cfg.extractor.backend != "rules")
    io.model = cfg.extractor.backend == "anthropic" ? cfg.anthropic.model : cfg.openai.model;
  io.http.address = cfg.listen_host();
  io.http.port = cfg.listen_port();
  io.http.threads = static_cast<int>(cfg.server.io_threads);
  io.http.body_limit = static_cast<std::size_t>(cfg.server.max_body_bytes);
  io.http.header_limit = static_cast<std::size_t>(cfg.server.max_header_bytes);
  io.http.read_timeout = std::chrono::milliseconds(cfg.server.read_timeout_ms);
  io.http.idle_timeout = std::chrono::milliseconds(cfg.server.idle_timeout_ms);
  io.http.max_connections = static_cast<std::size_t>(cfg.server.max_connections);
  io.http.api_token = cfg.server.api_token;
  for (auto& g : parse_api_tokens(cfg.server.api_tokens))
    io.http.scoped_tokens.emplace_back(g.scope, g.token);
  io.http.metrics_need_token = !is_loopback_host(cfg.listen_host()) && !cfg.server.metrics_public;
  io.http.twilio_auth_token = cfg.twilio.auth_token;
  io.http.twilio_webhook_url = cfg.twilio.webhook_url;
  io.http.tls_cert_file = cfg.server.tls_cert;
  io.http.tls_key_file = cfg.server.tls_key;
  io.cycle_timeout = std::chrono::milliseconds(cfg.processor.lease_ms) * 2;
  io.shutdown_grace = std::chrono::milliseconds(cfg.server.shutdown_grace_ms);
  // A backstop behind the pipeline's own deadlines (request_timeout, the ingress queue's).
  io.http.reply_timeout = io.request_timeout + std::chrono::seconds(5);
  // One search reader per io thread: each can have a search in flight (docs/ARCHITECTURE.md,
  // "Search"). The memory store above has migrated the schema the readers expect.
  auto search =
      std::make_shared<search_pool>([o = storage_options_of(cfg)] { return open_fact_search(o); },
                                    static_cast<int>(cfg.server.io_threads), io.request_timeout);
  try {
    auto h = start_ingress(sys, {p.persistence, p.fact_writer, p.batcher, queue, search, p.monitor},
                           io, spawn_mode::detached);
    p.ingress = h.actor;
    p.port = h.port;
  } catch (const tls_error& e) {
    // A certificate or key that cannot be used is a configuration error, named by its key.
    stop_pipeline(sys, p, std::chrono::milliseconds(1000));
    throw config_error(e.which() == tls_error::file::cert ? "server.tls_cert" : "server.tls_key",
                       e.what());
  } catch (...) {
    stop_pipeline(sys, p, std::chrono::milliseconds(1000));
    throw;
  }
  if (cfg.processor.enabled) {
    p.ticker = spawn_ticker(sys, p.batcher, std::chrono::milliseconds(cfg.processor.interval_ms));
    log::info("memory_processor_started",
              {{"interval_ms", cfg.processor.interval_ms},
               {"batch_size", cfg.processor.batch_size},
               {"per_user_batch_size", cfg.processor.per_user_batch_size},
               {"pool_size", cfg.extractor.pool_size},
               {"extractor", cfg.extractor.backend}});
  } else {
    log::info("memory_processor_disabled");
  }
  return p;
}

void stop_pipeline(caf::actor_system& sys, pipeline& p, std::chrono::milliseconds grace) {
  caf::scoped_actor self{sys};
  auto ask = [&](const auto& a, auto atom, const char* what) {
    if (!a) return;
    self->request(a, grace + std::chrono::seconds(1), atom)
        .receive([](bool) {},
                 [&](caf::error& e) {
                   log::warn("shutdown_step_failed", {{"step", what}, {"error", sys.render(e)}});
                 });
  };
  ask(p.ingress, stop_atom_v, "http");  // answers what is in flight, accepts nothing new
  auto stop = [&](auto& a) {
    if (!a) return;
    self->send_exit(a, caf::exit_reason::user_shutdown);
    self->wait_for(a);
    a = nullptr;
  };
  stop(p.ticker);
  stop(p.monitor);
  p.webhook.reset();                          // a POST under way is bounded by its timeout
  ask(p.batcher, drain_atom_v, "processor");  // in-flight work finishes, queued work released
  stop(p.batcher);
  for (auto& e : p.extractors) stop(e);
  stop(p.ingress);
  stop(p.fact_writer);
  stop(p.persistence);
  log::info("memory_processor_stopped");
}

}  // namespace memoryd
