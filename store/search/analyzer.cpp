#include "store/search/analyzer.hpp"

#include <libstemmer.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <unordered_set>

#include "store/search/lexicon.hpp"

namespace memoryd::search {
namespace {

// snowballstem.org/algorithms/english/stop.txt
const std::unordered_set<std::string_view>& stop_words() {
  static const std::unordered_set<std::string_view> words = {
      "i",          "me",      "my",        "myself",  "we",       "our",        "ours",
      "ourselves",  "you",     "your",      "yours",   "yourself", "yourselves", "he",
      "him",        "his",     "himself",   "she",     "her",      "hers",       "herself",
      "it",         "its",     "itself",    "they",    "them",     "their",      "theirs",
      "themselves", "what",    "which",     "who",     "whom",     "this",       "that",
      "these",      "those",   "am",        "is",      "are",      "was",        "were",
      "be",         "been",    "being",     "have",    "has",      "had",        "having",
      "do",         "does",    "did",       "doing",   "would",    "should",     "could",
      "ought",      "i'm",     "you're",    "he's",    "she's",    "it's",       "we're",
      "they're",    "i've",    "you've",    "we've",   "they've",  "i'd",        "you'd",
      "he'd",       "she'd",   "we'd",      "they'd",  "i'll",     "you'll",     "he'll",
      "she'll",     "we'll",   "they'll",   "isn't",   "aren't",   "wasn't",     "weren't",
      "hasn't",     "haven't", "hadn't",    "doesn't", "don't",    "didn't",     "won't",
      "wouldn't",   "shan't",  "shouldn't", "can't",   "cannot",   "couldn't",   "mustn't",
      "let's",      "that's",  "who's",     "what's",  "here's",   "there's",    "when's",
      "where's",    "why's",   "how's",     "a",       "an",       "the",        "and",
      "but",        "if",      "or",        "because", "as",       "until",      "while",
      "of",         "at",      "by",        "for",     "with",     "about",      "against",
      "between",    "into",    "through",   "during",  "before",   "after",      "above",
      "below",      "to",      "from",      "up",      "down",     "in",         "out",
      "on",         "off",     "over",      "under",   "again",    "further",    "then",
      "once",       "here",    "there",     "when",    "where",    "why",        "how",
      "all",        "any",     "both",      "each",    "few",      "more",       "most",
      "other",      "some",    "such",      "no",      "nor",      "not",        "only",
      "own",        "same",    "so",        "than",    "too",      "very"};
  return words;
}

bool word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// The typographic apostrophe U+2019 in UTF-8.
bool curly_apostrophe_at(std::string_view s, std::size_t i) {
  return s.size() - i >= 3 && s.compare(i, 3, "\xE2\x80\x99") == 0;
}

struct stemmer_deleter {
  void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
};

// A Snowball stemmer is not thread-safe: one per thread.
sb_stemmer& thread_stemmer() {
  thread_local std::unique_ptr<sb_stemmer, stemmer_deleter> s(sb_stemmer_new("english", "UTF_8"));
  if (!s) throw std::runtime_error("search: cannot create the Snowball English stemmer");
  return *s;
}

}  // namespace

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    while (!cur.empty() && cur.back() == '\'') cur.pop_back();
    if (!cur.empty()) out.push_back(std::move(cur));
    cur.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool apostrophe = c == '\'' || curly_apostrophe_at(text, i);
    if (apostrophe) {
      if (!cur.empty()) cur += '\'';
      if (c != '\'') i += 2;
    } else if (word_byte(c)) {
      cur += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    } else {
      flush();
    }
  }
  flush();
  return out;
}

bool is_stop_word(std::string_view word) { return stop_words().count(word) > 0; }

std::string stem(std::string_view word) {
  auto& s = thread_stemmer();
  const sb_symbol* out = sb_stemmer_stem(&s, reinterpret_cast<const sb_symbol*>(word.data()),
                                         static_cast<int>(word.size()));
  if (!out) throw std::bad_alloc();
  return std::string(reinterpret_cast<const char*>(out),
                     static_cast<std::size_t>(sb_stemmer_length(&s)));
}

std::string content_word(std::string w) {
  if (is_stop_word(w)) return {};
  if (w.size() > 2 && w.compare(w.size() - 2, 2, "'s") == 0) w.resize(w.size() - 2);
  w.erase(std::remove(w.begin(), w.end(), '\''), w.end());
  return is_stop_word(w) ? std::string{} : w;
}

std::vector<std::string> analyze(std::string_view text) {
  std::vector<std::string> out;
  for (auto& w : words(text))
    if (auto c = content_word(std::move(w)); !c.empty()) out.push_back(stem(c));
  return out;
}

fact_terms analyze_fact(std::string_view text, const lexicon& lex) {
  fact_terms out;
  std::vector<std::string> content;
  for (auto& w : words(text))
    if (auto c = content_word(std::move(w)); !c.empty()) {
      out.stems.push_back(stem(c));
      content.push_back(std::move(c));
    }
  if (!lex.loaded()) return out;
  std::unordered_set<std::string> seen(out.stems.begin(), out.stems.end());
  for (const auto& w : content)
    for (const auto& base : lex.base_forms(w))
      if (const auto* up = lex.broader(base))
        for (const auto& s : *up)
          if (seen.insert(s).second) out.broader.push_back(s);
  return out;
}

std::vector<std::string> index_keys(const std::vector<std::string>& stems,
                                    const std::vector<std::string>& broader) {
  std::vector<std::string> keys;
  keys.reserve(stems.size() * 2 + broader.size());
  for (const auto& s : stems) {
    keys.push_back("w:" + s);
    if (auto c = prefix_class(s); !c.empty()) keys.push_back("p:" + std::string(c));
  }
  for (const auto& s : broader) keys.push_back("x:" + s);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::string join_terms(const std::vector<std::string>& stems,
                       const std::vector<std::string>& broader) {
  std::string out;
  for (const auto& s : stems) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  for (const auto& s : broader) {
    if (!out.empty()) out += ' ';
    out += '+';
    out += s;
  }
  return out;
}

namespace {
std::vector<std::string_view> split(std::string_view terms, bool broader) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < terms.size()) {
    auto end = terms.find(' ', pos);
    if (end == std::string_view::npos) end = terms.size();
    if (end > pos && (terms[pos] == '+') == broader)
      out.push_back(terms.substr(pos + (broader ? 1 : 0), end - pos - (broader ? 1 : 0)));
    pos = end + 1;
  }
  return out;
}
}  // namespace

std::vector<std::string_view> split_terms(std::string_view terms) { return split(terms, false); }
std::vector<std::string_view> split_broader(std::string_view terms) { return split(terms, true); }

}  // namespace memoryd::search
