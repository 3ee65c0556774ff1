// batcher: claims batches, hands each user's messages to an idle extractor, and turns the
// outcomes into transitions.
//
//   tick/wake/run --> claim (persistence) --> queue of user batches
//   queue + idle extractor --> extract --> outcome --> done | retry | dead (persistence)
//
// Correctness does not rest on this actor's memory: leases in the store keep a user out of
// a second claim while their batch is in flight, here or in another process. The batcher
// adds what only it can know: which extractors are idle, and which users it is running.
#include "actors/batcher.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace memoryd {
namespace {

using steady = std::chrono::steady_clock;

struct cycle {
  cycle_result result;
  std::int32_t remaining = 0;  // user batches not finished yet
  steady::time_point started;
  millis lease_until = 0;  // the claim's lease (now_ms time), as the store has it
  std::vector<caf::response_promise> waiters;  // run requests
};

struct batcher_state {
  batcher_options opts;
  persistence_actor persistence;
  std::vector<extractor_actor> idle;
  std::size_t pool_size = 0;
  // Adaptive concurrency: a 429 halves how many extractions may run at once (for the whole
  // pool, since the rate limit is the provider's, not one extractor's); every `limit`
  // successes in a row raise it by one, back up to pool_size.
  std::size_t limit = 0;
  std::size_t successes_at_limit = 0;
  std::deque<extract_job> queue;
  std::set<std::string> running_users;
  std::map<std::uint64_t, cycle> cycles;
  std::uint64_t next_cycle = 1;
  bool claiming = false;
  bool backlog = false;  // the last claim came back full: there is probably more
  bool draining = false;
  std::vector<caf::response_promise> run_waiters;  // for the claim under way
  std::vector<caf::response_promise> drain_waiters;
  std::int32_t releasing = 0;
  // Outcomes the store could not record (a database outage), sent again on a tick once due;
  // see record().
  std::vector<std::pair<millis, std::function<void()>>> unrecorded;  // due (now_ms)
  // Time: wall clock at start plus the actor clock's progress, so simulated time works.
  millis wall_base = 0;
  caf::actor_clock::time_point clock_base;
  std::mt19937_64 rng;
  processor_status totals;
};

using self_pointer = batcher_actor::stateful_pointer<batcher_state>;

void dispatch(self_pointer self);
void maybe_claim(self_pointer self);

millis now_ms(self_pointer self) {
  auto& st = self->state;
  return st.wall_base +
         std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - st.clock_base)
             .count();
}

double ms_since(steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(steady::now() - t0).count();
}

std::vector<std::string> ids_of(const user_batch& b) {
  std::vector<std::string> ids;
  for (auto& m : b.messages) ids.push_back(m.id);
  return ids;
}

std::int32_t attempts_of(const user_batch& b) {
  std::int32_t n = 0;
  for (auto& m : b.messages) n = std::max(n, m.attempts);
  return n;
}

caf::timespan timeout(const batcher_options& o) { return std::chrono::milliseconds(o.lease_ms); }

void finish_drain_if_idle(self_pointer self) {
  auto& st = self->state;
  if (!st.draining || !st.running_users.empty() || st.releasing > 0 || st.claiming) return;
  for (auto& rp : st.drain_waiters) rp.deliver(true);
  st.drain_waiters.clear();
}

void complete_cycle(self_pointer self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.cycles.find(id);
  auto& c = it->second;
  c.result.total_ms = ms_since(c.started);
  auto& r = c.result;
  log::info("memory_processor_complete", {{"cycle", r.cycle_id},
                                          {"users", r.users},
                                          {"messages_processed", r.messages_processed},
                                          {"facts_written", r.facts_written},
                                          {"errors", r.errors},
                                          {"retries_scheduled", r.retries_scheduled},
                                          {"dead_lettered", r.dead_lettered},
                                          {"claim_ms", r.claim_ms},
                                          {"extract_ms", r.extract_ms},
                                          {"write_ms", r.write_ms},
                                          {"total_ms", r.total_ms}});
  st.totals.cycles++;
  metrics::inc("memoryd_cycles_total");
  st.totals.last_cycle = r;
  auto& recent = st.totals.recent_cycles;
  recent.insert(recent.begin(), finished_cycle{now_ms(self), r});
  if (recent.size() > kRecentCycles) recent.pop_back();
  for (auto& rp : c.waiters) rp.deliver(r);
  st.cycles.erase(it);
}

