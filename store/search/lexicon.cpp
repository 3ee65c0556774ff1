#include "store/search/lexicon.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <optional>
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

// The whitespace-separated fields of one line, in order.
class fields {
 public:
  explicit fields(std::string_view line) : rest_(line) {}
  // The next field; empty when the line has no more.
  std::string_view next() {
    const auto begin = rest_.find_first_not_of(" \t\r");
    if (begin == std::string_view::npos) return rest_ = {};
    rest_.remove_prefix(begin);
    const auto end = std::min(rest_.find_first_of(" \t\r"), rest_.size());
    const auto field = rest_.substr(0, end);
    rest_.remove_prefix(end);
    return field;
  }

 private:
  std::string_view rest_;
};

template <class T>
bool parse_number(std::string_view s, T& out, int base = 10) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && end == s.data() + s.size();
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

// The synset line that starts at byte `offset` of a data.* file, read up to its words: they go
// to `words` as written there (collocations with '_', adjective markers such as "(a)"), and the
// returned fields stand at the pointer count that follows them. Nothing for a short or bad
// line.
std::optional<fields> read_synset_words(std::string_view data, std::size_t offset,
                                        std::vector<std::string>& words) {
  if (offset >= data.size()) return std::nullopt;
  fields line(data.substr(offset, data.find('\n', offset) - offset));
  line.next(), line.next(), line.next();  // offset, lexicographer file, synset type
  unsigned n = 0;
  if (!parse_number(line.next(), n, 16)) return std::nullopt;
  for (unsigned i = 0; i < n; ++i) {
    const auto word = line.next();
    if (word.empty() || line.next().empty()) return std::nullopt;  // the word and its lex id
    words.emplace_back(word);
  }
  return line;
}

std::vector<std::string> synset_raw_words(std::string_view data, std::size_t offset) {
  std::vector<std::string> words;
  if (!read_synset_words(data, offset, words)) words.clear();
  return words;
}

// The single words of the synset, lower-cased.
std::vector<std::string> synset_words(std::string_view data, std::size_t offset) {
  std::vector<std::string> out;
  for (auto& word : synset_raw_words(data, offset))
    if (single_word(word)) out.push_back(std::move(word));
  return out;
}

// The offsets of the hypernyms ("@") and instance hypernyms ("@i") of the noun synset at
// `offset` of data.noun.
std::vector<std::size_t> hypernyms(std::string_view data, std::size_t offset) {
  std::vector<std::size_t> out;
  std::vector<std::string> words;
  auto line = read_synset_words(data, offset, words);
  unsigned pointers = 0;
  if (!line || !parse_number(line->next(), pointers)) return out;
  for (unsigned i = 0; i < pointers; ++i) {
    const auto symbol = line->next(), target = line->next(), part = line->next();
    if (line->next().empty()) break;  // source/target: every pointer has four fields
    std::size_t at = 0;
    if ((symbol != "@" && symbol != "@i") || part != "n" || !parse_number(target, at)) continue;
    out.push_back(at);
  }
  return out;
}

