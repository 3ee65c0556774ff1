// What the HTTP layer asks of the service. The HTTP layer parses and validates requests,
// calls one of these, and renders the outcome; the ingress actor implements it by
// messaging the pipeline. Callbacks may run on any thread, exactly once each.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/alerts.hpp"
#include "domain/fact.hpp"
#include "domain/message.hpp"
#include "domain/processing.hpp"
#include "domain/processor_history.hpp"
#include "domain/queue.hpp"
#include "domain/search.hpp"

namespace memoryd {

struct api_failure {
  int http_status = 503;
  std::string code = "unavailable";  // machine-readable, e.g. "storage_unavailable"
  std::string message;
};

template <class T>
struct outcome {
  std::optional<T> value;
  api_failure failure;  // meaningful when !value
  bool ok() const { return value.has_value(); }
  static outcome success(T v) { return outcome{std::move(v), {}}; }
  static outcome fail(api_failure f) { return outcome{std::nullopt, std::move(f)}; }
};

template <class T>
using callback = std::function<void(outcome<T>)>;

struct health_report {
  bool ok = true;
  std::string detail;
};

// GET /v1/processor/status.
struct status_report {
  queue_stats queue;
  processor_status processor;
  std::string extractor;  // backend: rules, anthropic, openai
  std::string model;      // the LLM's model; empty for rules
  std::vector<alert_state> alerts;
};

class service_api {
 public:
  virtual ~service_api() = default;
  // Answers only once every message is durable (committed).
  virtual void ingest(std::vector<new_message> msgs,
                      callback<std::vector<ingest_outcome>> done) = 0;
  virtual void history(history_query q, callback<std::vector<stored_message>> done) = 0;
  virtual void facts(fact_query q, callback<fact_listing> done) = 0;
  virtual void health(callback<health_report> done) = 0;

  // The rest of the API. Defaults answer 501 so that partial implementations (test fakes)
  // stay valid.
  //
  // Explicit "remember this": an add with cause "api". Answers the stored (or already
  // known) fact.
  virtual void add_fact(std::string /*user_id*/, std::string /*text*/, std::string /*category*/,
                        callback<fact> done) {
    not_implemented(std::move(done));
  }
  // Explicit "forget this". Answers false when the user has no active fact with that id.
  virtual void delete_fact(std::string /*user_id*/, std::string /*fact_id*/, callback<bool> done) {
    not_implemented(std::move(done));
  }
  // Erases every message, fact, fact event and pending work of the user.
  virtual void erase_user(std::string /*user_id*/, callback<erase_report> done) {
    not_implemented(std::move(done));
  }
  // Runs one processing cycle now; answers once it is complete.
  virtual void run_cycle(callback<cycle_result> done) { not_implemented(std::move(done)); }
  virtual void status(callback<status_report> done) { not_implemented(std::move(done)); }
  // Dead-lettered messages back to pending (empty ids: all). Answers how many.
  virtual void retry_dead(std::vector<std::string> /*ids*/, callback<std::int64_t> done) {
    not_implemented(std::move(done));
  }
  // A page of dead letters, newest first (GET /v1/processor/dead).
  virtual void dead_letters(dead_letter_query /*q*/, callback<std::vector<stored_message>> done) {
    not_implemented(std::move(done));
  }
  // The processor history of the last `window_ms` (GET /v1/processor/history).
  virtual void processor_history(millis /*window_ms*/, callback<history_window> done) {
    not_implemented(std::move(done));
  }
  // The user's active facts ranked by relevance to r.query (GET .../facts/search).
  virtual void search_facts(search_request /*r*/, callback<std::vector<scored_fact>> done) {
    not_implemented(std::move(done));
  }
  // The prompt-ready memory block (GET .../context).
  virtual void context(context_request /*r*/, callback<memory_context> done) {
    not_implemented(std::move(done));
  }
  // Readiness: databases open and the pipeline running.
  virtual void ready(callback<health_report> done) { not_implemented(std::move(done)); }

 private:
  template <class T>
  static void not_implemented(callback<T> done) {
    done(outcome<T>::fail({501, "not_implemented", "not implemented by this service"}));
  }
};

}  // namespace memoryd
