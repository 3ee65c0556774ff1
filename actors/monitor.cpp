// monitor: the processor history and the alerts (actors/monitor.hpp).
#include "actors/monitor.hpp"

#include <caf/all.hpp>

#include "core/log.hpp"

namespace memoryd {
namespace {

struct monitor_state {
  monitor_options opts;
  persistence_actor persistence;
  batcher_actor batcher;
  std::unique_ptr<history_ring> ring;
  std::unique_ptr<alert_evaluator> alerts;
  processor_status last;  // the batcher's counters at the previous sample
  bool sampling = false;
  // Time: wall clock at start plus the actor clock's progress, as in the batcher.
  millis wall_base = 0;
  caf::actor_clock::time_point clock_base;
};

using self_pointer = monitor_actor::stateful_pointer<monitor_state>;

millis now_ms(self_pointer self) {
  auto& st = self->state;
  return st.wall_base +
         std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - st.clock_base)
             .count();
}

void report(self_pointer self, const alert_change& c) {
  auto& st = self->state;
  const auto& s = c.state;
  const auto window = st.opts.rules.window_ms;
  if (s.active)
    log::warn("memory_processor_alert", {{"alert", s.alert},
                                         {"value", s.value},
                                         {"threshold", s.threshold},
                                         {"window_ms", window}});
  else
    log::info("memory_processor_alert_resolved", {{"alert", s.alert},
                                                  {"value", s.value},
                                                  {"threshold", s.threshold},
                                                  {"window_ms", window}});
  if (st.opts.notify) st.opts.notify(s, window);
}

void record(self_pointer self, millis at, const processor_status& p, const queue_stats* q) {
  auto& st = self->state;
  st.ring->push(make_sample(at, st.last, p, q));
  st.last = p;
  for (const auto& c : st.alerts->evaluate(*st.ring, at)) report(self, c);
  st.sampling = false;
}

// One sample: the batcher's counters, then the queue. A part that does not answer in time is
// left out (the counters' delta then lands in the next sample), never waited for.
void sample(self_pointer self) {
  auto& st = self->state;
  if (st.sampling) return;
  st.sampling = true;
  const millis at = now_ms(self);
  const auto timeout = st.opts.request_timeout;
  auto with_queue = [=](processor_status p) {
    self->request(self->state.persistence, timeout, stats_atom_v, at)
        .then([=](queue_stats& q) { record(self, at, p, &q); },
              [=](caf::error&) { record(self, at, p, nullptr); });
  };
  self->request(st.batcher, timeout, status_atom_v)
      .then([=](processor_status& p) { with_queue(p); },
            [=](caf::error&) { with_queue(self->state.last); });
}

monitor_actor::behavior_type monitor(self_pointer self, persistence_actor persistence,
                                     batcher_actor batcher, monitor_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.persistence = std::move(persistence);
  st.batcher = std::move(batcher);
  st.ring = std::make_unique<history_ring>(st.opts.capacity);
  st.alerts = std::make_unique<alert_evaluator>(st.opts.rules);
  st.wall_base = wall_clock_ms();
  st.clock_base = self->clock().now();
  // A first sample at once, so that the history is not empty for an interval after start.
  self->send(self, tick_atom_v);
  return {
      [=](tick_atom) {
        sample(self);
        self->delayed_send(self, self->state.opts.interval, tick_atom_v);
      },
      [=](proc_hist_atom, millis window) {
        auto& st = self->state;
        history_window w;
        w.now = now_ms(self);
        w.interval_ms = st.opts.interval.count();
        w.samples = st.ring->since(w.now - window);
        return w;
      },
      [=](alerts_atom) { return self->state.alerts->states(); },
  };
}

}  // namespace

monitor_actor spawn_monitor(caf::actor_system& sys, persistence_actor persistence,
                            batcher_actor batcher, monitor_options opts) {
  return sys.spawn(monitor, std::move(persistence), std::move(batcher), std::move(opts));
}

}  // namespace memoryd
