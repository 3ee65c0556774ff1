// ingress: the CAF side of the HTTP server.
//
// The HTTP layer calls service_api on its io threads; each call spawns a tiny bridge actor
// that requests the ingress (never blocking an io thread) and hands the answer to the
// callback, which posts it back onto the connection's strand. Ingests, the hot path, skip
// the bridge: they go through the ingest handoff straight to the persistence actor.
#include "actors/ingress.hpp"

#include <caf/all.hpp>

#include "actors/ingest_handoff.hpp"
#include "actors/protocol.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "domain/fact_text.hpp"
#include "store/memory_store.hpp"

namespace memoryd {
namespace {

// Errors the ingress raises on purpose carry their meaning in the CAF error code; anything
// else (timeouts, storage failures) is "unavailable".
// Errors the ingress raises for the caller's mistakes, in their own category.
enum class api_errc : std::uint8_t { invalid_input = 1, not_found = 2 };

caf::error api_error(api_errc code, std::string message) {
  return caf::error(static_cast<std::uint8_t>(code), caf::atom("memoryd"),
                    caf::make_message(std::move(message)));
}

bool is(const caf::error& e, api_errc code) {
  return e.category() == caf::atom("memoryd") && e.code() == static_cast<std::uint8_t>(code);
}

std::string context_text(const caf::error& e) {
  if (e.context().match_elements<std::string>()) return e.context().get_as<std::string>(0);
  return "invalid request";
}

api_failure to_failure(caf::event_based_actor* self, const caf::error& e) {
  if (is(e, api_errc::invalid_input)) return {400, "invalid_field", context_text(e)};
  if (is(e, api_errc::not_found)) return {404, "not_found", context_text(e)};
  return {503, "unavailable",
          "the service could not complete the request: " + self->system().render(e)};
}

// Bridge actors: one per HTTP call, alive until the answer arrives. Their data travels as
// spawn arguments, never as lambda captures: CAF 0.17.6 dereferences a null argument tuple
// when a function is spawned without arguments (undefined behaviour, caught by UBSan).
template <class T, class... Ts>
void bridge(caf::event_based_actor* self, caf::actor target, std::chrono::milliseconds timeout,
            callback<T> done, Ts... xs) {
  self->request(target, timeout, std::move(xs)...)
      .then([=](T& value) { done(outcome<T>::success(std::move(value))); },
            [=](caf::error& e) { done(outcome<T>::fail(to_failure(self, e))); });
}

void facts_bridge(caf::event_based_actor* self, caf::actor target,
                  std::chrono::milliseconds timeout, callback<fact_listing> done,
                  std::string user_id, bool with_history) {
  self->request(target, timeout, facts_atom_v, std::move(user_id), with_history)
      .then(
          [=](std::vector<fact>& f, std::vector<fact_event>& e) {
            done(outcome<fact_listing>::success({std::move(f), std::move(e)}));
          },
          [=](caf::error& e) { done(outcome<fact_listing>::fail(to_failure(self, e))); });
}

void health_bridge(caf::event_based_actor* self, caf::actor target,
                   std::chrono::milliseconds timeout, callback<health_report> done) {
  self->request(target, timeout, health_atom_v)
      .then(
          [=](bool ok) {
            done(outcome<health_report>::success({ok, ""}));
          },
          [=](caf::error& e) {
            done(outcome<health_report>::success({false, self->system().render(e)}));
          });
}

void status_bridge(caf::event_based_actor* self, caf::actor target,
                   std::chrono::milliseconds timeout, callback<status_report> done) {
  self->request(target, timeout, status_atom_v)
      .then(
          [=](queue_stats& q, processor_status& p) {
            done(outcome<status_report>::success({std::move(q), std::move(p)}));
          },
          [=](caf::error& e) { done(outcome<status_report>::fail(to_failure(self, e))); });
}

void ready_bridge(caf::event_based_actor* self, caf::actor target,
                  std::chrono::milliseconds timeout, callback<health_report> done) {
  self->request(target, timeout, ready_atom_v)
      .then(
          [=](bool ok) {
            done(outcome<health_report>::success({ok, ok ? "" : "stopping"}));
          },
          [=](caf::error& e) {
            done(outcome<health_report>::success({false, self->system().render(e)}));
          });
}

class actor_api final : public service_api {
 public:
  actor_api(caf::actor_system& sys, std::chrono::milliseconds timeout,
            std::chrono::milliseconds cycle_timeout, caf::actor persistence,
            std::shared_ptr<ingest_handoff> handoff)
      : sys_(sys),
        timeout_(timeout),
        cycle_timeout_(cycle_timeout),
        persistence_(std::move(persistence)),
        handoff_(std::move(handoff)) {}
  void set_target(caf::actor ingress) { target_ = std::move(ingress); }