// The store has recorded the user's outcome (or failed to): account for it.
void user_finished(self_pointer self, const extract_job& j) {
  auto& st = self->state;
  st.running_users.erase(j.batch.user_id);
  auto it = st.cycles.find(j.cycle_id);
  if (it != st.cycles.end() && --it->second.remaining == 0) complete_cycle(self, j.cycle_id);
  dispatch(self);
  if (st.queue.empty() && st.backlog && st.opts.drain_backlog) maybe_claim(self);
  finish_drain_if_idle(self);
}

// Sends a state transition to persistence; once it is durable, `then` (accounting for the
// user, or the user's next transition). When the store cannot record it (the database is
// down), it is sent again with backoff while the claim's lease lasts: given up at once, the
// user's messages would wait for the lease to end after the database came back (lease_ms, 10
// minutes by default), and the user's later messages behind them. Retries stop at three
// quarters of the lease, because past its end the messages may belong to another claim;
// shutting down, nothing is retried (the lease covers it).
template <class... Ts>
void record_with_retry(self_pointer self, std::shared_ptr<extract_job> j,
                       std::chrono::milliseconds wait, std::function<void()> then, Ts... xs) {
  self->request(self->state.persistence, timeout(self->state.opts), xs...)
      .then([=] { then(); },
            [=](caf::error& e) {
              auto& st = self->state;
              auto c = st.cycles.find(j->cycle_id);
              const millis due = now_ms(self) + wait.count();
              if (!st.draining && c != st.cycles.end() &&
                  due < c->second.lease_until - st.opts.lease_ms / 4) {
                log::warn("memory_processor_record_retry", {{"cycle", j->cycle_id},
                                                            {"user", log::redact(j->batch.user_id)},
                                                            {"error", self->system().render(e)},
                                                            {"retry_in_ms", wait.count()}});
                const auto next =
                    std::min<std::chrono::milliseconds>(wait * 2, std::chrono::seconds(2));
                st.unrecorded.emplace_back(due,
                                           [=] { record_with_retry(self, j, next, then, xs...); });
                self->delayed_send(self, wait, tick_atom_v);
                return;
              }
              // The lease will expire and the messages come back: nothing is lost.
              log::error("memory_processor_user_error",
                         {{"cycle", j->cycle_id},
                          {"user", log::redact(j->batch.user_id)},
                          {"error", "recording outcome: " + self->system().render(e)}});
              user_finished(self, *j);
            });
}

template <class... Ts>
void record(self_pointer self, std::shared_ptr<extract_job> j, Ts... xs) {
  record_with_retry(
      self, j, std::chrono::milliseconds(250), [self, j] { user_finished(self, *j); }, xs...);
}

// Records xs..., then calls `then` (which records the user's other transition).
template <class... Ts>
void record_then(self_pointer self, std::shared_ptr<extract_job> j, std::function<void()> then,
                 Ts... xs) {
  record_with_retry(self, j, std::chrono::milliseconds(250), std::move(then), xs...);
}

