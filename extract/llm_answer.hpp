// Understanding an LLM's answer: find the JSON in it, read the operations, validate them
// against the user's active facts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "extract/extractor.hpp"

namespace memoryd {

// Longest fact text accepted, in bytes (after trimming).
inline constexpr std::size_t max_fact_text_bytes = 300;
// Operations beyond this many in one answer are dropped ("too_many_ops").
inline constexpr std::size_t max_ops_per_answer = 100;

struct llm_answer {
  std::vector<fact_op> ops;
  std::map<std::string, std::int64_t> dropped;  // invalid ops by reason (below)
  std::string parse_error;                      // no usable JSON: ops is empty
};

// Finds the JSON in `text`: the whole text, else a ``` / ```json fenced block, else the first
// balanced {...} or [...] in prose that has the expected shape. Accepted shapes:
// {"operations": [op...]}, a bare array of ops, and the older [{"fact", "category"}] (adds).
// An op is {"op": "add", "text", "category"} | {"op": "update", "id", "text", "category"?} |
// {"op": "delete", "id"}. Each invalid op is dropped and counted in `dropped` by reason:
//   malformed          not an object, or a field of the wrong type
//   unknown_op         "op" not add / update / delete (missing: an add when there is a
//                      text or fact and no id, as in the older format)
//   unknown_id         update / delete of an id that is not an active fact in `in.facts`
//   duplicate_id       a second update / delete of the same fact in one answer
//   empty_text         add / update without text (after trimming)
//   text_too_long      text over max_fact_text_bytes
//   unknown_category   a category that is not one of fact_category::all (a missing or
//                      empty category on an add means "other"; on an update, keep the old)
//   too_many_ops       beyond max_ops_per_answer
// Duplicates of existing facts pass through (the fact writer dedupes). Never throws: no JSON
// or not the expected shape sets `parse_error` and leaves `ops` empty. Every op gets
// observed_at = created_at of the last message and source_ids = all message ids.
llm_answer parse_llm_answer(std::string_view text, const extraction_input& in);

}  // namespace memoryd
