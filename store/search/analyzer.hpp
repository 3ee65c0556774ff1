// Text analysis shared by indexing and querying on every backend (docs/RETRIEVAL.md): words,
// stop words, Snowball English stems. Both backends index what this produces, so they match
// the same facts for the same query.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace memoryd::search {

class lexicon;

// Lower-cased words: runs of ASCII letters and digits and of non-ASCII (UTF-8) bytes; an
// apostrophe inside a word is dropped with a possessive "'s" ("Max's" -> "max", "don't" ->
// "dont"). Stop words stay in.
std::vector<std::string> words(std::string_view text);

// Snowball's English stop list (and the apostrophe-less forms of its contractions).
bool is_stop_word(std::string_view word);

// Snowball English (Porter2) stem of a lower-cased word.
std::string stem(std::string_view word);

// A word as the index takes it, or "" for a stop word: a possessive is the word itself and
// other apostrophes join it ("max's" -> "max", "o'brien" -> "obrien").
std::string content_word(std::string word);

// The stems of the words that are not stop words, in text order: what the index holds.
std::vector<std::string> analyze(std::string_view text);

// Stems sharing their first five bytes are one prefix class ("mentor", "mentorship"); the
// class of a shorter stem is empty.
inline constexpr std::size_t prefix_class_bytes = 5;
inline std::string_view prefix_class(std::string_view stem) {
  return stem.size() >= prefix_class_bytes ? stem.substr(0, prefix_class_bytes)
                                           : std::string_view{};
}

// A fact as the index takes it: its stems (analyze) and the stems of its nouns' broader terms
// (lexicon::broader) that are neither stop words nor among its stems, each once. The broader
// terms do not count in the fact's length.
struct fact_terms {
  std::vector<std::string> stems, broader;
};
fact_terms analyze_fact(std::string_view text, const lexicon& lex);

// Index keys of analyzed text: "w:" + stem for each distinct stem, "p:" + class for each
// distinct prefix class, "x:" + each broader stem.
std::vector<std::string> index_keys(const std::vector<std::string>& stems,
                                    const std::vector<std::string>& broader = {});

// Terms as stored beside the fact: the stems, then "+" + each broader stem, space-separated.
std::string join_terms(const std::vector<std::string>& stems,
                       const std::vector<std::string>& broader = {});
// The stems of stored terms (the broader ones left out), and the broader ones (without "+").
std::vector<std::string_view> split_terms(std::string_view terms);
std::vector<std::string_view> split_broader(std::string_view terms);

}  // namespace memoryd::search
