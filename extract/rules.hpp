// The built-in rule-based extractor: first-person statements to atomic facts, offline.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "extract/extractor.hpp"

namespace memoryd {

// One fact found in one message.
struct extracted_fact {
  std::string text;      // third person, no subject: "Has a dog named Max"
  std::string category;  // one of fact_category::all
  // Single-valued attribute this fact sets ("location", "employer", "diet", ...), empty if
  // the fact is one of many (likes, pets...). A new value for a slot updates the old fact.
  std::string slot;
  // For a fact implied by a mention ("my wife said" -> "Has a wife"): the noun it is about.
  // Such a fact is dropped when another fact of the batch or an active fact names it.
  std::string implied_noun;
};

// Facts stated by the user in one message; none for questions, temporary states,
// hypotheticals and statements about others.
std::vector<extracted_fact> extract_facts(std::string_view message);

// The slot an existing fact's text sets (same rules as above), empty if none.
std::string slot_of(std::string_view fact_text);

class rule_extractor : public extractor_backend {
 public:
  // Per message in order: each fact becomes an add, or an update of the active fact
  // (given or added earlier in this batch) that holds the same slot with other text.
  // Facts already known (same normalized text) produce no op.
  extraction_output extract(const extraction_input& in) override;
  std::string version() const override { return "rules/1"; }
};

}  // namespace memoryd
