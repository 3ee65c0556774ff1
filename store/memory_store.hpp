// memory.db: each user's facts and the history of every change to them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/sqlite.hpp"
#include "store/types.hpp"

namespace memoryd {

struct memory_store_options {
  std::string path;  // ":memory:" works for tests
  std::string synchronous = "full";
  int busy_timeout_ms = 5000;
};

// Duplicate detection key: lower-cased, punctuation removed, whitespace collapsed.
// "Has a dog named Max." and "  has a DOG named max" have the same key.
std::string normalize_fact_text(const std::string& text);

bool is_valid_category(const std::string& category);

class memory_store {
 public:
  explicit memory_store(const memory_store_options& opts);  // opens + migrates
  ~memory_store();
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  // Applies the batch in one transaction, idempotently:
  // - a batch_key seen before changes nothing (result.replay = true);
  // - add of a text whose normalized form is already active: unchanged (its source ids
  //   are merged);
  // - update of an unknown / inactive id, or with observed_at older than the fact's: the
  //   op is rejected (a later statement supersedes an earlier one, never the reverse);
  //   update to the same normalized text: unchanged; otherwise the old fact becomes
  //   `superseded` and a new active fact carries the new text;
  // - delete of an unknown / inactive id: unchanged; else the fact becomes `deleted`.
  // Every change writes a fact_event with old and new text, cause, extractor, source ids,
  // observed_at. Unknown categories become "other"; empty text is rejected.
  apply_result apply(const fact_batch& batch);
  // Several batches in one transaction (group commit): results in order; if any batch
  // fails, nothing is written and the exception propagates.
  std::vector<apply_result> apply_group(const std::vector<fact_batch>& batches);

  std::vector<fact> active_facts(const std::string& user_id);
  std::vector<fact> all_facts(const std::string& user_id);  // any status
  std::vector<fact_event> events(const std::string& user_id);
  // Deletes every fact, fact event and applied-batch record of the user. Nothing of the
  // user is kept; keeping work that was in flight from writing facts again is the fact
  // writer's job (it remembers recent erasures).
  erase_report erase_user(const std::string& user_id);

  std::int64_t count_facts();

  sqlite::database& db();

 private:
  apply_result apply_in_transaction(const fact_batch& batch);
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd
