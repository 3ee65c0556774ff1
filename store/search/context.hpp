// The prompt-ready memory block (GET /v1/users/{id}/context): what the chat needs to know about
// the user for this message, within a size budget.
#pragma once

#include "domain/search.hpp"
#include "store/fact_search.hpp"

namespace memoryd::search {

// How many facts of each kind are considered before the budget cuts.
inline constexpr std::int32_t context_relevant = 10;
inline constexpr std::int32_t context_remembered = 5;
inline constexpr std::int32_t context_recent = 5;

// The facts most relevant to r.query (none without one), then the ones remembered through the
// API, then the most recent, each once, in that order: the block reads from what
// matters for this message to the general background. Whole facts only: the first fact that
// would take the text past r.max_chars bytes ends it.
memory_context build_context(fact_search& facts, const context_request& r);

}  // namespace memoryd::search
