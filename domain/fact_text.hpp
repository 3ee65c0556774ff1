// What makes two fact texts "the same fact", and which categories exist.
#pragma once

#include <string>

namespace memoryd {

// Duplicate detection key: lower-cased, punctuation removed, whitespace collapsed.
// "Has a dog named Max." and "  has a DOG named max" have the same key.
std::string normalize_fact_text(const std::string& text);

// One of fact_category::all.
bool is_valid_category(const std::string& category);

}  // namespace memoryd
