#include "actors/search_pool.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "store/search/context.hpp"
#include "store/search/lexicon.hpp"

namespace memoryd {
namespace {

api_failure unavailable(const std::string& why) {
  return {503, "unavailable", "the service could not complete the request: " + why};
}

}  // namespace

search_pool::search_pool(opener open, int threads, std::chrono::milliseconds timeout,
                         std::size_t max_queued)
    : open_(std::move(open)), timeout_(timeout), max_queued_(max_queued) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { work(); });
}

search_pool::~search_pool() {
  std::deque<job> left;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    left.swap(queue_);
  }
  cv_.notify_all();
  for (auto& j : left) j.fail(unavailable("shutting down"));
  for (auto& t : threads_) t.join();
}

void search_pool::submit(job j) {
  const char* refused = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_)
      refused = "shutting down";
    else if (queue_.size() >= max_queued_)
      refused = "too many searches waiting";
    else
      queue_.push_back(std::move(j));
  }
  if (refused) return j.fail(unavailable(refused));
  cv_.notify_one();
}

void search_pool::work() {
  search::lexicon::shared();  // WordNet is read at start, not by the first search
  std::unique_ptr<fact_search> reader;
  for (;;) {
    job j;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    if (clock::now() > j.deadline) {
      j.fail(unavailable("timed out waiting for a search reader"));
      continue;
    }
    const auto start = clock::now();
    try {
      if (!reader) reader = open_();
      j.run(*reader);
    } catch (const std::exception& e) {
      reader.reset();  // opened again for the next call
      log::error("storage_error", {{"db", "memory"}, {"op", "search"}, {"error", e.what()}});
      j.fail(unavailable(std::string("storage: ") + e.what()));
      continue;
    }
    metrics::observe("memoryd_search_duration_seconds", "",
                     std::chrono::duration<double>(clock::now() - start).count());
  }
}

void search_pool::search(search_request r, callback<std::vector<scored_fact>> done) {
  auto d = std::make_shared<callback<std::vector<scored_fact>>>(std::move(done));
  submit({[r = std::move(r), d](fact_search& s) {
            (*d)(outcome<std::vector<scored_fact>>::success(s.search(r)));
          },
          [d](api_failure f) { (*d)(outcome<std::vector<scored_fact>>::fail(std::move(f))); },
          clock::now() + timeout_});
}

void search_pool::context(context_request r, callback<memory_context> done) {
  auto d = std::make_shared<callback<memory_context>>(std::move(done));
  submit({[r = std::move(r), d](fact_search& s) {
            (*d)(outcome<memory_context>::success(search::build_context(s, r)));
          },
          [d](api_failure f) { (*d)(outcome<memory_context>::fail(std::move(f))); },
          clock::now() + timeout_});
}

}  // namespace memoryd
