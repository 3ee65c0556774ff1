// The alert notices' way out (DESIGN §7a): each crossing the monitor reports is POSTed as JSON
// to alerts.webhook_url, from a thread of this class's own, so a slow or dead receiver never
// holds up the pipeline. Notices wait in a bounded queue (the oldest is dropped when it is
// full, logged as alert_webhook_dropped) and are sent in order; a transport error, a timeout or
// a non-2xx answer is retried with exponential backoff up to max_attempts, then logged as
// alert_webhook_failed and given up. The body is Slack-compatible (its "text" is what Slack,
// Mattermost and Rocket.Chat show):
//   {"text": "...", "alert": "failure_rate", "state": "firing", "value": 0.85,
//    "threshold": 0.2, "window_ms": 300000, "at": 1767225600000}
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "domain/alerts.hpp"

namespace memoryd {

struct alert_webhook_options {
  std::string url;
  std::size_t max_queue = 64;
  int max_attempts = 6;
  std::chrono::milliseconds retry_base{1000};  // then 2 s, 4 s, ... up to retry_max
  std::chrono::milliseconds retry_max{60000};
  std::chrono::milliseconds timeout{5000};  // one POST, connect to answer
  std::string ca_file;                      // PEM bundle for https; empty: the system store
};

class alert_webhook {
 public:
  explicit alert_webhook(alert_webhook_options opts);
  // Stops the thread: a POST under way is bounded by `timeout`; what is still queued is
  // logged (alert_webhook_dropped) and not sent.
  ~alert_webhook();
  alert_webhook(const alert_webhook&) = delete;
  alert_webhook& operator=(const alert_webhook&) = delete;

  // Queues the notice for `s` at `at`; never blocks on the network.
  void notify(const alert_state& s, millis window_ms, millis at);

  std::int64_t delivered() const;  // notices the receiver answered 2xx
  std::int64_t failed() const;     // given up after max_attempts

  // The JSON body for a crossing (exposed for tests).
  static std::string body(const alert_state& s, millis window_ms, millis at);

 private:
  void run();
  alert_webhook_options opts_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  std::int64_t delivered_ = 0, failed_ = 0;
  std::thread thread_;
};

}  // namespace memoryd
