// The rule extractor's lexicon: word lists kept as data in extract/rules/lexicon/*.txt and
// compiled in (CMake turns them into one generated source, cmake/rules_lexicon.cmake).
//
// File format: one entry a line; blank lines and lines starting with '#' are ignored. An
// entry is a key word, optionally followed by values separated by spaces: a word list has
// keys only ("nurse"), a map has a value ("play interests"), a map to lists has several
// ("self employed taught"). A key appears once per file: the build fails on a duplicate and
// a test checks it again (lexicon::duplicates).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace memoryd::rules {

using word_set = std::unordered_set<std::string_view>;
using word_pairs = std::unordered_map<std::string_view, std::string_view>;
using word_sets = std::unordered_map<std::string_view, word_set>;
using word_lists = std::unordered_map<std::string_view, std::vector<std::string_view>>;

inline bool has(const word_set& s, std::string_view w) { return s.find(w) != s.end(); }

namespace lexicon {

struct source {
  std::string_view name;  // file name without ".txt"
  std::string_view text;  // its content
};

// All compiled-in files (generated).
const std::vector<source>& sources();

// The keys of a file. Each accessor parses its file once; an unknown name throws
// std::logic_error (a typo must not read as an empty list).
const word_set& words(std::string_view name);
// key -> the rest of its line ("play interests" -> play: "interests").
const word_pairs& pairs(std::string_view name);
// key -> its values as a set, or as a list in file order.
const word_sets& sets(std::string_view name);
const word_lists& lists(std::string_view name);

// Keys that appear more than once in a file's text.
std::vector<std::string> duplicates(std::string_view text);

}  // namespace lexicon
}  // namespace memoryd::rules
