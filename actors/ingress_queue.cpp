#include "actors/ingress_queue.hpp"

#include <utility>

namespace memoryd {
namespace {

api_failure unavailable() {
  return {503, "unavailable", "the service is shutting down: the message was not stored"};
}

}  // namespace

bool ingress_queue::push(request r) {
  {
    std::lock_guard lk(mutex_);
    if (!closed_) {
      queue_.push_back(std::move(r));
      return queue_.size() - head_ == 1;
    }
  }
  r.done(outcome<std::vector<ingest_outcome>>::fail(unavailable()));
  return false;
}

std::vector<ingress_queue::request> ingress_queue::take(std::size_t max_messages, bool& more) {
  std::vector<request> out;
  std::lock_guard lk(mutex_);
  std::size_t messages = 0;
  while (head_ < queue_.size() &&
         (out.empty() || messages + queue_[head_].messages.size() <= max_messages)) {
    messages += queue_[head_].messages.size();
    out.push_back(std::move(queue_[head_++]));
  }
  if (head_ == queue_.size()) {
    queue_.clear();  // keeps the capacity: no allocation per group once warmed up
    head_ = 0;
  }
  more = head_ < queue_.size();
  return out;
}

void ingress_queue::close() {
  std::vector<request> left;
  {
    std::lock_guard lk(mutex_);
    closed_ = true;
    for (auto i = head_; i < queue_.size(); ++i) left.push_back(std::move(queue_[i]));
    queue_.clear();
    head_ = 0;
  }
  for (auto& r : left) r.done(outcome<std::vector<ingest_outcome>>::fail(unavailable()));
}

std::size_t ingress_queue::size() const {
  std::lock_guard lk(mutex_);
  return queue_.size() - head_;
}

}  // namespace memoryd
