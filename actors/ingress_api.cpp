#include "actors/ingress_api.hpp"

#include <caf/all.hpp>

#include "actors/ingress_queue.hpp"
#include "actors/request_error.hpp"
#include "actors/search_pool.hpp"

namespace memoryd {
namespace {

std::string context_text(const caf::error& e) {
  if (e.context().match_elements<std::string>()) return e.context().get_as<std::string>(0);
  return "invalid request";
}

api_failure to_failure(caf::actor_system& sys, const caf::error& e) {
  if (is_request_error(e, request_error::invalid_input))
    return {400, "invalid_field", context_text(e)};
  if (is_request_error(e, request_error::not_found)) return {404, "not_found", context_text(e)};
  return {503, "unavailable", "the service could not complete the request: " + sys.render(e)};
}

// A bridge: one per HTTP call, alive until the ingress answers. Its data travels as spawn
// arguments, never as lambda captures: CAF 0.17.6 dereferences a null argument tuple when a
// function is spawned without arguments (undefined behaviour, caught by UBSan).
template <class T, class... Ts>
void bridge(caf::event_based_actor* self, ingress_actor target, std::chrono::milliseconds timeout,
            callback<T> done, Ts... xs) {
  self->request(target, timeout, std::move(xs)...)
      .then([=](T& value) { done(outcome<T>::success(std::move(value))); },
            [=](caf::error& e) { done(outcome<T>::fail(to_failure(self->system(), e))); });
}

}  // namespace

ingress_api::ingress_api(caf::actor_system& sys, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds cycle_timeout, persistence_actor persistence,
                         std::shared_ptr<ingress_queue> queue, std::shared_ptr<search_pool> search)
    : sys_(sys),
      timeout_(timeout),
      cycle_timeout_(cycle_timeout),
      persistence_(std::move(persistence)),
      queue_(std::move(queue)),
      search_(std::move(search)) {}

void ingress_api::set_ingress(ingress_actor ingress) { ingress_ = std::move(ingress); }

template <class T, class... Ts>
void ingress_api::call(std::chrono::milliseconds timeout, callback<T> done, Ts... xs) {
  sys_.spawn(bridge<T, Ts...>, ingress_, timeout, std::move(done), std::move(xs)...);
}

void ingress_api::ingest(std::vector<new_message> msgs,
                         callback<std::vector<ingest_outcome>> done) {
  if (queue_->push({std::move(msgs), std::move(done), ingress_queue::clock::now() + timeout_}))
    caf::anon_send(persistence_, ingests_queued_atom_v);
}
void ingress_api::history(history_query q, callback<std::vector<stored_message>> done) {
  call(timeout_, std::move(done), history_atom_v, std::move(q));
}
void ingress_api::facts(fact_query q, callback<fact_listing> done) {
  call(timeout_, std::move(done), facts_atom_v, std::move(q));
}
void ingress_api::health(callback<health_report> done) {
  call(timeout_, std::move(done), health_atom_v);
}
void ingress_api::add_fact(std::string user_id, std::string text, std::string category,
                           callback<fact> done) {
  call(timeout_, std::move(done), remember_atom_v, std::move(user_id), std::move(text),
       std::move(category));
}
void ingress_api::delete_fact(std::string user_id, std::string fact_id, callback<bool> done) {
  call(timeout_, std::move(done), forget_atom_v, std::move(user_id), std::move(fact_id));
}
void ingress_api::erase_user(std::string user_id, callback<erase_report> done) {
  call(timeout_, std::move(done), erase_atom_v, std::move(user_id));
}
void ingress_api::run_cycle(callback<cycle_result> done) {
  // A cycle may take as long as its extractions: bounded by the processor's lease.
  call(cycle_timeout_, std::move(done), run_atom_v);
}
void ingress_api::status(callback<status_report> done) {
  call(timeout_, std::move(done), status_atom_v);
}
void ingress_api::retry_dead(std::vector<std::string> ids, callback<std::int64_t> done) {
  call(timeout_, std::move(done), retry_dead_atom_v, std::move(ids));
}
void ingress_api::dead_letters(dead_letter_query q, callback<std::vector<stored_message>> done) {
  call(timeout_, std::move(done), dead_list_atom_v, q);
}
void ingress_api::processor_history(millis window_ms, callback<history_window> done) {
  call(timeout_, std::move(done), proc_hist_atom_v, window_ms);
}
void ingress_api::ready(callback<health_report> done) {
  call(timeout_, std::move(done), ready_atom_v);
}
void ingress_api::search_facts(search_request r, callback<std::vector<scored_fact>> done) {
  if (!search_)
    return done(outcome<std::vector<scored_fact>>::fail({503, "unavailable", "no search"}));
  search_->search(std::move(r), std::move(done));
}
void ingress_api::context(context_request r, callback<memory_context> done) {
  if (!search_) return done(outcome<memory_context>::fail({503, "unavailable", "no search"}));
  search_->context(std::move(r), std::move(done));
}
}  // namespace memoryd