// Outcomes waiting to be recorded again whose time has come (all of them when shutting down).
void resend_unrecorded(self_pointer self) {
  auto& st = self->state;
  const auto now = now_ms(self);
  std::vector<std::function<void()>> due;
  auto& list = st.unrecorded;
  for (auto it = list.begin(); it != list.end();) {
    if (st.draining || it->first <= now) {
      due.push_back(std::move(it->second));
      it = list.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& send : due) send();
}

void record_metrics(const extract_outcome& out) {
  const std::string result = out.failure ? to_string(*out.failure) : "ok";
  metrics::inc("memoryd_extractions_total", "result=\"" + result + "\"");
  metrics::observe("memoryd_extraction_duration_seconds", "", out.extract_us / 1e6);
  if (out.input_tokens > 0)
    metrics::inc("memoryd_llm_tokens_total", "direction=\"input\"", double(out.input_tokens));
  if (out.output_tokens > 0)
    metrics::inc("memoryd_llm_tokens_total", "direction=\"output\"", double(out.output_tokens));
  if (out.applied.added > 0)
    metrics::inc("memoryd_facts_written_total", "op=\"add\"", out.applied.added);
  if (out.applied.updated > 0)
    metrics::inc("memoryd_facts_written_total", "op=\"update\"", out.applied.updated);
  if (out.applied.deleted > 0)
    metrics::inc("memoryd_facts_written_total", "op=\"delete\"", out.applied.deleted);
}

void adapt_concurrency(batcher_state& st, const extract_outcome& out) {
  if (out.failure == failure_kind::rate_limited) {
    auto before = st.limit;
    st.limit = std::max<std::size_t>(1, st.limit / 2);
    st.successes_at_limit = 0;
    if (st.limit != before)
      log::warn("memory_processor_slowdown",
                {{"concurrency_limit", st.limit}, {"pool_size", st.pool_size}});
  } else if (!out.failure && st.limit < st.pool_size && ++st.successes_at_limit >= st.limit) {
    st.limit++;
    st.successes_at_limit = 0;
  }
}

void on_outcome(self_pointer self, std::shared_ptr<extract_job> j, extract_outcome& out) {
  auto& st = self->state;
  auto& b = j->batch;
  auto ids = ids_of(b);
  auto it = st.cycles.find(j->cycle_id);
  cycle_result dummy;
  auto& r = it != st.cycles.end() ? it->second.result : dummy;
  r.extract_ms += out.extract_us / 1000.0;
  r.write_ms += out.write_us / 1000.0;
  auto now = now_ms(self);
  record_metrics(out);
  st.totals.extractions[out.failure ? result_index(*out.failure) : kResultOk]++;
  st.totals.latency[latency_bucket(out.extract_us / 1000.0)]++;
  adapt_concurrency(st, out);
  // Answers of the model itself (garbage, a refusal) are final: another attempt would get
  // the same. Everything else is retried or dead-lettered.
  const bool processed = !out.failure || *out.failure == failure_kind::unparseable ||
                         *out.failure == failure_kind::refused;
  if (processed) {
    auto facts = out.applied.added + out.applied.updated + out.applied.deleted;
    r.messages_processed += static_cast<std::int32_t>(ids.size());
    r.facts_written += facts;
    st.totals.messages_processed += static_cast<std::int64_t>(ids.size());
    st.totals.facts_written += facts;
    if (out.failure) {
      r.errors++;
      st.totals.errors++;
      // A refusal's text may quote the user's words: it goes to last_error, not the log.
      const bool refused = *out.failure == failure_kind::refused;
      log::warn("memory_processor_user_error",
                {{"cycle", j->cycle_id},
                 {"user", log::redact(b.user_id)},
                 {"error", refused ? std::string("the model refused") : out.error},
                 {"kind", to_string(*out.failure)},
                 {"action", "processed_with_error"}});
    } else {
      log::info("memory_processor_user_complete", {{"cycle", j->cycle_id},
                                                   {"user", log::redact(b.user_id)},
                                                   {"messages", ids.size()},
                                                   {"facts_added", out.applied.added},
                                                   {"facts_updated", out.applied.updated},
                                                   {"facts_deleted", out.applied.deleted},
                                                   {"replay", out.applied.replay},
                                                   {"extract_ms", out.extract_us / 1000.0},
                                                   {"input_tokens", out.input_tokens},
                                                   {"output_tokens", out.output_tokens}});
    }
    record(self, j, mark_done_atom_v, b.user_id, ids, now, out.error, b.lease_until);
    return;
  }
  r.errors++;
  st.totals.errors++;
  // Attempts run out per message: a retry also claims the user's messages that arrived
  // meanwhile, so a batch can hold messages with fewer attempts than its oldest. Those are
  // retried (after their own backoff), not dead-lettered with the ones out of attempts.
  const bool final_failure =
      *out.failure == failure_kind::permanent || *out.failure == failure_kind::truncated;
  std::vector<std::string> dead, retry;
  std::int32_t attempts = 0;  // the most any message to retry has had
  for (auto& m : b.messages) {
    if (final_failure || m.attempts >= st.opts.max_attempts) {
      dead.push_back(m.id);
    } else {
      retry.push_back(m.id);
      attempts = std::max(attempts, m.attempts);
    }
  }
  if (!dead.empty()) {
    r.dead_lettered += static_cast<std::int32_t>(dead.size());
    st.totals.dead_lettered += static_cast<std::int64_t>(dead.size());
    metrics::inc("memoryd_messages_dead_lettered_total", "", double(dead.size()));
    log::warn("memory_processor_user_error", {{"cycle", j->cycle_id},
                                              {"user", log::redact(b.user_id)},
                                              {"error", out.error},
                                              {"kind", to_string(*out.failure)},
                                              {"attempts", attempts_of(b)},
                                              {"messages", dead.size()},
                                              {"action", "dead_letter"}});
  }
  if (retry.empty()) {
    record(self, j, dead_letter_atom_v, b.user_id, dead, out.error, now, b.lease_until);
    return;
  }
  auto delay = backoff_delay(st.opts, attempts, out.retry_after_ms, st.rng());
  r.retries_scheduled += static_cast<std::int32_t>(retry.size());
  log::warn("memory_processor_user_error", {{"cycle", j->cycle_id},
                                            {"user", log::redact(b.user_id)},
                                            {"error", out.error},
                                            {"kind", to_string(*out.failure)},
                                            {"attempts", attempts},
                                            {"messages", retry.size()},
                                            {"action", "retry"},
                                            {"retry_in_ms", delay}});
  // Wake up when the retry is due instead of waiting for the next tick.
  self->delayed_send(self, std::chrono::milliseconds(delay), tick_atom_v);
  auto schedule = [self, j, retry, error = out.error, retry_at = now + delay] {
    record(self, j, schedule_retry_atom_v, j->batch.user_id, retry, error, retry_at,
           j->batch.lease_until);
  };
  if (dead.empty()) {
    schedule();
    return;
  }
  // The dead letters first: the user's head moves past them, then the rest waits its backoff.
  record_then(self, j, schedule, dead_letter_atom_v, b.user_id, dead, out.error, now,
              b.lease_until);
}

// Gives claimed work back to the store without using up an attempt (the store ignores it
// if the lease has already passed to another claim).
void release_job(self_pointer self, std::shared_ptr<extract_job> j) {
  auto& st = self->state;
  st.releasing++;
  auto done = [=] {
    auto& st = self->state;
    st.releasing--;
    auto it = st.cycles.find(j->cycle_id);
    if (it != st.cycles.end() && --it->second.remaining == 0) complete_cycle(self, j->cycle_id);
    finish_drain_if_idle(self);
  };
  self->request(st.persistence, timeout(st.opts), release_atom_v, j->batch.user_id,
                ids_of(j->batch), j->batch.lease_until)
      .then([=] { done(); },
            [=](caf::error& e) {
              log::error(
                  "memory_processor_release_failed",
                  {{"user", log::redact(j->batch.user_id)}, {"error", self->system().render(e)}});
              done();
            });
}

// Shutting down: claimed work that never reached an extractor goes back to the store.
void release_queue(self_pointer self) {
  auto& st = self->state;
  while (!st.queue.empty()) {
    auto j = std::make_shared<extract_job>(std::move(st.queue.front()));
    st.queue.pop_front();
    release_job(self, j);
  }
}

void dispatch(self_pointer self) {
  auto& st = self->state;
  while (!st.idle.empty() && !st.draining && st.pool_size - st.idle.size() < st.limit) {
    // First queued batch whose user is not running (a user is in one extractor at most).
    auto it = std::find_if(st.queue.begin(), st.queue.end(), [&](const extract_job& j) {
      return st.running_users.count(j.batch.user_id) == 0;
    });
    if (it == st.queue.end()) return;
    auto j = std::make_shared<extract_job>(std::move(*it));
    st.queue.erase(it);
    // A batch that waited here for half its lease goes back instead: started now, its
    // extraction could outlive the lease, and once the lease ends another instance may claim
    // the same user and run them in a second extractor. Half a lease is the budget an
    // extraction is promised (lease_ms must exceed twice the extractor's own time limit).
    if (now_ms(self) + st.opts.lease_ms / 2 > j->batch.lease_until) {
      log::warn("memory_processor_lease_too_short",
                {{"cycle", j->cycle_id}, {"user", log::redact(j->batch.user_id)}});
      release_job(self, j);
      continue;
    }
    auto worker = st.idle.back();
    st.idle.pop_back();
    st.running_users.insert(j->batch.user_id);
    self->request(worker, timeout(st.opts), extract_atom_v, *j)
        .then(
            [=](extract_outcome& out) {
              self->state.idle.push_back(worker);
              on_outcome(self, j, out);
            },
            [=](caf::error& e) {
              self->state.idle.push_back(worker);
              extract_outcome out;
              out.failure = failure_kind::transient;
              out.error = "extractor: " + self->system().render(e);
              on_outcome(self, j, out);
            });
  }
}

void on_claimed(self_pointer self, claim_result& res, steady::time_point t0, millis lease_until) {
  auto& st = self->state;
  st.claiming = false;
  auto waiters = std::move(st.run_waiters);
  st.run_waiters.clear();
  std::int32_t messages = 0, live = 0;
  for (auto& u : res.users) {
    messages += static_cast<std::int32_t>(u.messages.size());
    for (auto& m : u.messages) live += m.priority == message_priority::live ? 1 : 0;
  }
  if (live > 0) metrics::inc("memoryd_messages_claimed_total", "priority=\"live\"", live);
  if (messages > live)
    metrics::inc("memoryd_messages_claimed_total", "priority=\"backfill\"", messages - live);
  st.backlog = messages >= st.opts.batch_size;
  if (res.dead_lettered > 0) {  // leases that expired at max_attempts (a crash, a hang)
    st.totals.dead_lettered += res.dead_lettered;
    metrics::inc("memoryd_messages_dead_lettered_total", "", res.dead_lettered);
  }
  if (res.users.empty()) {
    cycle_result empty;
    empty.claim_ms = empty.total_ms = ms_since(t0);
    empty.dead_lettered = res.dead_lettered;
    log::debug("memory_processor_no_work", {{"claim_ms", empty.claim_ms}});
    for (auto& rp : waiters) rp.deliver(empty);
    finish_drain_if_idle(self);
    return;
  }
  auto id = st.next_cycle++;
  auto& c = st.cycles[id];
  c.started = t0;
  c.lease_until = lease_until;
  c.waiters = std::move(waiters);
  c.remaining = static_cast<std::int32_t>(res.users.size());
  c.result.cycle_id = id;
  c.result.users = c.remaining;
  c.result.claim_ms = ms_since(t0);
  c.result.dead_lettered = res.dead_lettered;
  c.result.live_claimed = live;
  c.result.backfill_claimed = messages - live;
  log::info("memory_processor_start", {{"cycle", id},
                                       {"users", c.result.users},
                                       {"messages", messages},
                                       {"live", live},
                                       {"backfill", messages - live},
                                       {"claim_ms", c.result.claim_ms}});
  for (auto& u : res.users) st.queue.push_back({id, std::move(u)});
  if (st.draining) {
    release_queue(self);
    return;
  }
  dispatch(self);
}

void claim(self_pointer self) {
  auto& st = self->state;
  st.claiming = true;
  auto t0 = steady::now();
  claim_request req{now_ms(self),     st.opts.batch_size,   st.opts.per_user_batch_size,
                    st.opts.lease_ms, st.opts.max_attempts, st.opts.backfill_share,
                    st.opts.quiet_ms, st.opts.max_wait_ms,  st.opts.with_context};
  self->request(st.persistence, timeout(st.opts), claim_atom_v, req)
      .then([=](claim_result& res) { on_claimed(self, res, t0, req.now + req.lease_ms); },
            [=](caf::error& e) {
              auto& st = self->state;
              st.claiming = false;
              log::error("memory_processor_claim_failed", {{"error", self->system().render(e)}});
              for (auto& rp : st.run_waiters) rp.deliver(e);
              st.run_waiters.clear();
              finish_drain_if_idle(self);
            });
}

// Claim unless a claim is under way or claimed work is still waiting for an extractor.
void maybe_claim(self_pointer self) {
  auto& st = self->state;
  if (st.draining || st.claiming || !st.queue.empty()) return;
  claim(self);
}

caf::result<cycle_result> on_run(self_pointer self) {
  auto& st = self->state;
  auto rp = self->make_response_promise<cycle_result>();
  if (st.draining) return caf::make_error(caf::sec::runtime_error, "shutting down");
  st.run_waiters.push_back(rp);
  if (!st.claiming) claim(self);
  return rp;
}

caf::result<bool> on_drain(self_pointer self) {
  auto& st = self->state;
  auto rp = self->make_response_promise<bool>();
  st.draining = true;
  st.drain_waiters.push_back(rp);
  resend_unrecorded(self);  // a last attempt each
  release_queue(self);
  finish_drain_if_idle(self);
  return rp;
}

processor_status on_status(self_pointer self) {
  auto& st = self->state;
  auto s = st.totals;
  s.running = !st.draining;
  s.pool_size = static_cast<std::int32_t>(st.pool_size);
  s.concurrency_limit = static_cast<std::int32_t>(st.limit);
  s.in_flight = static_cast<std::int32_t>(st.pool_size - st.idle.size());
  s.queued = static_cast<std::int32_t>(st.queue.size());
  return s;
}

batcher_actor::behavior_type batcher(self_pointer self, persistence_actor persistence,
                                     std::vector<extractor_actor> extractors,
                                     batcher_options opts) {
  auto& st = self->state;
  st.opts = opts;
  st.persistence = std::move(persistence);
  st.pool_size = extractors.size();
  st.limit = st.pool_size;
  st.idle = std::move(extractors);
  st.wall_base = wall_clock_ms();
  st.clock_base = self->clock().now();
  st.rng.seed(opts.seed != 0 ? opts.seed : std::random_device{}());
  return {
      [=](tick_atom) {
        resend_unrecorded(self);
        maybe_claim(self);
      },
      [=](run_atom) { return on_run(self); },
      [=](drain_atom) { return on_drain(self); },
      [=](status_atom) { return on_status(self); },
  };
}

}  // namespace

millis backoff_delay(const batcher_options& o, std::int32_t attempts, millis retry_after_ms,
                     std::uint64_t random) {
  millis d = o.retry_base_ms;
  for (std::int32_t i = 1; i < attempts && d < o.retry_max_ms; ++i) d *= 2;
  d = std::min(d, o.retry_max_ms);
  millis half = d / 2;
  millis jittered = half + static_cast<millis>(random % static_cast<std::uint64_t>(d - half + 1));
  return std::max(jittered, std::min(retry_after_ms, o.retry_max_ms));
}

batcher_actor spawn_batcher(caf::actor_system& sys, persistence_actor persistence,
                            std::vector<extractor_actor> extractors, batcher_options opts) {
  return sys.spawn(batcher, std::move(persistence), std::move(extractors), opts);
}

}  // namespace memoryd
