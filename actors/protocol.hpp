// The actors' messages and interfaces, in one place: the message types and how CAF inspects
// them, the atoms (one per operation), and each actor's typed interface, so that sending an
// actor a message it does not handle is a compile error. Include this (it pulls in CAF's
// typed-actor headers) only from actor sources, app/ and tests. docs/ARCHITECTURE.md explains
// the pipeline and the thread model; this is the wiring:
//
//   HTTP io threads ──ingest──► ingress_queue ──ingests_queued──► persistence ──►
//   conversation_store HTTP io threads ──every other call──► ingress ──► persistence, fact_writer,
//   batcher ticker ──tick──► batcher ──claim, mark_done, schedule_retry, dead_letter, release──►
//   persistence
//                      │ extract: one user's batch to an idle extractor (work pulling)
//                      ▼
//               extractor ×N ──facts, apply──► fact_writer ──► memory_store
#pragma once

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/optional.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "domain/alerts.hpp"
#include "domain/fact.hpp"
#include "domain/message.hpp"
#include "domain/processing.hpp"
#include "domain/processor_history.hpp"
#include "domain/queue.hpp"
#include "http/service_api.hpp"  // health_report, status_report: the ingress's replies

namespace memoryd {

// How an actor that may block (SQLite, blocking HTTP) is run. In production it gets its own
// thread; under CAF's test coordinator every actor runs on the (simulated) scheduler, so tests
// drive the whole pipeline deterministically.
enum class spawn_mode { detached, scheduled };

// A claimed user batch handed to an extractor.
struct extract_job {
  std::uint64_t cycle_id = 0;
  user_batch batch;
};

// What an extractor reports for one job. Failures are data, not CAF errors, so the
// batcher can tell "retry later" from "dead-letter now" from "processed with a note"; a CAF
// error only means the extractor itself is gone.
struct extract_outcome {
  caf::optional<failure_kind> failure;  // none: the facts were applied
  std::string error;                    // with a failure
  millis retry_after_ms = 0;            // the server's Retry-After, with a failure
  apply_result applied;
  std::int64_t extract_us = 0;  // time in the backend
  std::int64_t write_us = 0;    // time in the fact writer
  std::int64_t input_tokens = 0, output_tokens = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_message& x) {
  return f(caf::meta::type_name("new_message"), x.user_id, x.role, x.content, x.channel,
           x.external_id, x.created_at, x.priority);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ingest_outcome& x) {
  return f(caf::meta::type_name("ingest_outcome"), x.id, x.seq, x.duplicate);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_message& x) {
  return f(caf::meta::type_name("stored_message"), x.seq, x.id, x.user_id, x.role, x.content,
           x.channel, x.external_id, x.created_at, x.status, x.attempts, x.next_attempt_at,
           x.lease_until, x.last_error, x.processed_at, x.priority);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_query& x) {
  return f(caf::meta::type_name("history_query"), x.user_id, x.limit, x.before_seq, x.since,
           x.until, x.role, x.processed);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_request& x) {
  return f(caf::meta::type_name("claim_request"), x.now, x.batch_size, x.per_user_batch_size,
           x.lease_ms, x.max_attempts, x.backfill_share, x.quiet_ms, x.max_wait_ms, x.with_context);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claimed_message& x) {
  return f(caf::meta::type_name("claimed_message"), x.id, x.seq, x.content, x.created_at,
           x.attempts, x.priority, x.context_before);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_batch& x) {
  return f(caf::meta::type_name("user_batch"), x.user_id, x.messages, x.lease_until);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_result& x) {
  return f(caf::meta::type_name("claim_result"), x.users, x.dead_lettered);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, priority_stats& x) {
  return f(caf::meta::type_name("priority_stats"), x.users_waiting, x.messages_waiting,
           x.oldest_age_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_stats& x) {
  return f(caf::meta::type_name("queue_stats"), x.pending, x.leased, x.done, x.dead, x.skipped,
           x.retry_scheduled, x.oldest_pending_age_ms, x.users_waiting, x.live, x.backfill);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fact& x) {
  return f(caf::meta::type_name("fact"), x.id, x.user_id, x.text, x.category, x.status,
           x.observed_at, x.created_at, x.updated_at, x.source_ids, x.seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fact_query& x) {
  return f(caf::meta::type_name("fact_query"), x.user_id, x.limit, x.after_created_at,
           x.after_seq, x.events_limit, x.events_before);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, erase_report& x) {
  return f(caf::meta::type_name("erase_report"), x.messages, x.facts, x.fact_events);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fact_event& x) {
  return f(caf::meta::type_name("fact_event"), x.seq, x.fact_id, x.new_fact_id, x.user_id, x.kind,
           x.old_text, x.new_text, x.cause, x.extractor, x.source_ids, x.observed_at, x.at);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fact_op& x) {
  return f(caf::meta::type_name("fact_op"), x.kind, x.fact_id, x.text, x.category, x.observed_at,
           x.source_ids);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fact_batch& x) {
  return f(caf::meta::type_name("fact_batch"), x.user_id, x.batch_key, x.cause, x.extractor, x.ops,
           x.now, x.sources_must_exist);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, apply_result& x) {
  return f(caf::meta::type_name("apply_result"), x.added, x.updated, x.deleted, x.unchanged,
           x.rejected, x.replay, x.fact_ids);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, extract_job& x) {
  return f(caf::meta::type_name("extract_job"), x.cycle_id, x.batch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, extract_outcome& x) {
  return f(caf::meta::type_name("extract_outcome"), x.failure, x.error, x.retry_after_ms, x.applied,
           x.extract_us, x.write_us, x.input_tokens, x.output_tokens);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cycle_result& x) {
  return f(caf::meta::type_name("cycle_result"), x.cycle_id, x.users, x.messages_processed,
           x.facts_written, x.errors, x.retries_scheduled, x.dead_lettered, x.live_claimed,
           x.backfill_claimed, x.claim_ms, x.extract_ms, x.write_ms, x.total_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, processor_status& x) {
  return f(caf::meta::type_name("processor_status"), x.running, x.in_flight, x.queued, x.pool_size,
           x.concurrency_limit, x.cycles, x.messages_processed, x.errors, x.facts_written,
           x.dead_lettered, x.extractions, x.latency, x.last_cycle, x.recent_cycles);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, finished_cycle& x) {
  return f(caf::meta::type_name("finished_cycle"), x.finished_at, x.result);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dead_letter_query& x) {
  return f(caf::meta::type_name("dead_letter_query"), x.limit, x.before_seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_sample& x) {
  return f(caf::meta::type_name("history_sample"), x.at, x.queue_known, x.pending, x.leased, x.dead,
           x.retry_scheduled, x.users_waiting, x.oldest_pending_age_ms, x.cycles, x.processed,
           x.dead_lettered, x.facts_written, x.extractions, x.latency);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_window& x) {
  return f(caf::meta::type_name("history_window"), x.now, x.interval_ms, x.samples);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, alert_state& x) {
  return f(caf::meta::type_name("alert_state"), x.alert, x.enabled, x.active, x.value, x.threshold,
           x.since);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fact_listing& x) {
  return f(caf::meta::type_name("fact_listing"), x.facts, x.events);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_report& x) {
  return f(caf::meta::type_name("health_report"), x.ok, x.detail);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_report& x) {
  return f(caf::meta::type_name("status_report"), x.queue, x.processor, x.extractor, x.model,
           x.alerts);
}

}  // namespace memoryd

// clang-format off
CAF_BEGIN_TYPE_ID_BLOCK(memoryd, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(memoryd, (memoryd::new_message))
  CAF_ADD_TYPE_ID(memoryd, (std::vector<memoryd::new_message>))
  CAF_ADD_TYPE_ID(memoryd, (std::vector<memoryd::ingest_outcome>))
  CAF_ADD_TYPE_ID(memoryd, (std::vector<memoryd::stored_message>))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::history_query))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::claim_request))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::claim_result))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::queue_stats))
  CAF_ADD_TYPE_ID(memoryd, (std::vector<memoryd::fact>))
  CAF_ADD_TYPE_ID(memoryd, (std::vector<memoryd::fact_event>))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::fact_batch))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::apply_result))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::extract_job))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::extract_outcome))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::cycle_result))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::processor_status))
  CAF_ADD_TYPE_ID(memoryd, (std::vector<std::string>))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::erase_report))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::fact))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::fact_query))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::fact_listing))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::health_report))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::status_report))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::dead_letter_query))
  CAF_ADD_TYPE_ID(memoryd, (memoryd::history_window))
  CAF_ADD_TYPE_ID(memoryd, (std::vector<memoryd::alert_state>))

  // One atom per operation. The texts (at most 10 characters) differ from CAF's own atoms
  // ("tick", "ping", "flush", ...): an atom is its text, so a clash would be the same type.
  CAF_ADD_ATOM(memoryd, memoryd, ingest_atom, "ingest")
  CAF_ADD_ATOM(memoryd, memoryd, ingests_queued_atom, "ingests_q")
  CAF_ADD_ATOM(memoryd, memoryd, commit_atom, "commit")
  CAF_ADD_ATOM(memoryd, memoryd, history_atom, "history")
  CAF_ADD_ATOM(memoryd, memoryd, claim_atom, "claim")
  CAF_ADD_ATOM(memoryd, memoryd, mark_done_atom, "mark_done")
  CAF_ADD_ATOM(memoryd, memoryd, schedule_retry_atom, "retry_at")
  CAF_ADD_ATOM(memoryd, memoryd, dead_letter_atom, "deadletter")
  CAF_ADD_ATOM(memoryd, memoryd, release_atom, "release")
  CAF_ADD_ATOM(memoryd, memoryd, retry_dead_atom, "retry_dead")
  CAF_ADD_ATOM(memoryd, memoryd, stats_atom, "stats")
  CAF_ADD_ATOM(memoryd, memoryd, facts_atom, "facts")
  CAF_ADD_ATOM(memoryd, memoryd, apply_atom, "apply")
  CAF_ADD_ATOM(memoryd, memoryd, remember_atom, "remember")
  CAF_ADD_ATOM(memoryd, memoryd, forget_atom, "forget")
  CAF_ADD_ATOM(memoryd, memoryd, erase_atom, "erase")
  CAF_ADD_ATOM(memoryd, memoryd, extract_atom, "extract")
  CAF_ADD_ATOM(memoryd, memoryd, tick_atom, "memo_tick")
  CAF_ADD_ATOM(memoryd, memoryd, run_atom, "run")
  CAF_ADD_ATOM(memoryd, memoryd, drain_atom, "drain")
  CAF_ADD_ATOM(memoryd, memoryd, status_atom, "status")
  CAF_ADD_ATOM(memoryd, memoryd, health_atom, "health")
  CAF_ADD_ATOM(memoryd, memoryd, ready_atom, "ready")
  CAF_ADD_ATOM(memoryd, memoryd, stop_atom, "stop")
  CAF_ADD_ATOM(memoryd, memoryd, reload_atom, "reload")
  CAF_ADD_ATOM(memoryd, memoryd, dead_list_atom, "dead_list")
  CAF_ADD_ATOM(memoryd, memoryd, proc_hist_atom, "proc_hist")
  CAF_ADD_ATOM(memoryd, memoryd, alerts_atom, "alerts")
