// What the HTTP layer asks of the service. The HTTP layer parses and validates requests,
// calls one of these, and renders the outcome; the ingress actor implements it by
// messaging the pipeline. Callbacks may run on any thread, exactly once each.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/types.hpp"

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

struct fact_listing {
  std::vector<fact> facts;         // active facts
  std::vector<fact_event> events;  // only when asked for history
};

struct health_report {
  bool ok = true;
  std::string detail;
};

class service_api {
 public:
  virtual ~service_api() = default;
  // Answers only once every message is durable (committed).
  virtual void ingest(std::vector<new_message> msgs,
                      callback<std::vector<ingest_outcome>> done) = 0;
  virtual void history(history_query q, callback<std::vector<stored_message>> done) = 0;
  virtual void facts(std::string user_id, bool with_history, callback<fact_listing> done) = 0;
  virtual void health(callback<health_report> done) = 0;
};

}  // namespace memoryd
