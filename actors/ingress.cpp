// ingress: the CAF side of the HTTP server.
//
// The HTTP layer calls service_api on its io threads; each call spawns a tiny bridge actor
// that requests the ingress (never blocking an io thread) and hands the answer to the
// callback, which posts it back onto the connection's strand.
#include "actors/ingress.hpp"

#include <caf/all.hpp>

#include "actors/protocol.hpp"

namespace memoryd {
namespace {

api_failure unavailable(caf::event_based_actor* self, const caf::error& e) {
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
            [=](caf::error& e) { done(outcome<T>::fail(unavailable(self, e))); });
}

void facts_bridge(caf::event_based_actor* self, caf::actor target,
                  std::chrono::milliseconds timeout, callback<fact_listing> done,
                  std::string user_id, bool with_history) {
  self->request(target, timeout, facts_atom_v, std::move(user_id), with_history)
      .then(
          [=](std::vector<fact>& f, std::vector<fact_event>& e) {
            done(outcome<fact_listing>::success({std::move(f), std::move(e)}));
          },
          [=](caf::error& e) { done(outcome<fact_listing>::fail(unavailable(self, e))); });
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

class actor_api final : public service_api {
 public:
  actor_api(caf::actor_system& sys, std::chrono::milliseconds timeout)
      : sys_(sys), timeout_(timeout) {}
  void set_target(caf::actor ingress) { target_ = std::move(ingress); }

  void ingest(std::vector<new_message> msgs, callback<std::vector<ingest_outcome>> done) override {
    sys_.spawn(bridge<std::vector<ingest_outcome>, ingest_atom, std::vector<new_message>>, target_,
               timeout_, std::move(done), ingest_atom_v, std::move(msgs));
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

 private:
  caf::actor_system& sys_;
  std::chrono::milliseconds timeout_;
  caf::actor target_;
};

struct ingress_state {
  std::shared_ptr<http_server> server;
  ingress_options opts;
};

using ingress_actor = caf::stateful_actor<ingress_state>;

// Both databases answer a cheap read.
caf::result<bool> on_health(ingress_actor* self, caf::actor persistence, caf::actor fact_writer) {
  auto rp = self->make_response_promise<bool>();
  auto t = self->state.opts.request_timeout;
  self->request(persistence, t, health_atom_v)
      .then(
          [=](bool) mutable {
            self->request(fact_writer, t, health_atom_v)
                .then([=](bool ok) mutable { rp.deliver(ok); },
                      [=](caf::error& e) mutable { rp.deliver(e); });
          },
          [=](caf::error& e) mutable { rp.deliver(e); });
  return rp;
}

caf::result<std::vector<fact>, std::vector<fact_event>> on_facts(ingress_actor* self,
                                                                 caf::actor fact_writer,
                                                                 const std::string& user,
                                                                 bool with_history) {
  auto rp = self->make_response_promise<std::vector<fact>, std::vector<fact_event>>();
  auto t = self->state.opts.request_timeout;
  self->request(fact_writer, t, facts_atom_v, user)
      .then(
          [=](std::vector<fact>& facts) mutable {
            if (!with_history) {
              rp.deliver(std::move(facts), std::vector<fact_event>{});
              return;
            }
            self->request(fact_writer, t, events_atom_v, user)
                .then(
                    [=](std::vector<fact_event>& ev) mutable { rp.deliver(facts, std::move(ev)); },
                    [=](caf::error& e) mutable { rp.deliver(e); });
          },
          [=](caf::error& e) mutable { rp.deliver(e); });
  return rp;
}

void stop_server(ingress_actor* self) {
  if (auto srv = std::move(self->state.server)) {
    srv->stop(self->state.opts.shutdown_grace);
  }
}

caf::behavior ingress(ingress_actor* self, std::shared_ptr<http_server> server,
                      caf::actor persistence, caf::actor fact_writer, ingress_options opts) {
  self->state.server = std::move(server);
  self->state.opts = opts;
  // However the actor ends, the listener stops. The functor runs after the state is gone,
  // so it holds the server itself (stop() is idempotent).
  self->attach_functor([srv = self->state.server, grace = opts.shutdown_grace] {
    if (srv) srv->stop(grace);
  });
  return {
      [=](ingest_atom a, std::vector<new_message>& m) {
        return self->delegate(persistence, a, std::move(m));
      },
      [=](history_atom a, history_query& q) {
        return self->delegate(persistence, a, std::move(q));
      },
      [=](facts_atom, const std::string& user, bool with_history) {
        return on_facts(self, fact_writer, user, with_history);
      },
      [=](health_atom) { return on_health(self, persistence, fact_writer); },
      [=](stop_atom) {
        stop_server(self);
        self->quit();
        return true;
      },
  };
}

}  // namespace

ingress_handle start_ingress(caf::actor_system& sys, caf::actor persistence, caf::actor fact_writer,
                             ingress_options opts, bool detach) {
  auto api = std::make_shared<actor_api>(sys, opts.request_timeout);
  auto server = std::make_shared<http_server>(opts.http, api);
  auto actor = detach ? sys.spawn<caf::detached>(ingress, server, persistence, fact_writer, opts)
                      : sys.spawn(ingress, server, persistence, fact_writer, opts);
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