CAF_END_TYPE_ID_BLOCK(memoryd)
// clang-format on

namespace memoryd {

using ids = std::vector<std::string>;  // message ids of one user

// persistence: the only writer of conversation.db. Transitions change only messages that are
// still leased, so a late one (an expired lease, an erased user) changes nothing.
using persistence_actor = caf::typed_actor<
    // Group commit: answered once the messages are committed.
    caf::replies_to<ingest_atom, std::vector<new_message>>::with<std::vector<ingest_outcome>>,
    // The ingress queue has ingests (sent when it stops being empty).
    caf::reacts_to<ingests_queued_atom>,
    // To itself: commit what queued up (see persistence.cpp).
    caf::reacts_to<commit_atom>,
    caf::replies_to<history_atom, history_query>::with<std::vector<stored_message>>,
    caf::replies_to<claim_atom, claim_request>::with<claim_result>,
    // user, ids, now, note (recorded in last_error, still processed)
    caf::reacts_to<mark_done_atom, std::string, ids, millis, std::string, millis>,
    // user, ids, error, retry at
    caf::reacts_to<schedule_retry_atom, std::string, ids, std::string, millis, millis>,
    // user, ids, error, now
    caf::reacts_to<dead_letter_atom, std::string, ids, std::string, millis, millis>,
    // user, ids: back to pending without using an attempt (shutdown)
    caf::reacts_to<release_atom, std::string, ids, millis>,
    // Dead letters back to pending (empty: all); how many.
    caf::replies_to<retry_dead_atom, ids>::with<std::int64_t>,
    // Every message of the user; how many.
    caf::replies_to<erase_atom, std::string>::with<std::int64_t>,
    caf::replies_to<stats_atom, millis>::with<queue_stats>, caf::reacts_to<health_atom>,
    // A page of dead letters, newest first.
    caf::replies_to<dead_list_atom, dead_letter_query>::with<std::vector<stored_message>>>;

// fact_writer: the only writer of memory.db.
using fact_writer_actor = caf::typed_actor<
    caf::replies_to<facts_atom, std::string>::with<std::vector<fact>>,  // active facts
    caf::replies_to<facts_atom, fact_query>::with<fact_listing>,        // a page of them
    // Group commit, idempotent on the batch key: answered once committed.
    caf::replies_to<apply_atom, fact_batch>::with<apply_result>,
    // To itself: commit what queued up.
    caf::reacts_to<commit_atom>,
    // user, text, category, now: the fact as stored (an error when it is not storable).
    caf::replies_to<remember_atom, std::string, std::string, std::string, millis>::with<fact>,
    // user, fact id, now: false when the user has no such active fact.
    caf::replies_to<forget_atom, std::string, std::string, millis>::with<bool>,
    // user, now: facts, events and applied batches; work in flight for the user is rejected.
    caf::replies_to<erase_atom, std::string, millis>::with<erase_report>,
    caf::reacts_to<health_atom>>;

// extractor: one user's batch at a time. Never answers an error for a failed extraction:
// the outcome says what failed.
using extractor_actor =
    caf::typed_actor<caf::replies_to<extract_atom, extract_job>::with<extract_outcome>>;

// What the ticker drives.
using tick_receiver_actor = caf::typed_actor<caf::reacts_to<tick_atom>>;

// batcher: claims, hands users to idle extractors, turns outcomes into transitions.
using batcher_actor = caf::typed_actor<
    // Claim if nothing is claimed or being claimed (the ticker; itself when a retry is due).
    caf::reacts_to<tick_atom>,
    // Claim now; answered when that cycle is complete.
    caf::replies_to<run_atom>::with<cycle_result>,
    // Stop claiming, give back what is queued; answered once nothing is in flight.
    caf::replies_to<drain_atom>::with<bool>, caf::replies_to<status_atom>::with<processor_status>>;

// monitor: samples the queue and the processor every history interval into a bounded ring,
// and evaluates the alerts on it (actors/monitor.hpp).
using monitor_actor = caf::typed_actor<
    // To itself, every interval: take a sample.
    caf::reacts_to<tick_atom>,
    // The samples of the last `window` ms.
    caf::replies_to<proc_hist_atom, millis>::with<history_window>,
    caf::replies_to<alerts_atom>::with<std::vector<alert_state>>>;

// ingress: the HTTP layer's calls other than ingest, as messages to the pipeline.
using ingress_actor = caf::typed_actor<
    caf::replies_to<history_atom, history_query>::with<std::vector<stored_message>>,
    caf::replies_to<facts_atom, fact_query>::with<fact_listing>,
    caf::replies_to<remember_atom, std::string, std::string, std::string>::with<fact>,
    caf::replies_to<forget_atom, std::string, std::string>::with<bool>,
    caf::replies_to<erase_atom, std::string>::with<erase_report>,
    caf::replies_to<run_atom>::with<cycle_result>,
    caf::replies_to<status_atom>::with<status_report>,
    caf::replies_to<retry_dead_atom, ids>::with<std::int64_t>,
    caf::replies_to<dead_list_atom, dead_letter_query>::with<std::vector<stored_message>>,
    caf::replies_to<proc_hist_atom, millis>::with<history_window>,
    caf::replies_to<health_atom>::with<health_report>,  // both databases answer
    caf::replies_to<ready_atom>::with<health_report>,   // ... and the processor runs
    // Stop accepting, answer what is in flight, close the listener, quit.
    caf::replies_to<stop_atom>::with<bool>,
    // Load the TLS certificate and key again (SIGHUP): ok, and the certificate now served or
    // why the old one was kept (docs/ARCHITECTURE.md, "TLS").
    caf::replies_to<reload_atom>::with<bool, std::string>>;

}  // namespace memoryd
