// search_pool: the read path of fact search and the memory block (docs/ARCHITECTURE.md,
// "Search"). Not an actor: a few threads of our own, each with its own search reader
// (open_fact_search: its own SQLite connection, which WAL lets read while the fact writer
// commits, or its own PostgreSQL connection). An io thread queues the call; a reader thread
// runs it and calls back, which posts the answer to the connection's strand. Searches never
// wait behind the fact writer's transactions, and nothing blocks a CAF scheduler thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "http/service_api.hpp"
#include "store/fact_search.hpp"

namespace memoryd {

class search_pool {
 public:
  using opener = std::function<std::unique_ptr<fact_search>()>;
  // `open` makes one reader per thread, when the thread first needs it and again after a
  // failure. A call still queued after `timeout` is answered 503; so is one that finds
  // `max_queued` calls waiting.
  search_pool(opener open, int threads, std::chrono::milliseconds timeout,
              std::size_t max_queued = 4096);
  ~search_pool();  // answers what is queued 503, joins the threads
  search_pool(const search_pool&) = delete;
  search_pool& operator=(const search_pool&) = delete;

  void search(search_request r, callback<std::vector<scored_fact>> done);
  void context(context_request r, callback<memory_context> done);

 private:
  using clock = std::chrono::steady_clock;
  struct job {
    std::function<void(fact_search&)> run;
    std::function<void(api_failure)> fail;
    clock::time_point deadline;
  };
  void submit(job j);
  void work();

  const opener open_;
  const std::chrono::milliseconds timeout_;
  const std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace memoryd
