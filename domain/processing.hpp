// Processing outcomes: why an extraction failed (one taxonomy from the extractor backend to
// the batcher), what a cycle did, and the processor's status.
// Plain data: no CAF, SQLite or Boost; every layer may include it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace memoryd {

// Why one user's batch produced no facts, which decides what happens to its messages
// (docs/ARCHITECTURE.md, "Failures").
enum class failure_kind : std::uint8_t {
  transient,     // retry with backoff: transport error, timeout, 408, 409, 5xx, 529
  rate_limited,  // 429: retry with backoff, and the whole pool slows down
  permanent,     // dead-letter at once: 400/401/403/404, TLS: retrying cannot help
  unparseable,   // the answer could not be understood: processed with the error recorded,
                 // not retried (a model that answers garbage would answer garbage again)
  truncated,     // the answer hit the token budget even with a larger one and the batch
                 // split: dead-letter (its facts are missing, so it must not be marked done)
  refused,       // the model declined to answer: processed with the refusal recorded
};

// "transient", "rate_limited", "permanent", "unparseable", "truncated", "refused": log fields
// and metric labels.
inline std::string to_string(failure_kind k) {
  switch (k) {
    case failure_kind::transient:
      return "transient";
    case failure_kind::rate_limited:
      return "rate_limited";
    case failure_kind::permanent:
      return "permanent";
    case failure_kind::unparseable:
      return "unparseable";
    case failure_kind::truncated:
      return "truncated";
    case failure_kind::refused:
      return "refused";
  }
  return "unknown";
}

// Extraction results as the processor counts them: ok, then each failure_kind in its order.
inline constexpr std::size_t kResults = 7;
inline constexpr const char* kResultNames[kResults] = {
    "ok", "transient", "rate_limited", "permanent", "unparseable", "truncated", "refused"};
inline constexpr std::size_t kResultOk = 0;
inline constexpr std::size_t result_index(failure_kind k) {
  return 1 + static_cast<std::size_t>(k);
}

// Extraction time buckets: upper bounds in ms, and one bucket more for anything slower.
inline constexpr std::size_t kLatencyBounds = 15;
inline constexpr std::array<double, kLatencyBounds> kLatencyBoundsMs = {
    1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000};
inline std::size_t latency_bucket(double ms) {
  for (std::size_t i = 0; i < kLatencyBounds; ++i)
    if (ms <= kLatencyBoundsMs[i]) return i;
  return kLatencyBounds;
}

// The result of one processing cycle (one claim and everything it led to).
struct cycle_result {
  std::uint64_t cycle_id = 0;
  std::int32_t users = 0;
  std::int32_t messages_processed = 0;  // marked done (with or without a note)
  std::int32_t facts_written = 0;       // facts added + updated + deleted
  std::int32_t errors = 0;              // user batches that failed (retry or dead)
  std::int32_t retries_scheduled = 0;   // messages put back for a later attempt
  std::int32_t dead_lettered = 0;       // messages dead-lettered
  std::int32_t live_claimed = 0;        // messages claimed, by their priority
  std::int32_t backfill_claimed = 0;
  double claim_ms = 0, extract_ms = 0, write_ms = 0, total_ms = 0;
};

// A cycle as the processor remembers it: its result and when it completed (wall clock ms).
struct finished_cycle {
  millis finished_at = 0;
  cycle_result result;
};
inline constexpr std::size_t kRecentCycles = 20;

// Processor status for /v1/processor/status and metrics.
struct processor_status {
  bool running = false;        // the pipeline accepts work
  std::int32_t in_flight = 0;  // user batches in extractors
  std::int32_t queued = 0;     // claimed, waiting for an idle extractor
  std::int32_t pool_size = 0;
  std::int32_t concurrency_limit = 0;  // lowered while the LLM answers 429
  std::uint64_t cycles = 0;
  std::int64_t messages_processed = 0, errors = 0, facts_written = 0;
  std::int64_t dead_lettered = 0;                          // messages
  std::array<std::int64_t, kResults> extractions{};        // user batches by result
  std::array<std::int64_t, kLatencyBounds + 1> latency{};  // extraction time histogram
  cycle_result last_cycle;
  std::vector<finished_cycle> recent_cycles;  // newest first, at most kRecentCycles
};

}  // namespace memoryd