  void ingest(std::vector<new_message> msgs, callback<std::vector<ingest_outcome>> done) override {
    if (handoff_->push({std::move(msgs), std::move(done), ingest_handoff::clock::now() + timeout_}))
      caf::anon_send(persistence_, handoff_atom_v);
  }
  void history(history_query q, callback<std::vector<stored_message>> done) override {
    sys_.spawn(bridge<std::vector<stored_message>, history_atom, history_query>, target_, timeout_,
               std::move(done), history_atom_v, std::move(q));
  }
  void facts(std::string user_id, bool with_history, callback<fact_listing> done) override {
    sys_.spawn(facts_bridge, target_, timeout_, std::move(done), std::move(user_id), with_history);
  }
  void health(callback<health_report> done) override {
    sys_.spawn(health_bridge, target_, timeout_, std::move(done));
  }
  void add_fact(std::string user_id, std::string text, std::string category,
                callback<fact> done) override {
    sys_.spawn(bridge<fact, remember_atom, std::string, std::string, std::string>, target_,
               timeout_, std::move(done), remember_atom_v, std::move(user_id), std::move(text),
               std::move(category));
  }
  void delete_fact(std::string user_id, std::string fact_id, callback<bool> done) override {
    sys_.spawn(bridge<bool, forget_atom, std::string, std::string>, target_, timeout_,
               std::move(done), forget_atom_v, std::move(user_id), std::move(fact_id));
  }
  void erase_user(std::string user_id, callback<erase_report> done) override {
    sys_.spawn(bridge<erase_report, erase_atom, std::string>, target_, timeout_, std::move(done),
               erase_atom_v, std::move(user_id));
  }
  void run_cycle(callback<cycle_result> done) override {
    // A cycle may take as long as its extractions: bounded by the processor's lease.
    sys_.spawn(bridge<cycle_result, run_atom>, target_, cycle_timeout_, std::move(done),
               run_atom_v);
  }
  void status(callback<status_report> done) override {
    sys_.spawn(status_bridge, target_, timeout_, std::move(done));
  }
  void retry_dead(std::vector<std::string> ids, callback<std::int64_t> done) override {
    sys_.spawn(bridge<std::int64_t, dead_atom, retry_atom, std::vector<std::string>>, target_,
               timeout_, std::move(done), dead_atom_v, retry_atom_v, std::move(ids));
  }
  void ready(callback<health_report> done) override {
    sys_.spawn(ready_bridge, target_, timeout_, std::move(done));
  }
  void metrics(callback<std::string> done) override {
    sys_.spawn(bridge<std::string, metrics_atom>, target_, timeout_, std::move(done),
               metrics_atom_v);
  }

