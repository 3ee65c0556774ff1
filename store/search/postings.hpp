// Posting lists computed from facts given with their stems: the definition every backend's
// lists follow (engine.hpp, postings_of), and the index of a user read whole. Internal to
// store/search.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/search/engine.hpp"

namespace memoryd::search::detail {

// An index over a set of facts in memory.
class fact_table_index {
 public:
  explicit fact_table_index(const candidate_set& facts);
  posting_lists postings(const std::vector<std::string>& keys, const std::string& category) const;

 private:
  struct held {
    std::uint32_t fact = 0;  // index into the facts, in position order
    std::uint32_t tf = 1;
  };
  const std::vector<held>* find(const std::string& key) const;

  std::vector<std::int64_t> positions_;
  std::vector<std::uint32_t> lengths_;
  std::vector<std::string> categories_;
  std::unordered_map<std::string, std::vector<held>> lists_;  // by index key
};

}  // namespace memoryd::search::detail
