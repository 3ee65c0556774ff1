#include "store/search/lexicon.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/log.hpp"
#include "store/search/analyzer.hpp"

namespace memoryd::search {
namespace {

constexpr const char* k_parts[4] = {"noun", "verb", "adj", "adv"};

// WordNet's detachment rules (morphy(7WN)), per part of speech: suffix -> replacement.
struct rule {
  std::string_view suffix, replacement;
};
const std::vector<rule> k_rules[4] = {
    {{"s", ""},
     {"ses", "s"},
     {"xes", "x"},
     {"zes", "z"},
     {"ches", "ch"},
     {"shes", "sh"},
     {"men", "man"},
     {"ies", "y"}},
    {{"s", ""},
     {"ies", "y"},
     {"es", "e"},
     {"es", ""},
     {"ed", "e"},
     {"ed", ""},
     {"ing", "e"},
     {"ing", ""}},
    {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}},
    {},
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A single word WordNet writes in lower case: no collocations ("ice_cream"), no markers
// ("big(a)" loses "(a)").
bool single_word(std::string& w) {
  if (auto paren = w.find('('); paren != std::string::npos) w.resize(paren);
  if (w.empty() || w.find('_') != std::string::npos) return false;
  std::transform(w.begin(), w.end(), w.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return true;
}

void add_unique(std::vector<std::string>& v, const std::string& w) {
  if (std::find(v.begin(), v.end(), w) == v.end()) v.push_back(w);
}

// Reads the synset line that starts at byte `offset` of a data.* file up to its words: fills
// `words` with them as written there (collocations with '_', adjective markers such as "(a)")
// and leaves `line` at the pointer count that follows them. False for a short or bad line.
bool read_synset_words(const std::string& data, std::size_t offset, std::istringstream& line,
                       std::vector<std::string>& words) {
  if (offset >= data.size()) return false;
  line.str(data.substr(offset, data.find('\n', offset) - offset));
  std::string off, lex, type, count_hex;
  line >> off >> lex >> type >> count_hex;
  const long n = std::strtol(count_hex.c_str(), nullptr, 16);
  for (long i = 0; i < n; ++i) {
    std::string word, lex_id;
    if (!(line >> word >> lex_id)) return false;
    words.push_back(std::move(word));
  }
  return true;
}

std::vector<std::string> synset_raw_words(const std::string& data, std::size_t offset) {
  std::istringstream line;
  std::vector<std::string> words;
  read_synset_words(data, offset, line, words);
  return words;
}

// The same words, collocations included ("european_country"), lower-cased, markers cut.
std::vector<std::string> synset_words_all(const std::string& data, std::size_t offset) {
  std::vector<std::string> out;
  for (auto& word : synset_raw_words(data, offset)) {
    if (auto paren = word.find('('); paren != std::string::npos) word.resize(paren);
    std::transform(word.begin(), word.end(), word.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!word.empty()) out.push_back(std::move(word));
  }
  return out;
}

// The single words of the synset, as written.
std::vector<std::string> synset_words(const std::string& data, std::size_t offset) {
  std::vector<std::string> out;
  for (auto& word : synset_raw_words(data, offset))
    if (single_word(word)) out.push_back(std::move(word));
  return out;
}

// The offsets of the hypernyms ("@") and instance hypernyms ("@i") of the noun synset at
// `offset` of data.noun.
std::vector<std::size_t> hypernyms(const std::string& data, std::size_t offset) {
  std::vector<std::size_t> out;
  std::istringstream line;
  std::vector<std::string> words;
  if (!read_synset_words(data, offset, line, words)) return out;
  std::string count;
  if (!(line >> count)) return out;
  const long pointers = std::strtol(count.c_str(), nullptr, 10);
  for (long i = 0; i < pointers; ++i) {
    std::string symbol, target, part, source_target;
    if (!(line >> symbol >> target >> part >> source_target)) break;
    if ((symbol != "@" && symbol != "@i") || part != "n") continue;
    out.push_back(std::strtoull(target.c_str(), nullptr, 10));
  }
  return out;
}

// The stems of the words of the noun synset at `offset`, collocations split, stop words out.
std::vector<std::string> synset_stems(const std::string& data, std::size_t offset) {
  std::vector<std::string> out;
  for (auto& w : synset_words_all(data, offset)) {
    std::size_t at = 0;
    while (at <= w.size()) {
      auto end = w.find('_', at);
      if (end == std::string::npos) end = w.size();
      if (end > at) {
        const std::string word = w.substr(at, end - at);
        if (!is_stop_word(word)) add_unique(out, stem(word));
      }
      at = end + 1;
    }
  }
  return out;
}

}  // namespace

lexicon::lexicon(const std::string& dir) {
  // Noun synset offset -> its broader stems; hypernym synset offset -> its stems.
  std::unordered_map<std::size_t, std::vector<std::string>> broader_of, stems_of;
  for (unsigned p = 0; p < 4; ++p) {
    const std::string data = read_file(dir + "/data." + k_parts[p]);
    std::istringstream index(read_file(dir + "/index." + k_parts[p]));
    if (data.empty()) {
      lemmas_.clear();
      return;
    }
    std::string line;
    while (std::getline(index, line)) {
      if (line.empty() || line[0] == ' ') continue;  // the licence header
      std::istringstream fields(line);
      std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
      if (f.size() < 4 || !single_word(f[0])) continue;
      const auto senses = static_cast<std::size_t>(std::strtol(f[2].c_str(), nullptr, 10));
      if (senses == 0 || senses > f.size()) continue;
      auto& e = lemmas_[f[0]];
      e.pos |= 1u << p;
      // Offsets close the line, most frequent sense first.
      const auto first = std::strtoull(f[f.size() - senses].c_str(), nullptr, 10);
      for (auto& w : synset_words(data, first))
        if (w != f[0]) add_unique(e.synonyms, w);
      if (p == 0) {  // stemmed once here (once per synset), not at every write
        auto [it, fresh] = broader_of.try_emplace(first);
        if (fresh)
          for (auto h : hypernyms(data, first)) {
            auto [st, new_target] = stems_of.try_emplace(h);
            if (new_target) st->second = synset_stems(data, h);
            for (const auto& x : st->second) add_unique(it->second, x);
          }
        for (const auto& x : it->second) add_unique(e.broader, x);
      }
    }
    if (p == 3) break;  // adverbs have no exception list worth reading (7 lines)
    std::istringstream exc(read_file(dir + "/" + k_parts[p] + ".exc"));
    while (std::getline(exc, line)) {
      std::istringstream fields(line);
      std::string form, base;
      if (!(fields >> form) || !single_word(form)) continue;
      while (fields >> base) {
        if (!single_word(base)) continue;
        add_unique(exceptions_[p][form], base);
        add_unique(irregular_[form], base);
        add_unique(irregular_[base], form);
      }
    }
  }
}

const lexicon& lexicon::shared() {
  static const lexicon instance = [] {
    const char* env = std::getenv("MEMORYD_WORDNET_DIR");
    const std::string dir = env && *env ? env : "/usr/share/wordnet";
    lexicon l(dir);
    if (!l.loaded())
      log::warn("search_wordnet_missing",
                {{"dir", dir}, {"effect", "queries are not expanded with synonyms"}});
    return l;
  }();
  return instance;
}

bool lexicon::is_lemma(const std::string& w, unsigned pos_bit) const {
  auto it = lemmas_.find(w);
  return it != lemmas_.end() && (it->second.pos & pos_bit);
}

std::vector<std::string> lexicon::base_forms(std::string_view word) const {
  std::vector<std::string> out;
  const std::string w(word);
  for (unsigned p = 0; p < 4; ++p) {
    const unsigned bit = 1u << p;
    if (is_lemma(w, bit)) add_unique(out, w);
    if (auto it = exceptions_[p].find(w); it != exceptions_[p].end())
      for (const auto& b : it->second)
        if (is_lemma(b, bit)) add_unique(out, b);
    for (const auto& r : k_rules[p]) {
      if (w.size() <= r.suffix.size() + 1 ||
          w.compare(w.size() - r.suffix.size(), r.suffix.size(), r.suffix) != 0)
        continue;
      std::string b = w.substr(0, w.size() - r.suffix.size()) + std::string(r.replacement);
      if (is_lemma(b, bit)) add_unique(out, b);
    }
  }
  return out;
}

const std::vector<std::string>* lexicon::irregular(std::string_view word) const {
  auto it = irregular_.find(std::string(word));
  return it == irregular_.end() ? nullptr : &it->second;
}

const std::vector<std::string>* lexicon::synonyms(std::string_view lemma) const {
  auto it = lemmas_.find(std::string(lemma));
  return it == lemmas_.end() || it->second.synonyms.empty() ? nullptr : &it->second.synonyms;
}

const std::vector<std::string>* lexicon::broader(std::string_view lemma) const {
  auto it = lemmas_.find(std::string(lemma));
  return it == lemmas_.end() || it->second.broader.empty() ? nullptr : &it->second.broader;
}

}  // namespace memoryd::search
