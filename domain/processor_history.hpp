// The processor's recent past, for GET /v1/processor/history, the dashboard's charts and the
// alerts: one sample per history.interval_ms (10 s by default) in a ring of fixed size, so 24 h
// at the default interval. Plain data and arithmetic: no CAF, no I/O.
//
// Memory: kHistoryCapacity samples of sizeof(history_sample) bytes, allocated once when the
// monitor starts (8,640 x 176 bytes = 1.45 MiB; tests/domain/processor_history_tests.cpp checks the
// figure that docs/ARCHITECTURE.md gives).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/clock.hpp"
#include "domain/processing.hpp"
#include "domain/queue.hpp"

namespace memoryd {

inline constexpr std::size_t kHistoryCapacity = 8640;  // 24 h of 10 s samples

struct history_sample {
  millis at = 0;  // when it was taken (wall clock ms, on the actor clock)
  // The queue at that moment; queue_known is false when the store did not answer in time.
  bool queue_known = false;
  std::int64_t pending = 0, leased = 0, dead = 0, retry_scheduled = 0, users_waiting = 0;
  millis oldest_pending_age_ms = 0;
  // During the interval that ends here.
  std::uint32_t cycles = 0;
  std::uint32_t processed = 0;      // messages marked processed
  std::uint32_t dead_lettered = 0;  // messages dead-lettered
  std::uint32_t facts_written = 0;
  std::array<std::uint32_t, kResults> extractions{};  // user batches by result
  std::array<std::uint32_t, kLatencyBounds + 1> latency{};  // extraction time histogram
};

// What GET /v1/processor/history shows: the samples of the window asked for.
struct history_window {
  millis now = 0;          // when the monitor answered
  millis interval_ms = 0;  // between samples
  std::vector<history_sample> samples;  // oldest first
};

// The sample for the interval from `before` to `now` (counters as deltas) and the queue.
history_sample make_sample(millis at, const processor_status& before, const processor_status& now,
                           const queue_stats* queue);

// A fixed-size ring of samples, oldest first.
class history_ring {
 public:
  explicit history_ring(std::size_t capacity = kHistoryCapacity);
  void push(const history_sample& s);
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return buf_.size(); }
  // The samples taken after `since` (at > since), oldest first.
  std::vector<history_sample> since(millis since) const;
  const history_sample* latest() const;

 private:
  std::vector<history_sample> buf_;
  std::size_t next_ = 0, size_ = 0;
};

// Samples merged into steps of `step` samples each (the last step may be shorter): counters
// add up, the queue is the step's last known value, the oldest pending age its largest.
std::vector<history_sample> downsample(const std::vector<history_sample>& in, std::size_t step);

// The q-quantile (0..1) of a latency histogram in ms, interpolated within its bucket as
// Prometheus's histogram_quantile does; -1 when it is empty.
double latency_quantile(const std::array<std::uint32_t, kLatencyBounds + 1>& h, double q);

}  // namespace memoryd
