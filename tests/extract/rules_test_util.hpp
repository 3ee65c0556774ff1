// Shared by the rules_*_tests.cpp files: a table of messages with the facts the rule-based
// extractor must find in each.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "extract/rules.hpp"

namespace memoryd::testing {

struct rules_example {
  const char* message;
  std::vector<std::string> texts;  // expected fact texts, in order
  const char* category = "";       // of the first fact, when given
  const char* slot = "";           // of the first fact, when given
};

inline std::vector<std::string> fact_texts(const std::vector<extracted_fact>& facts) {
  std::vector<std::string> out;
  for (const auto& f : facts) out.push_back(f.text);
  return out;
}

// Each message gives exactly the expected facts, the first with the category and slot when
// given, and every fact's slot is the one slot_of finds in its text.
inline void check_facts(const std::vector<rules_example>& table) {
  for (const auto& e : table) {
    INFO("message: " << e.message);
    const auto facts = extract_facts(e.message);
    CHECK(fact_texts(facts) == e.texts);
    if (!facts.empty() && *e.category) CHECK(facts[0].category == e.category);
    if (!facts.empty() && *e.slot) CHECK(facts[0].slot == e.slot);
    for (const auto& f : facts) CHECK(slot_of(f.text) == f.slot);
  }
}

}  // namespace memoryd::testing
