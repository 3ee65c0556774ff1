#include "actors/alert_webhook.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "core/log.hpp"
#include "extract/https_client.hpp"

namespace memoryd {

alert_webhook::alert_webhook(alert_webhook_options opts)
    : opts_(std::move(opts)), thread_([this] { run(); }) {}

alert_webhook::~alert_webhook() {
  {
    std::lock_guard lk(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (!queue_.empty())
    log::warn("alert_webhook_dropped", {{"notices", queue_.size()}, {"reason", "shutdown"}});
}

std::string alert_webhook::body(const alert_state& s, millis window_ms, millis at) {
  return boost::json::serialize(boost::json::object{{"text", alert_text(s, window_ms)},
                                                    {"alert", s.alert},
                                                    {"state", s.active ? "firing" : "resolved"},
                                                    {"value", s.value},
                                                    {"threshold", s.threshold},
                                                    {"window_ms", window_ms},
                                                    {"at", at}});
}

void alert_webhook::notify(const alert_state& s, millis window_ms, millis at) {
  auto b = body(s, window_ms, at);
  {
    std::lock_guard lk(mutex_);
    if (queue_.size() >= opts_.max_queue) {
      queue_.pop_front();
      log::warn("alert_webhook_dropped", {{"notices", 1}, {"reason", "queue full"}});
    }
    queue_.push_back(std::move(b));
  }
  cv_.notify_all();
}

std::int64_t alert_webhook::delivered() const {
  std::lock_guard lk(mutex_);
  return delivered_;
}

std::int64_t alert_webhook::failed() const {
  std::lock_guard lk(mutex_);
  return failed_;
}

void alert_webhook::run() {
  std::unique_ptr<https_client> client;
  std::unique_lock lk(mutex_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const std::string notice = queue_.front();
    auto wait = opts_.retry_base;
    bool done = false;
    for (int attempt = 1; !done && !stopping_; ++attempt) {
      lk.unlock();
      std::string error;
      try {
        if (!client) client = std::make_unique<https_client>(http_client_options{opts_.timeout, opts_.ca_file});
        auto r = client->post(opts_.url, {{"Content-Type", "application/json"}}, notice);
        if (r.status >= 200 && r.status < 300)
          done = true;
        else
          error = "HTTP " + std::to_string(r.status);
      } catch (const std::exception& e) {
        error = e.what();
        client.reset();  // a fresh connection next time
      }
      lk.lock();
      if (done) {
        ++delivered_;
        break;
      }
      // Never the URL: it may hold a secret (Slack's webhook URLs do).
      if (attempt >= opts_.max_attempts) {
        ++failed_;
        log::error("alert_webhook_failed", {{"attempts", attempt}, {"error", error}});
        break;
      }
      log::warn("alert_webhook_retry",
                {{"attempt", attempt}, {"error", error}, {"retry_in_ms", wait.count()}});
      cv_.wait_for(lk, wait, [&] { return stopping_; });
      wait = std::min(wait * 2, opts_.retry_max);
    }
    if (stopping_) return;
    queue_.pop_front();
  }
}

}  // namespace memoryd
