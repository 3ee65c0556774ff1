#include "domain/processor_history.hpp"

#include <algorithm>

namespace memoryd {
namespace {

std::uint32_t delta(std::int64_t now, std::int64_t before) {
  if (now <= before) return 0;
  return static_cast<std::uint32_t>(std::min<std::int64_t>(now - before, UINT32_MAX));
}

}  // namespace

history_sample make_sample(millis at, const processor_status& before, const processor_status& now,
                           const queue_stats* queue) {
  history_sample s;
  s.at = at;
  if (queue) {
    s.queue_known = true;
    s.pending = queue->pending;
    s.leased = queue->leased;
    s.dead = queue->dead;
    s.retry_scheduled = queue->retry_scheduled;
    s.users_waiting = queue->users_waiting;
    s.oldest_pending_age_ms = queue->oldest_pending_age_ms;
  }
  s.cycles = delta(static_cast<std::int64_t>(now.cycles), static_cast<std::int64_t>(before.cycles));
  s.processed = delta(now.messages_processed, before.messages_processed);
  s.dead_lettered = delta(now.dead_lettered, before.dead_lettered);
  s.facts_written = delta(now.facts_written, before.facts_written);
  for (std::size_t i = 0; i < kResults; ++i)
    s.extractions[i] = delta(now.extractions[i], before.extractions[i]);
  for (std::size_t i = 0; i < s.latency.size(); ++i)
    s.latency[i] = delta(now.latency[i], before.latency[i]);
  return s;
}

history_ring::history_ring(std::size_t capacity) : buf_(std::max<std::size_t>(capacity, 1)) {}

void history_ring::push(const history_sample& s) {
  buf_[next_] = s;
  next_ = (next_ + 1) % buf_.size();
  size_ = std::min(size_ + 1, buf_.size());
}

std::vector<history_sample> history_ring::since(millis since) const {
  std::vector<history_sample> out;
  const std::size_t first = (next_ + buf_.size() - size_) % buf_.size();
  for (std::size_t i = 0; i < size_; ++i) {
    const auto& s = buf_[(first + i) % buf_.size()];
    if (s.at > since) out.push_back(s);
  }
  return out;
}

const history_sample* history_ring::latest() const {
  if (size_ == 0) return nullptr;
  return &buf_[(next_ + buf_.size() - 1) % buf_.size()];
}

std::vector<history_sample> downsample(const std::vector<history_sample>& in, std::size_t step) {
  if (step <= 1) return in;
  std::vector<history_sample> out;
  out.reserve(in.size() / step + 1);
  for (std::size_t i = 0; i < in.size(); i += step) {
    history_sample m;
    m.queue_known = false;
    for (std::size_t j = i; j < std::min(in.size(), i + step); ++j) {
      const auto& s = in[j];
      m.at = s.at;
      if (s.queue_known) {
        m.queue_known = true;
        m.pending = s.pending;
        m.leased = s.leased;
        m.dead = s.dead;
        m.retry_scheduled = s.retry_scheduled;
        m.users_waiting = s.users_waiting;
        m.oldest_pending_age_ms = std::max(m.oldest_pending_age_ms, s.oldest_pending_age_ms);
      }
      m.cycles += s.cycles;
      m.processed += s.processed;
      m.dead_lettered += s.dead_lettered;
      m.facts_written += s.facts_written;
      for (std::size_t k = 0; k < kResults; ++k) m.extractions[k] += s.extractions[k];
      for (std::size_t k = 0; k < m.latency.size(); ++k) m.latency[k] += s.latency[k];
    }
    out.push_back(m);
  }
  return out;
}

double latency_quantile(const std::array<std::uint32_t, kLatencyBounds + 1>& h, double q) {
  std::uint64_t total = 0;
  for (auto c : h) total += c;
  if (total == 0) return -1;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (h[i] == 0 || static_cast<double>(below + h[i]) < rank) {
      below += h[i];
      continue;
    }
    // The slowest bucket has no upper bound: its lower bound is the best we can say.
    if (i == kLatencyBounds) return kLatencyBoundsMs[kLatencyBounds - 1];
    const double lo = i == 0 ? 0 : kLatencyBoundsMs[i - 1];
    const double hi = kLatencyBoundsMs[i];
    return lo + (hi - lo) * (rank - static_cast<double>(below)) / static_cast<double>(h[i]);
  }
  return kLatencyBoundsMs[kLatencyBounds - 1];
}

}  // namespace memoryd