// The stems of the words of the noun synset at `offset`, collocations split, stop words out.
std::vector<std::string> synset_stems(std::string_view data, std::size_t offset) {
  std::vector<std::string> out;
  for (auto& w : synset_raw_words(data, offset)) {
    if (auto paren = w.find('('); paren != std::string::npos) w.resize(paren);
    std::transform(w.begin(), w.end(), w.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::size_t at = 0;
    while (at < w.size()) {
      auto end = std::min(w.find('_', at), w.size());
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
  lemmas_.reserve(90'000);  // WordNet 3.0 has 83,118 single-word lemmas
  for (unsigned p = 0; p < 4; ++p) {
    const std::string path = dir + "/data." + k_parts[p];
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0 && st.st_size > 0) {
      void* bytes =
          ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (bytes != MAP_FAILED)
        data_[p] = {static_cast<const char*>(bytes), static_cast<std::size_t>(st.st_size)};
    }
    if (fd >= 0) ::close(fd);
    if (!data_[p].bytes) {
      lemmas_.clear();
      return;
    }
    const std::string index = read_file(dir + "/index." + k_parts[p]);
    for (std::size_t at = 0; at < index.size();) {
      const auto end = std::min(index.find('\n', at), index.size());
      const std::string_view line(index.data() + at, end - at);
      at = end + 1;
      if (line.empty() || line[0] == ' ') continue;  // the licence header
      // lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
      fields head(line);
      std::string lemma(head.next());
      head.next();
      std::size_t senses = 0;
      if (!single_word(lemma) || !parse_number(head.next(), senses) || senses == 0) continue;
      // The offsets close the line, most frequent sense first: the first is the senses-th
      // field from the end.
      std::string_view rest = line;
      std::string_view field;
      std::size_t found = 0;
      for (; found < senses; ++found) {
        const auto last = rest.find_last_not_of(" \t\r");
        if (last == std::string_view::npos) break;
        rest = rest.substr(0, last + 1);
        const auto space = rest.find_last_of(" \t");
        field = rest.substr(space == std::string_view::npos ? 0 : space + 1);
        rest = rest.substr(0, space == std::string_view::npos ? 0 : space);
      }
      std::uint32_t first = 0;
      if (found < senses || !parse_number(field, first)) continue;
      auto& e = lemmas_[lemma];
      e.pos |= 1u << p;
      e.first_sense[p] = first;
    }
    if (p == 3) break;  // adverbs have no exception list worth reading (7 lines)
    std::istringstream exc(read_file(dir + "/" + k_parts[p] + ".exc"));
    std::string line;
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

lexicon::~lexicon() {
  for (auto& d : data_)
    if (d.bytes) ::munmap(const_cast<char*>(d.bytes), d.size);
}

const lexicon& lexicon::shared() {
  static const std::string dir = [] {
    const char* env = std::getenv("MEMORYD_WORDNET_DIR");
    return std::string(env && *env ? env : "/usr/share/wordnet");
  }();
  static const lexicon instance(dir);
  static const bool logged = [] {
    if (!instance.loaded())
      log::warn("search_wordnet_missing",
                {{"dir", dir}, {"effect", "queries are not expanded with synonyms"}});
    return true;
  }();
  static_cast<void>(logged);
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

template <class Make>
const lexicon::words* lexicon::cached(std::unordered_map<std::string, words>& cache,
                                      std::string_view lemma, Make make) const {
  const std::string key(lemma);
  auto it = lemmas_.find(key);
  if (it == lemmas_.end()) return nullptr;
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto hit = cache.find(key); hit != cache.end())
      return hit->second.empty() ? nullptr : &hit->second;
  }
  words made = make(it->second);  // outside the lock: two first asks may both make it
  std::lock_guard<std::mutex> lock(cache_mutex_);
  // Elements of an unordered_map keep their address through rehashing, and an answer once
  // stored is never changed: the pointer stays valid for the lexicon's life.
  const auto& stored = cache.try_emplace(key, std::move(made)).first->second;
  return stored.empty() ? nullptr : &stored;
}

const std::vector<std::string>* lexicon::synonyms(std::string_view lemma) const {
  return cached(synonyms_, lemma, [&](const entry& e) {
    words out;
    for (unsigned p = 0; p < 4; ++p)
      if (e.pos & (1u << p))
        for (auto& w : synset_words(data_[p].view(), e.first_sense[p]))
          if (w != lemma) add_unique(out, w);
    return out;
  });
}

const std::vector<std::string>* lexicon::broader(std::string_view lemma) const {
  return cached(broader_, lemma, [&](const entry& e) {
    words out;
    if (e.pos & 1u)  // nouns only
      for (auto h : hypernyms(data_[0].view(), e.first_sense[0]))
        for (auto& x : synset_stems(data_[0].view(), h)) add_unique(out, x);
    return out;
  });
}

}  // namespace memoryd::search
