// memory.db on SQLite: one file in WAL mode, written by one connection (the fact writer's).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/memory_store.hpp"
#include "store/sqlite/database.hpp"

namespace memoryd::sqlite {

class memory_store final : public memoryd::memory_store {
 public:
  explicit memory_store(const store_options& opts);  // opens + migrates
  ~memory_store() override;
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  std::vector<apply_result> apply_group(const std::vector<fact_batch>& batches) override;
  std::optional<fact> remember(const std::string& user_id, const std::string& text,
                               const std::string& category, millis now) override;
  bool forget(const std::string& user_id, const std::string& fact_id, millis now) override;
  std::vector<fact> active_facts(const std::string& user_id) override;
  std::vector<fact> all_facts(const std::string& user_id) override;
  std::vector<fact_event> events(const std::string& user_id) override;
  std::vector<fact> active_facts_page(const std::string& user_id, millis after_created_at,
                                      std::int64_t after_seq, std::int32_t limit) override;
  std::vector<fact_event> events_page(const std::string& user_id, std::int64_t before_seq,
                                      std::int32_t limit) override;
  erase_report erase_user(const std::string& user_id) override;
  std::int64_t count_facts() override;
  void ping() override;
  std::vector<scored_fact> search(const search_request& r) override;
  std::vector<fact> recent_facts(const std::string& user_id, std::int32_t limit,
                                 bool remembered_only) override;

  database& db();  // SQLite only: tests and diagnostics
  // WAL checkpoints done by the background checkpointer (synchronous=normal only; 0 otherwise).
  std::int64_t background_checkpoints() const;

 private:
  struct impl;
  class rows;  // fact_rows for the merge rules (store/fact_merge.hpp)
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd::sqlite
