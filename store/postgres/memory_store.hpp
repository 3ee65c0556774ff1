// Facts and their history on PostgreSQL, in the same database as the messages; each instance
// holds one connection here (the fact writer's).
//
// Every write of a user's facts takes that user's transaction-scoped advisory lock first, so
// the extraction of one instance and an API "remember" on another apply one after the other
// (the merge rules read, then write). An extraction batch is written only while one of its
// source messages still exists, read under FOR KEY SHARE: an erasure on any instance either
// waits for it or makes it write nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/memory_store.hpp"
#include "store/postgres/link.hpp"

namespace memoryd::pg {

class memory_store final : public memoryd::memory_store {
 public:
  // Connects (the schema must be migrated); throws error when the server cannot be reached.
  explicit memory_store(const std::string& url, link_options opts = {});
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

 private:
  class rows;  // fact_rows for the merge rules (store/fact_merge.hpp)
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd::pg
