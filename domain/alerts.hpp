// Alerts on the queue's health (DESIGN §7a, docs/OPERATIONS.md): the failure rate of
// extractions over a window, the age of the oldest pending message, and dead letters added
// within the window, each measured on the processor history at every sample. A rule fires when
// its value reaches its threshold and resolves when it falls below; each crossing is reported
// once. docs/alerts.yml holds the same conditions as Prometheus rules. Plain data: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "domain/processor_history.hpp"

namespace memoryd {

struct alert_rules {
  double failure_rate = 0.2;           // share of extractions failing; 0: off
  std::int64_t min_attempts = 10;      // fewer extractions in the window: no verdict
  millis oldest_pending_ms = 1800000;  // 0: off
  std::int64_t dead_letters = 1;       // messages dead-lettered within the window; 0: off
  millis window_ms = 300000;
};

inline constexpr std::size_t kAlerts = 3;
inline constexpr const char* kAlertNames[kAlerts] = {"failure_rate", "oldest_pending",
                                                     "dead_letters"};

struct alert_state {
  std::string alert;      // one of kAlertNames
  bool enabled = false;   // its threshold is not 0
  bool active = false;    // firing
  double value = 0;       // at the last evaluation
  double threshold = 0;
  millis since = 0;       // when it fired (0 while not active)
};

// A crossing: the rule's state right after it fired (state.active) or resolved.
struct alert_change {
  alert_state state;
};

class alert_evaluator {
 public:
  explicit alert_evaluator(alert_rules rules);
  // Measures every rule on the samples of the window ending at `now`; the crossings, if any.
  std::vector<alert_change> evaluate(const history_ring& ring, millis now);
  const std::vector<alert_state>& states() const { return states_; }
  const alert_rules& rules() const { return rules_; }

 private:
  alert_rules rules_;
  std::vector<alert_state> states_;
};

// The notice's text, for people (Slack's "text"): what, how much, against what threshold.
std::string alert_text(const alert_state& s, millis window_ms);

}  // namespace memoryd
