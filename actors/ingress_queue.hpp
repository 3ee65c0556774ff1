// ingress_queue: the ingress's hot path for ingests, from the HTTP io threads straight to the
// persistence actor (docs/ARCHITECTURE.md, "Ingest path"). A mutex-protected queue, not an
// actor: an io thread pushes the request and wakes persistence only when the queue was empty;
// persistence takes everything queued into one transaction and answers each callback after
// COMMIT.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <vector>

#include "domain/message.hpp"
#include "http/service_api.hpp"

namespace memoryd {

class ingress_queue {
 public:
  using clock = std::chrono::steady_clock;
  struct request {
    std::vector<new_message> messages;
    callback<std::vector<ingest_outcome>> done;
    clock::time_point deadline;  // past it, answered 503 without being stored
  };

  // Queues a request. Returns true when the queue was empty, so the caller must wake the
  // consumer; false when a wake-up is already on its way. After close(), the request is
  // answered 503 at once (on the caller's thread) and false is returned.
  bool push(request r);

  // Takes queued requests, oldest first, up to `max_messages` messages (at least one
  // request). `more` tells whether requests remain queued (the consumer then wakes itself).
  std::vector<request> take(std::size_t max_messages, bool& more);

  // No more requests: answers every queued one 503 (the consumer is gone).
  void close();

  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::vector<request> queue_;
  std::size_t head_ = 0;  // requests before head_ were taken
  bool closed_ = false;
};

}  // namespace memoryd
