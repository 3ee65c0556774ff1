// The messages the actors exchange, in one place: atoms, message types and how CAF
// inspects them. Include this (it pulls in CAF) only from actor sources and tests.
//
//   ingress     --history/facts/...-->     persistence, fact_writer
//   http io threads  --ingest_handoff + handoff-->  persistence
//   ticker      --tick-->                  batcher
//   batcher     --claim/done/retry/dead/release-->  persistence
//   batcher     --extract-->               extractor  --facts/apply-->  fact_writer
#pragma once

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/optional.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "domain/fact.hpp"
#include "domain/message.hpp"
#include "domain/processing.hpp"
#include "domain/queue.hpp"

namespace memoryd {

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
           x.external_id, x.created_at);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ingest_outcome& x) {
  return f(caf::meta::type_name("ingest_outcome"), x.id, x.seq, x.duplicate);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_message& x) {
  return f(caf::meta::type_name("stored_message"), x.seq, x.id, x.user_id, x.role, x.content,
           x.channel, x.external_id, x.created_at, x.status, x.attempts, x.next_attempt_at,
           x.lease_until, x.last_error, x.processed_at);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_query& x) {
  return f(caf::meta::type_name("history_query"), x.user_id, x.limit, x.since, x.until, x.role,
           x.processed);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_request& x) {
  return f(caf::meta::type_name("claim_request"), x.now, x.batch_size, x.per_user_batch_size,
           x.lease_ms, x.max_attempts);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claimed_message& x) {
  return f(caf::meta::type_name("claimed_message"), x.id, x.seq, x.content, x.created_at,
           x.attempts);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_batch& x) {
  return f(caf::meta::type_name("user_batch"), x.user_id, x.messages);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_result& x) {
  return f(caf::meta::type_name("claim_result"), x.users, x.dead_lettered);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_stats& x) {
  return f(caf::meta::type_name("queue_stats"), x.pending, x.leased, x.done, x.dead, x.skipped,
           x.retry_scheduled, x.oldest_pending_age_ms, x.users_waiting);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fact& x) {
  return f(caf::meta::type_name("fact"), x.id, x.user_id, x.text, x.category, x.status,
           x.observed_at, x.created_at, x.updated_at, x.source_ids);
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
           x.now);
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
           x.facts_written, x.errors, x.retries_scheduled, x.dead_lettered, x.claim_ms,
           x.extract_ms, x.write_ms, x.total_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, processor_status& x) {
  return f(caf::meta::type_name("processor_status"), x.running, x.in_flight, x.queued, x.pool_size,
           x.cycles, x.messages_processed, x.errors, x.facts_written, x.last_cycle);
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

  CAF_ADD_ATOM(memoryd, memoryd, ingest_atom, "ingest")
  CAF_ADD_ATOM(memoryd, memoryd, commit_atom, "commit")
  CAF_ADD_ATOM(memoryd, memoryd, handoff_atom, "handoff")
  CAF_ADD_ATOM(memoryd, memoryd, history_atom, "history")
  CAF_ADD_ATOM(memoryd, memoryd, claim_atom, "claim")
  CAF_ADD_ATOM(memoryd, memoryd, done_atom, "done")
  CAF_ADD_ATOM(memoryd, memoryd, retry_atom, "retry")
  CAF_ADD_ATOM(memoryd, memoryd, dead_atom, "dead")
  CAF_ADD_ATOM(memoryd, memoryd, release_atom, "release")
  CAF_ADD_ATOM(memoryd, memoryd, stats_atom, "stats")
  CAF_ADD_ATOM(memoryd, memoryd, facts_atom, "facts")
  CAF_ADD_ATOM(memoryd, memoryd, events_atom, "events")
  CAF_ADD_ATOM(memoryd, memoryd, apply_atom, "apply")
  CAF_ADD_ATOM(memoryd, memoryd, extract_atom, "extract")
  CAF_ADD_ATOM(memoryd, memoryd, tick_atom, "memo_tick")
  CAF_ADD_ATOM(memoryd, memoryd, run_atom, "run")
  CAF_ADD_ATOM(memoryd, memoryd, wake_atom, "wake")
  CAF_ADD_ATOM(memoryd, memoryd, drain_atom, "drain")
  CAF_ADD_ATOM(memoryd, memoryd, status_atom, "status")
  CAF_ADD_ATOM(memoryd, memoryd, health_atom, "health")
  CAF_ADD_ATOM(memoryd, memoryd, stop_atom, "stop")
  CAF_ADD_ATOM(memoryd, memoryd, erase_atom, "erase")
  CAF_ADD_ATOM(memoryd, memoryd, remember_atom, "remember")
  CAF_ADD_ATOM(memoryd, memoryd, forget_atom, "forget")
  CAF_ADD_ATOM(memoryd, memoryd, ready_atom, "ready")
  CAF_ADD_ATOM(memoryd, memoryd, metrics_atom, "metrics")
CAF_END_TYPE_ID_BLOCK(memoryd)
// clang-format on
