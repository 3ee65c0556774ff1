#include "domain/alerts.hpp"

#include <cmath>
#include <cstdio>

namespace memoryd {
namespace {

std::string duration_text(double ms) {
  char buf[48];
  if (ms < 120000)
    std::snprintf(buf, sizeof buf, "%.0f s", ms / 1000);
  else if (ms < 7200000)
    std::snprintf(buf, sizeof buf, "%.0f min", ms / 60000);
  else
    std::snprintf(buf, sizeof buf, "%.1f h", ms / 3600000);
  return buf;
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", v * 100);
  return buf;
}

}  // namespace

alert_evaluator::alert_evaluator(alert_rules rules) : rules_(rules) {
  const double thresholds[kAlerts] = {rules.failure_rate, double(rules.oldest_pending_ms),
                                      double(rules.dead_letters)};
  for (std::size_t i = 0; i < kAlerts; ++i) {
    alert_state s;
    s.alert = kAlertNames[i];
    s.threshold = thresholds[i];
    s.enabled = thresholds[i] > 0;
    states_.push_back(s);
  }
}

std::vector<alert_change> alert_evaluator::evaluate(const history_ring& ring, millis now) {
  std::uint64_t attempts = 0, failures = 0, dead = 0;
  for (const auto& s : ring.since(now - rules_.window_ms)) {
    if (s.at > now) continue;
    for (std::size_t k = 0; k < kResults; ++k) attempts += s.extractions[k];
    for (std::size_t k = 1; k < kResults; ++k) failures += s.extractions[k];
    dead += s.dead_lettered;
  }
  const history_sample* last = ring.latest();
  const double rate = attempts == 0 ? 0 : double(failures) / double(attempts);
  const double values[kAlerts] = {
      rate, last && last->queue_known ? double(last->oldest_pending_age_ms) : 0, double(dead)};
  // A failure rate over a handful of extractions says little: no verdict either way below
  // min_attempts, except that an active alert resolves once the window has no failures.
  const bool rate_judged = attempts >= static_cast<std::uint64_t>(rules_.min_attempts);
  std::vector<alert_change> out;
  for (std::size_t i = 0; i < kAlerts; ++i) {
    auto& st = states_[i];
    st.value = values[i];
    if (!st.enabled) continue;
    bool firing = st.value >= st.threshold;
    if (i == 0 && !rate_judged) firing = st.active && failures > 0;
    if (firing == st.active) continue;
    st.active = firing;
    st.since = firing ? now : 0;
    out.push_back({st});
  }
  return out;
}

std::string alert_text(const alert_state& s, millis window_ms) {
  const std::string head = s.active ? "memoryd alert: " : "memoryd resolved: ";
  if (s.alert == "failure_rate")
    return head + "extraction failure rate " + percent(s.value) + " over the last " +
           duration_text(double(window_ms)) + " (threshold " + percent(s.threshold) + ")";
  if (s.alert == "oldest_pending")
    return head + "the oldest pending message has waited " + duration_text(s.value) +
           " (threshold " + duration_text(s.threshold) + ")";
  char n[32], t[32];
  std::snprintf(n, sizeof n, "%.0f", s.value);
  std::snprintf(t, sizeof t, "%.0f", s.threshold);
  return head + n + " messages dead-lettered in the last " + duration_text(double(window_ms)) +
         " (threshold " + t + ")";
}

}  // namespace memoryd
