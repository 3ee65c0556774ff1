// Fact search and the prompt-ready memory block (DESIGN §5, docs/RETRIEVAL.md). Plain data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/fact.hpp"

namespace memoryd {

inline constexpr int default_search_limit = 10;
inline constexpr int max_search_limit = 100;
inline constexpr int default_context_chars = 2000;
inline constexpr int max_context_chars = 100000;

struct search_request {
  std::string user_id;
  std::string query;
  std::string category;  // empty: every category
  std::int32_t limit = default_search_limit;
};

// An active fact and how well it answers the query (higher is better; only the order means
// something, not the scale).
struct scored_fact {
  fact f;
  double score = 0;
};

struct context_request {
  std::string user_id;
  std::string query;  // empty: recent and remembered facts only
  std::int32_t max_chars = default_context_chars;
};

// One fact of the block and why it is there: "relevant" (to the query), "remembered"
// (stored through the API), "recent" (among the latest written).
struct context_fact {
  fact f;
  std::string reason;
  double score = 0;  // relevant only
};

struct memory_context {
  std::string text;  // one "- fact" line per fact, at most max_chars bytes
  std::vector<context_fact> facts;
};

}  // namespace memoryd
