// ingress_api: the service_api the HTTP layer calls on its io threads, answered by the
// pipeline. An ingest goes onto the ingress queue for persistence (the hot path: no actor in
// between); every other call spawns a tiny bridge actor that requests the ingress, so no io
// thread ever blocks, and hands the answer to the callback, which posts it back onto the
// connection's strand (docs/ARCHITECTURE.md, "HTTP to actors").
#pragma once

#include <caf/fwd.hpp>

#include <chrono>
#include <memory>

#include "actors/protocol.hpp"
#include "http/service_api.hpp"

namespace memoryd {

class ingress_queue;
class search_pool;

class ingress_api final : public service_api {
 public:
  ingress_api(caf::actor_system& sys, std::chrono::milliseconds timeout,
              std::chrono::milliseconds cycle_timeout, persistence_actor persistence,
              std::shared_ptr<ingress_queue> queue, std::shared_ptr<search_pool> search);
  // The ingress is spawned with the server that calls this, so it comes second.
  void set_ingress(ingress_actor ingress);

  void ingest(std::vector<new_message> msgs, callback<std::vector<ingest_outcome>> done) override;
  void history(history_query q, callback<std::vector<stored_message>> done) override;
  void facts(fact_query q, callback<fact_listing> done) override;
  void health(callback<health_report> done) override;
  void add_fact(std::string user_id, std::string text, std::string category,
                callback<fact> done) override;
  void delete_fact(std::string user_id, std::string fact_id, callback<bool> done) override;
  void erase_user(std::string user_id, callback<erase_report> done) override;
  void run_cycle(callback<cycle_result> done) override;
  void status(callback<status_report> done) override;
  void retry_dead(std::vector<std::string> ids, callback<std::int64_t> done) override;
  void ready(callback<health_report> done) override;
  void dead_letters(dead_letter_query q, callback<std::vector<stored_message>> done) override;
  void processor_history(millis window_ms, callback<history_window> done) override;
  // Straight to the search pool's reader threads, like an ingest to its queue: no actor in
  // between.
  void search_facts(search_request r, callback<std::vector<scored_fact>> done) override;
  void context(context_request r, callback<memory_context> done) override;

 private:
  template <class T, class... Ts>
  void call(std::chrono::milliseconds timeout, callback<T> done, Ts... xs);

  caf::actor_system& sys_;
  const std::chrono::milliseconds timeout_;
  const std::chrono::milliseconds cycle_timeout_;
  persistence_actor persistence_;
  std::shared_ptr<ingress_queue> queue_;
  std::shared_ptr<search_pool> search_;  // null: search answers 503
  ingress_actor ingress_;
};

}  // namespace memoryd
