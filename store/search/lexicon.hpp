// WordNet (Debian's wordnet-base, /usr/share/wordnet) as the query side of search uses it:
// base forms of a word (its morphology: irregular forms and suffix rules) and single-word
// synonyms from the most frequent sense. Only queries are expanded, never the index, so a
// machine without WordNet searches the same index, only with fewer expansions.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace memoryd::search {

class lexicon {
 public:
  lexicon() = default;  // empty: no expansions
  // Reads index.* , data.* and *.exc from `dir`; a missing directory or file leaves the
  // lexicon empty (loaded() false).
  explicit lexicon(const std::string& dir);

  // Loaded once per process from $MEMORYD_WORDNET_DIR, else /usr/share/wordnet; logs
  // search_wordnet_missing once when there is none.
  static const lexicon& shared();

  bool loaded() const { return !lemmas_.empty(); }

  // Lemmas WordNet knows for this lower-cased word ("went" -> go, "children" -> child,
  // "kids" -> kid), the word itself included when it is one.
  std::vector<std::string> base_forms(std::string_view word) const;
  // Irregular forms of a lemma and the lemmas of an irregular form ("go" -> went, gone).
  const std::vector<std::string>* irregular(std::string_view word) const;
  // Single-word synonyms of a lemma's first (most frequent) sense in each part of speech.
  const std::vector<std::string>* synonyms(std::string_view lemma) const;

 private:
  struct entry {
    unsigned pos = 0;  // bit per part of speech: noun, verb, adj, adv
    std::vector<std::string> synonyms;
  };
  bool is_lemma(const std::string& w, unsigned pos_bit) const;

  std::unordered_map<std::string, entry> lemmas_;
  // Per part of speech: irregular form -> its lemmas (the *.exc files).
  std::unordered_map<std::string, std::vector<std::string>> exceptions_[4];
  // Both directions of the exception lists, for irregular().
  std::unordered_map<std::string, std::vector<std::string>> irregular_;
};

}  // namespace memoryd::search
