// Search and recent facts on a memory.db connection (store/fact_search.hpp): the fact writer's
// own (memory_store) or a reader's (open_fact_reader), which WAL lets read while the writer
// commits.
#pragma once

#include <memory>

#include "store/fact_search.hpp"
#include "store/sqlite/database.hpp"

namespace memoryd::sqlite {

class fact_reader final : public fact_search {
 public:
  explicit fact_reader(database& db) : db_(db) {}  // db outlives this
  std::vector<scored_fact> search(const search_request& r) override;
  std::vector<fact> recent_facts(const std::string& user_id, std::int32_t limit,
                                 bool remembered_only) override;

 private:
  database& db_;
};

// A reader on a connection of its own to a migrated memory.db file (not ":memory:").
std::unique_ptr<fact_search> open_fact_reader(const store_options& opts);

}  // namespace memoryd::sqlite
