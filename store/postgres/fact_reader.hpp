// Search and recent facts on PostgreSQL (store/fact_search.hpp), over the memory store's link
// or a reader's own connection (open_fact_reader), so searches do not queue behind the fact
// writer's transactions.
#pragma once

#include <memory>
#include <string>

#include "store/fact_search.hpp"
#include "store/postgres/link.hpp"

namespace memoryd::pg {

class fact_reader final : public fact_search {
 public:
  explicit fact_reader(link& db) : db_(db) {}  // db outlives this
  std::vector<scored_fact> search(const search_request& r) override;
  std::vector<fact> recent_facts(const std::string& user_id, std::int32_t limit,
                                 bool remembered_only) override;

 private:
  link& db_;
};

// A reader with a connection of its own (the schema must be migrated).
std::unique_ptr<fact_search> open_fact_reader(const std::string& url);

}  // namespace memoryd::pg
