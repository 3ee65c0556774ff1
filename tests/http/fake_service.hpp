// The in-memory service_api behind the HTTP tests, over loopback and direct.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/metrics.hpp"
#include "http/service_api.hpp"

namespace memoryd::testing {

// In-memory service_api. Answers at once on the calling thread, or after `delay` from a thread
// of its own; fails every call with `failure` when set.
class fake_api : public service_api {
 public:
  ~fake_api() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lk(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  void ingest(std::vector<new_message> msgs, callback<std::vector<ingest_outcome>> done) override {
    std::vector<ingest_outcome> out;
    {
      std::lock_guard lk(mutex_);
      ++calls_;
      for (auto& m : msgs) {
        ingest_outcome o;
        o.seq = static_cast<std::int64_t>(ingested_.size() + 1);
        o.id = "id-" + std::to_string(o.seq);
        o.duplicate = !m.external_id.empty() && m.external_id == "dup";
        out.push_back(o);
        ingested_.push_back(std::move(m));
      }
    }
    cv_.notify_all();
    answer(std::move(done), std::move(out));
  }

  // history_result (oldest first) as a store pages it: the latest `limit` with
  // seq < before_seq, oldest first. The filters are only recorded.
  void history(history_query q, callback<std::vector<stored_message>> done) override {
    std::vector<stored_message> out;
    for (auto it = history_result.rbegin(); it != history_result.rend(); ++it)
      if ((q.before_seq == 0 || it->seq < q.before_seq) && out.size() < std::size_t(q.limit))
        out.insert(out.begin(), *it);
    {
      std::lock_guard lk(mutex_);
      ++calls_;
      histories_.push_back(q);
    }
    cv_.notify_all();
    answer(std::move(done), std::move(out));
  }

  void facts(fact_query q, callback<fact_listing> done) override {
    {
      std::lock_guard lk(mutex_);
      ++calls_;
      fact_queries_.push_back(std::move(q));
    }
    cv_.notify_all();
    answer(std::move(done), facts_result);
  }

  void health(callback<health_report> done) override {
    {
      std::lock_guard lk(mutex_);
      ++calls_;
    }
    cv_.notify_all();
    answer(std::move(done), health_result);
  }

  void add_fact(std::string user_id, std::string text, std::string category,
                callback<fact> done) override {
    fact f;
    f.id = "f-new";
    f.user_id = user_id;
    f.text = text;
    f.category = category;
    f.status = "active";
    f.observed_at = f.created_at = f.updated_at = 42;
    record([&] { added_.push_back({std::move(user_id), std::move(text), std::move(category)}); });
    answer(std::move(done), std::move(f));
  }

  // Only user "u" has an active fact, "f-1".
  void delete_fact(std::string user_id, std::string fact_id, callback<bool> done) override {
    const bool found = user_id == "u" && fact_id == "f-1";
    record([&] { deleted_.emplace_back(std::move(user_id), std::move(fact_id)); });
    answer(std::move(done), found);
  }

  void erase_user(std::string user_id, callback<erase_report> done) override {
    erase_report r = user_id == "u" ? erase_result : erase_report{};
    record([&] { erased_.push_back(std::move(user_id)); });
    answer(std::move(done), r);
  }

  void run_cycle(callback<cycle_result> done) override {
    record([] {});
    answer(std::move(done), run_result);
  }

  void status(callback<status_report> done) override {
    record([] {});
    answer(std::move(done), status_result);
  }

  // Every dead message is 7 of them.
  void retry_dead(std::vector<std::string> ids, callback<std::int64_t> done) override {
    std::int64_t n = ids.empty() ? 7 : static_cast<std::int64_t>(ids.size());
    record([&] { retried_.push_back(std::move(ids)); });
    answer(std::move(done), n);
  }

  // dead_result (newest first) as a store pages it: seq < before_seq, at most limit.
  void dead_letters(dead_letter_query q, callback<std::vector<stored_message>> done) override {
    std::vector<stored_message> out;
    for (const auto& m : dead_result)
      if ((q.before_seq == 0 || m.seq < q.before_seq) && out.size() < std::size_t(q.limit))
        out.push_back(m);
    record([&] { dead_queries_.push_back(q); });
    answer(std::move(done), std::move(out));
  }

  void processor_history(millis window_ms, callback<history_window> done) override {
    record([&] { history_windows_.push_back(window_ms); });
    answer(std::move(done), history_window_result);
  }

  void ready(callback<health_report> done) override {
    record([] {});
    answer(std::move(done), ready_result);
  }

  void search_facts(search_request r, callback<std::vector<scored_fact>> done) override {
    record([&] { searches_.push_back(std::move(r)); });
    answer(std::move(done), search_result);
  }

  void context(context_request r, callback<memory_context> done) override {
    record([&] { contexts_.push_back(std::move(r)); });
    answer(std::move(done), context_result);
  }

  struct added_fact {
    std::string user_id, text, category;
  };

  // Knobs, set before requests are made.
  erase_report erase_result{3, 2, 4};
  cycle_result run_result;
  status_report status_result;
  health_report ready_result;
  std::optional<api_failure> failure;
  std::chrono::milliseconds delay{0};
  std::vector<stored_message> history_result;
  std::vector<stored_message> dead_result;
  history_window history_window_result;
  fact_listing facts_result;
  health_report health_result;
  std::vector<scored_fact> search_result;
  memory_context context_result;

  int calls() {
    std::lock_guard lk(mutex_);
    return calls_;
  }
  std::vector<new_message> ingested() {
    std::lock_guard lk(mutex_);
    return ingested_;
  }
  std::vector<history_query> histories() {
    std::lock_guard lk(mutex_);
    return histories_;
  }
  std::vector<fact_query> fact_queries() {
    std::lock_guard lk(mutex_);
    return fact_queries_;
  }
  std::vector<added_fact> added() {
    std::lock_guard lk(mutex_);
    return added_;
  }
  std::vector<std::pair<std::string, std::string>> deleted() {
    std::lock_guard lk(mutex_);
    return deleted_;
  }
  std::vector<std::string> erased() {
    std::lock_guard lk(mutex_);
    return erased_;
  }
  std::vector<std::vector<std::string>> retried() {
    std::lock_guard lk(mutex_);
    return retried_;
  }
  std::vector<dead_letter_query> dead_queries() {
    std::lock_guard lk(mutex_);
    return dead_queries_;
  }
  std::vector<millis> history_windows() {
    std::lock_guard lk(mutex_);
    return history_windows_;
  }
  std::vector<search_request> searches() {
    std::lock_guard lk(mutex_);
    return searches_;
  }
  std::vector<context_request> contexts() {
    std::lock_guard lk(mutex_);
    return contexts_;
  }
  // Waits (bounded) until the service has been called `n` times in all.
  bool wait_for_calls(int n, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::unique_lock lk(mutex_);
    return cv_.wait_for(lk, limit, [&] { return calls_ >= n; });
  }

 private:
  template <class T>
  void answer(callback<T> done, T value) {
    auto out = failure ? outcome<T>::fail(*failure) : outcome<T>::success(std::move(value));
    if (delay.count() == 0) return done(std::move(out));
    std::lock_guard lk(mutex_);
    threads_.emplace_back([d = delay, done = std::move(done), out = std::move(out)]() mutable {
      std::this_thread::sleep_for(d);
      done(std::move(out));
    });
  }

  template <class F>
  void record(F&& f) {
    {
      std::lock_guard lk(mutex_);
      ++calls_;
      f();
    }
    cv_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  int calls_ = 0;
  std::vector<new_message> ingested_;
  std::vector<history_query> histories_;
  std::vector<fact_query> fact_queries_;
  std::vector<added_fact> added_;
  std::vector<std::pair<std::string, std::string>> deleted_;
  std::vector<std::string> erased_;
  std::vector<std::vector<std::string>> retried_;
  std::vector<dead_letter_query> dead_queries_;
  std::vector<millis> history_windows_;
  std::vector<search_request> searches_;
  std::vector<context_request> contexts_;
  std::vector<std::thread> threads_;
};

}  // namespace memoryd::testing