 private:
  caf::actor_system& sys_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds cycle_timeout_;
  caf::actor persistence_;
  std::shared_ptr<ingest_handoff> handoff_;
  caf::actor target_;
};

struct ingress_state {
  std::shared_ptr<http_server> server;
  ingress_options opts;
  caf::actor persistence, fact_writer, batcher;
};

using ingress_actor = caf::stateful_actor<ingress_state>;

millis wall_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Requests `dest` and hands the answer to `next`; errors go to the promise.
template <class Promise, class Next, class... Ts>
void then_or_fail(ingress_actor* self, Promise rp, const caf::actor& dest, Next next, Ts&&... xs) {
  self->request(dest, self->state.opts.request_timeout, std::forward<Ts>(xs)...)
      .then(std::move(next), [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
}

// Both databases answer a cheap read and the processor is not shutting down.
caf::result<bool> on_ready(ingress_actor* self) {
  auto rp = self->make_response_promise<bool>();
  auto& st = self->state;
  then_or_fail(
      self, rp, st.persistence,
      [=](bool) mutable {
        then_or_fail(
            self, rp, self->state.fact_writer,
            [=](bool) mutable {
              then_or_fail(
                  self, rp, self->state.batcher,
                  [=](processor_status& p) mutable { rp.deliver(p.running); }, status_atom_v);
            },
            health_atom_v);
      },
      health_atom_v);
  return rp;
}

caf::result<bool> on_health(ingress_actor* self) {
  auto rp = self->make_response_promise<bool>();
  then_or_fail(
      self, rp, self->state.persistence,
      [=](bool) mutable {
        then_or_fail(
            self, rp, self->state.fact_writer, [=](bool ok) mutable { rp.deliver(ok); },
            health_atom_v);
      },
      health_atom_v);
  return rp;
}

caf::result<std::vector<fact>, std::vector<fact_event>> on_facts(ingress_actor* self,
                                                                 const std::string& user,
                                                                 bool with_history) {
  auto rp = self->make_response_promise<std::vector<fact>, std::vector<fact_event>>();
  auto fw = self->state.fact_writer;
  then_or_fail(
      self, rp, fw,
      [=](std::vector<fact>& facts) mutable {
        if (!with_history) {
          rp.deliver(std::move(facts), std::vector<fact_event>{});
          return;
        }
        then_or_fail(
            self, rp, fw,
            [=](std::vector<fact_event>& ev) mutable { rp.deliver(facts, std::move(ev)); },
            events_atom_v, user);
      },
      facts_atom_v, user);
  return rp;
}

// "Remember this": an add with cause "api"; answers the fact as stored or as already known.
caf::result<fact> on_remember(ingress_actor* self, const std::string& user, const std::string& text,
                              const std::string& category) {
  auto rp = self->make_response_promise<fact>();
  auto fw = self->state.fact_writer;
  fact_batch b;
  b.user_id = user;
  b.cause = "api";
  b.now = wall_now();
  b.ops.push_back({"add", "", text, category, b.now, {}});
  auto norm = normalize_fact_text(text);
  then_or_fail(
      self, rp, fw,
      [=](apply_result& r) mutable {
        if (r.added + r.unchanged == 0) {
          rp.deliver(
              api_error(api_errc::invalid_input, "text: not a storable fact (empty or too long)"));
          return;
        }
        then_or_fail(
            self, rp, fw,
            [=](std::vector<fact>& facts) mutable {
              for (auto& f : facts)
                if (normalize_fact_text(f.text) == norm) {
                  rp.deliver(std::move(f));
                  return;
                }
              rp.deliver(caf::make_error(caf::sec::runtime_error, std::string("fact vanished")));
            },
            facts_atom_v, user);
      },
      apply_atom_v, std::move(b));
  return rp;
}

// "Forget this": a delete with cause "api".
caf::result<bool> on_forget(ingress_actor* self, const std::string& user,
                            const std::string& fact_id) {
  auto rp = self->make_response_promise<bool>();
  fact_batch b;
  b.user_id = user;
  b.cause = "api";
  b.now = wall_now();
  b.ops.push_back({"delete", fact_id, "", "", b.now, {}});
  then_or_fail(
      self, rp, self->state.fact_writer,
      [=](apply_result& r) mutable {
        if (r.deleted == 1) {
          rp.deliver(true);
          return;
        }
        rp.deliver(api_error(api_errc::not_found, "no active fact " + fact_id + " for this user"));
      },
      apply_atom_v, std::move(b));
  return rp;
}

// Messages first (no new extraction can start for them), then facts with an erasure mark
// that rejects whatever extraction was already in flight.
caf::result<erase_report> on_erase(ingress_actor* self, const std::string& user) {
  auto rp = self->make_response_promise<erase_report>();
  then_or_fail(
      self, rp, self->state.persistence,
      [=](std::int64_t messages) mutable {
        then_or_fail(
            self, rp, self->state.fact_writer,
            [=](erase_report& r) mutable {
              r.messages = messages;
              log::info("user_erased", {{"user", log::redact(user)},
                                        {"messages", r.messages},
                                        {"facts", r.facts},
                                        {"fact_events", r.fact_events}});
              rp.deliver(r);
            },
            erase_atom_v, user, wall_now());
      },
      erase_atom_v, user);
  return rp;
}

caf::result<queue_stats, processor_status> on_status(ingress_actor* self) {
  auto rp = self->make_response_promise<queue_stats, processor_status>();
  then_or_fail(
      self, rp, self->state.persistence,
      [=](queue_stats& q) mutable {
        then_or_fail(
            self, rp, self->state.batcher,
            [=](processor_status& p) mutable { rp.deliver(q, std::move(p)); }, status_atom_v);
      },
      stats_atom_v, wall_now());
  return rp;
}

std::string render_metrics(const queue_stats& q, const processor_status& p) {
  std::vector<metrics::gauge_value> g = {
      {"memoryd_queue_messages", "status=\"pending\"", double(q.pending)},
      {"memoryd_queue_messages", "status=\"leased\"", double(q.leased)},
      {"memoryd_queue_messages", "status=\"done\"", double(q.done)},
      {"memoryd_queue_messages", "status=\"dead\"", double(q.dead)},
      {"memoryd_queue_messages", "status=\"skipped\"", double(q.skipped)},
      {"memoryd_queue_oldest_pending_age_seconds", "", q.oldest_pending_age_ms / 1000.0},
      {"memoryd_queue_retry_scheduled", "", double(q.retry_scheduled)},
      {"memoryd_queue_users_waiting", "", double(q.users_waiting)},
      {"memoryd_extractors", "state=\"busy\"", double(p.in_flight)},
      {"memoryd_extractors", "state=\"pool\"", double(p.pool_size)},
      {"memoryd_extractors", "state=\"limit\"", double(p.concurrency_limit)},
  };
  return metrics::render(g);
}

caf::result<std::string> on_metrics(ingress_actor* self) {
  auto rp = self->make_response_promise<std::string>();
  then_or_fail(
      self, rp, self->state.persistence,
      [=](queue_stats& q) mutable {
        then_or_fail(
            self, rp, self->state.batcher,
            [=](processor_status& p) mutable { rp.deliver(render_metrics(q, p)); }, status_atom_v);
      },
      stats_atom_v, wall_now());
  return rp;
}

void stop_server(ingress_actor* self) {
  if (auto srv = std::move(self->state.server)) {
    srv->stop(self->state.opts.shutdown_grace);
  }
}

caf::behavior ingress(ingress_actor* self, std::shared_ptr<http_server> server,
                      caf::actor persistence, caf::actor fact_writer, caf::actor batcher,
                      ingress_options opts) {
  auto& st = self->state;
  st.server = std::move(server);
  st.opts = opts;
  st.persistence = persistence;
  st.fact_writer = fact_writer;
  st.batcher = batcher;
  // However the actor ends, the listener stops. The functor runs after the state is gone,
  // so it holds the server itself (stop() is idempotent).
  self->attach_functor([srv = st.server, grace = opts.shutdown_grace] {
    if (srv) srv->stop(grace);
  });
  // clang-format off
  return {
      [=](history_atom a, history_query& q) { return self->delegate(persistence, a, std::move(q)); },
      [=](facts_atom, const std::string& user, bool with_history) { return on_facts(self, user, with_history); },
      [=](remember_atom, const std::string& user, const std::string& text, const std::string& category) { return on_remember(self, user, text, category); },
      [=](forget_atom, const std::string& user, const std::string& fact_id) { return on_forget(self, user, fact_id); },
      [=](erase_atom, const std::string& user) { return on_erase(self, user); },
      [=](run_atom a) { return self->delegate(batcher, a); },
      [=](status_atom) { return on_status(self); },
      [=](dead_atom d, retry_atom r, std::vector<std::string>& ids) { return self->delegate(persistence, d, r, std::move(ids)); },
      [=](health_atom) { return on_health(self); },
      [=](ready_atom) { return on_ready(self); },
      [=](metrics_atom) { return on_metrics(self); },
      [=](stop_atom) { stop_server(self); self->quit(); return true; },
  };
  // clang-format on
}

}  // namespace

ingress_handle start_ingress(caf::actor_system& sys, caf::actor persistence,
                             std::shared_ptr<ingest_handoff> handoff, caf::actor fact_writer,
                             caf::actor batcher, ingress_options opts, bool detach) {
  auto api = std::make_shared<actor_api>(sys, opts.request_timeout, opts.cycle_timeout, persistence,
                                         std::move(handoff));
  auto server = std::make_shared<http_server>(opts.http, api);
  auto actor =
      detach ? sys.spawn<caf::detached>(ingress, server, persistence, fact_writer, batcher, opts)
             : sys.spawn(ingress, server, persistence, fact_writer, batcher, opts);
  api->set_target(actor);
  try {
    auto port = server->start();
    return {actor, port};
  } catch (...) {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    throw;
  }
}

}  // namespace memoryd
