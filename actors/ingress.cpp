// ingress: the HTTP layer's calls as messages to the pipeline. Calls that need one actor are
// delegated to it; the others ask several in turn (erase: messages first, then facts) and
// answer once all have. Every request is bounded by request_timeout.
#include "actors/ingress.hpp"

#include <caf/all.hpp>

#include "actors/ingress_api.hpp"
#include "core/log.hpp"

namespace memoryd {
namespace {

struct ingress_state {
  std::shared_ptr<http_server> server;
  ingress_options opts;
  ingress_targets to;
};

using self_pointer = ingress_actor::stateful_pointer<ingress_state>;

// Requests `dest` and hands the answer to `next`; an error goes to the promise.
template <class Promise, class Dest, class Next, class... Ts>
void ask(self_pointer self, Promise rp, const Dest& dest, Next next, Ts&&... xs) {
  self->request(dest, self->state.opts.request_timeout, std::forward<Ts>(xs)...)
      .then(std::move(next), [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
}

// Both databases answer a cheap query; `next` gets the verdict.
template <class Next>
void check_databases(self_pointer self, Next next) {
  auto& to = self->state.to;
  auto timeout = self->state.opts.request_timeout;
  auto fail = [=](caf::error& e) mutable { next(health_report{false, self->system().render(e)}); };
  self->request(to.persistence, timeout, health_atom_v)
      .then(
          [=]() mutable {
            self->request(self->state.to.fact_writer, timeout, health_atom_v)
                .then(
                    [=]() mutable {
                      next(health_report{true, ""});
                    },
                    fail);
          },
          fail);
}

caf::result<health_report> on_health(self_pointer self) {
  auto rp = self->make_response_promise<health_report>();
  check_databases(self, [=](health_report h) mutable { rp.deliver(std::move(h)); });
  return rp;
}

// The databases answer and the processor is not shutting down.
caf::result<health_report> on_ready(self_pointer self) {
  auto rp = self->make_response_promise<health_report>();
  check_databases(self, [=](health_report h) mutable {
    if (!h.ok) {
      rp.deliver(std::move(h));
      return;
    }
    self->request(self->state.to.batcher, self->state.opts.request_timeout, status_atom_v)
        .then(
            [=](processor_status& p) mutable {
              rp.deliver(health_report{p.running, p.running ? "" : "stopping"});
            },
            [=](caf::error& e) mutable {
              rp.deliver(health_report{false, self->system().render(e)});
            });
  });
  return rp;
}

// Messages first (no new extraction can start for them), then facts with an erasure mark
// that rejects whatever extraction was already in flight.
caf::result<erase_report> on_erase(self_pointer self, const std::string& user) {
  auto rp = self->make_response_promise<erase_report>();
  ask(
      self, rp, self->state.to.persistence,
      [=](std::int64_t messages) mutable {
        ask(
            self, rp, self->state.to.fact_writer,
            [=](erase_report& r) mutable {
              r.messages = messages;
              log::info("user_erased", {{"user", log::redact(user)},
                                        {"messages", r.messages},
                                        {"facts", r.facts},
                                        {"fact_events", r.fact_events}});
              rp.deliver(r);
            },
            erase_atom_v, user, wall_clock_ms());
      },
      erase_atom_v, user);
  return rp;
}

caf::result<status_report> on_status(self_pointer self) {
  auto rp = self->make_response_promise<status_report>();
  ask(
      self, rp, self->state.to.persistence,
      [=](queue_stats& q) mutable {
        ask(
            self, rp, self->state.to.batcher,
            [=](processor_status& p) mutable {
              auto& st = self->state;
              status_report r{q, std::move(p), st.opts.extractor, st.opts.model, {}};
              if (!st.to.monitor) {
                rp.deliver(std::move(r));
                return;
              }
              ask(
                  self, rp, st.to.monitor,
                  [=](std::vector<alert_state>& alerts) mutable {
                    r.alerts = std::move(alerts);
                    rp.deliver(std::move(r));
                  },
                  alerts_atom_v);
            },
            status_atom_v);
      },
      stats_atom_v, wall_clock_ms());
  return rp;
}

caf::result<history_window> on_processor_history(self_pointer self, millis window) {
  if (!self->state.to.monitor)
    return caf::make_error(caf::sec::runtime_error, "no processor history in this process");
  return self->delegate(self->state.to.monitor, proc_hist_atom_v, window);
}

// The certificate files are read on this actor's own thread (it is detached), never on an io
// thread or the scheduler.
caf::result<bool, std::string> on_reload(self_pointer self) {
  if (!self->state.server) return {false, std::string("the HTTP server has stopped")};
  auto r = self->state.server->reload_tls();
  return {r.ok, std::move(r.message)};
}

void stop_server(self_pointer self) {
  if (auto srv = std::move(self->state.server)) srv->stop(self->state.opts.shutdown_grace);
}

ingress_actor::behavior_type ingress(self_pointer self, std::shared_ptr<http_server> server,
                                     ingress_targets to, ingress_options opts) {
  auto& st = self->state;
  st.server = std::move(server);
  st.opts = opts;
  st.to = to;
  // However the actor ends, the listener stops. The functor runs after the state is gone,
  // so it holds the server itself (stop() is idempotent).
  self->attach_functor([srv = st.server, grace = opts.shutdown_grace] {
    if (srv) srv->stop(grace);
  });
  // clang-format off
  return {
      [=](history_atom a, history_query& q) { return self->delegate(to.persistence, a, std::move(q)); },
      [=](facts_atom a, fact_query& q) { return self->delegate(to.fact_writer, a, std::move(q)); },
      [=](remember_atom a, std::string& user, std::string& text, std::string& category) { return self->delegate(to.fact_writer, a, std::move(user), std::move(text), std::move(category), wall_clock_ms()); },
      [=](forget_atom a, std::string& user, std::string& fact_id) { return self->delegate(to.fact_writer, a, std::move(user), std::move(fact_id), wall_clock_ms()); },
      [=](erase_atom, const std::string& user) { return on_erase(self, user); },
      [=](run_atom a) { return self->delegate(to.batcher, a); },
      [=](status_atom) { return on_status(self); },
      [=](retry_dead_atom a, ids& m) { return self->delegate(to.persistence, a, std::move(m)); },
      [=](dead_list_atom a, dead_letter_query q) { return self->delegate(to.persistence, a, q); },
      [=](proc_hist_atom, millis window) { return on_processor_history(self, window); },
      [=](health_atom) { return on_health(self); },
      [=](ready_atom) { return on_ready(self); },
      [=](stop_atom) { stop_server(self); self->quit(); return true; },
      [=](reload_atom) { return on_reload(self); },
  };
  // clang-format on
}

}  // namespace

ingress_handle start_ingress(caf::actor_system& sys, ingress_targets targets, ingress_options opts,
                             spawn_mode mode) {
  auto api = std::make_shared<ingress_api>(sys, opts.request_timeout, opts.cycle_timeout,
                                           targets.persistence, targets.queue, targets.search);
  auto server = std::make_shared<http_server>(opts.http, api);
  auto actor = mode == spawn_mode::detached
                   ? sys.spawn<caf::detached>(ingress, server, std::move(targets), opts)
                   : sys.spawn(ingress, server, std::move(targets), opts);
  api->set_ingress(actor);
  try {
    return {actor, server->start()};
  } catch (...) {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    throw;
  }
}

}  // namespace memoryd
