// The one place that holds the LLM extraction prompt. Change the text => bump prompt_version
// (it is part of the extractor version recorded in every fact event).
#pragma once

#include <string>
#include <string_view>

#include "extract/extractor.hpp"

namespace memoryd {

inline constexpr const char* prompt_version = "prompt-3";

// Delimiters of the data blocks in the user part. User text can never contain them:
// build_prompt breaks up every run of three '<' or '>' inside data.
inline constexpr const char* prompt_facts_begin = "<<<FACTS>>>";
inline constexpr const char* prompt_facts_end = "<<<END FACTS>>>";
inline constexpr const char* prompt_messages_begin = "<<<MESSAGES>>>";
inline constexpr const char* prompt_messages_end = "<<<END MESSAGES>>>";

struct llm_prompt {
  std::string system;  // instructions: what a fact is, categories, the JSON to answer
  std::string user;    // the data: active facts with ids, new messages with ISO times
};

// System part: fixed text. User part: the active facts, one JSON object a line
// ({"id","category","text"}), then the messages in order ({"time","text"}, time in ISO 8601
// UTC), each block between its delimiters.
llm_prompt build_prompt(const extraction_input& in);

// "2024-05-01T12:00:00Z" (milliseconds only when not zero).
std::string iso_time_utc(millis ms);

// `text` with every run of three or more '<' or '>' broken up by spaces, so that it cannot
// contain (or close) a prompt delimiter.
std::string neutralize_delimiters(std::string_view text);

}  // namespace memoryd
