// WordNet (Debian's wordnet-base, /usr/share/wordnet) as search uses it: base forms of a word
// (its morphology: irregular forms and suffix rules), single-word synonyms from the most
// frequent sense (queries), and the words of a noun's broader terms (its hypernyms, facts:
// "taekwondo" -> martial, art). A fact's broader terms are stored with it, so deleting it never
// depends on the lexicon; a machine without WordNet indexes facts without them and expands
// queries less.
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
  // Whether WordNet has this lower-cased single word as a lemma of any part of speech.
  bool is_lemma(std::string_view word) const { return lemmas_.count(std::string(word)) > 0; }
  // Irregular forms of a lemma and the lemmas of an irregular form ("go" -> went, gone).
  const std::vector<std::string>* irregular(std::string_view word) const;
  // Single-word synonyms of a lemma's first (most frequent) sense in each part of speech.
  const std::vector<std::string>* synonyms(std::string_view lemma) const;
  // The stems of the words of the hypernyms (and instance hypernyms) of a noun lemma's first
  // sense, each collocation split into its words, stop words left out ("spain" -> european,
  // countri, nation).
  const std::vector<std::string>* broader(std::string_view lemma) const;

 private:
  struct entry {
    unsigned pos = 0;  // bit per part of speech: noun, verb, adj, adv
    std::vector<std::string> synonyms;
    std::vector<std::string> broader;
  };
  bool is_lemma(const std::string& w, unsigned pos_bit) const;

  std::unordered_map<std::string, entry> lemmas_;
  // Per part of speech: irregular form -> its lemmas (the *.exc files).
  std::unordered_map<std::string, std::vector<std::string>> exceptions_[4];
  // Both directions of the exception lists, for irregular().
  std::unordered_map<std::string, std::vector<std::string>> irregular_;
};

}  // namespace memoryd::search
