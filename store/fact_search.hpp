// Reading a user's facts for the chat: search and what the memory block needs. Every memory
// store answers it on its own connection; open_fact_search (store/open.hpp) opens a reader
// with a connection of its own, so searches need not wait behind the fact writer
// (docs/ARCHITECTURE.md, "Search"). One object is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/search.hpp"

namespace memoryd {

class fact_search {
 public:
  virtual ~fact_search() = default;
  // The user's active facts ranked by relevance to r.query, best first (store/search/engine):
  // at most r.limit, only r.category when it is set; none for an unknown user or a query of
  // stop words only.
  virtual std::vector<scored_fact> search(const search_request& r) = 0;
  // The user's active facts, most recent first: in the user's write order, which is the order
  // of observation (the processor takes a user's messages in arrival order, DESIGN §2.3); with
  // remembered_only, only those stored through the API ("remember this").
  virtual std::vector<fact> recent_facts(const std::string& user_id, std::int32_t limit,
                                         bool remembered_only) = 0;
};

}  // namespace memoryd
