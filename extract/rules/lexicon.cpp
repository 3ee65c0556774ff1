#include "extract/rules/lexicon.hpp"

#include <map>
#include <mutex>
#include <stdexcept>

namespace memoryd::rules::lexicon {
namespace {

struct entry {
  std::string_view key;
  std::vector<std::string_view> values;
};

bool space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The entries of a file's text, in order (views into the compiled-in text).
std::vector<entry> parse(std::string_view text) {
  std::vector<entry> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t eol = text.find('\n', i);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(i, eol - i);
    i = eol + 1;
    std::vector<std::string_view> words;
    std::size_t k = 0;
    while (k < line.size()) {
      while (k < line.size() && space(line[k])) ++k;
      std::size_t b = k;
      while (k < line.size() && !space(line[k])) ++k;
      if (k > b) words.push_back(line.substr(b, k - b));
    }
    if (words.empty() || words[0][0] == '#') continue;
    out.push_back({words[0], {words.begin() + 1, words.end()}});
  }
  return out;
}

std::string_view text_of(std::string_view name) {
  for (const source& s : sources())
    if (s.name == name) return s.text;
  throw std::logic_error("rules lexicon: no file " + std::string(name) + ".txt");
}

// One parsed table per (kind, name), built on first use and never freed. Lookups happen once
// per call site (each keeps a static reference), so the lock is off the hot path.
template <class T, class Build>
const T& cached(std::string_view name, Build build) {
  static std::mutex mu;
  static std::map<std::string, T, std::less<>> tables;
  std::lock_guard<std::mutex> lock(mu);
  auto it = tables.find(name);
  if (it == tables.end()) it = tables.emplace(std::string(name), build(parse(text_of(name)))).first;
  return it->second;
}

}  // namespace

const word_set& words(std::string_view name) {
  return cached<word_set>(name, [](const std::vector<entry>& es) {
    word_set s;
    for (const entry& e : es) s.insert(e.key);
    return s;
  });
}

const word_pairs& pairs(std::string_view name) {
  return cached<word_pairs>(name, [](const std::vector<entry>& es) {
    word_pairs m;
    for (const entry& e : es) {
      if (e.values.empty()) continue;
      // the rest of the line, as written
      const char* b = e.values.front().data();
      const char* end = e.values.back().data() + e.values.back().size();
      m.emplace(e.key, std::string_view(b, static_cast<std::size_t>(end - b)));
    }
    return m;
  });
}

const word_sets& sets(std::string_view name) {
  return cached<word_sets>(name, [](const std::vector<entry>& es) {
    word_sets m;
    for (const entry& e : es) m.emplace(e.key, word_set(e.values.begin(), e.values.end()));
    return m;
  });
}

const word_lists& lists(std::string_view name) {
  return cached<word_lists>(name, [](const std::vector<entry>& es) {
    word_lists m;
    for (const entry& e : es) m.emplace(e.key, e.values);
    return m;
  });
}

std::vector<std::string> duplicates(std::string_view text) {
  std::vector<std::string> out;
  std::unordered_set<std::string_view> seen;
  for (const entry& e : parse(text))
    if (!seen.insert(e.key).second) out.emplace_back(e.key);
  return out;
}

}  // namespace memoryd::rules::lexicon
