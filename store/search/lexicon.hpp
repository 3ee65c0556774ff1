// WordNet (Debian's wordnet-base, /usr/share/wordnet) as search uses it: base forms of a word
// (its morphology: irregular forms and suffix rules), single-word synonyms from the most
// frequent sense (queries), and the words of a noun's broader terms (its hypernyms, facts:
// "taekwondo" -> martial, art). A fact's broader terms are stored with it, so deleting it never
// depends on the lexicon; a machine without WordNet indexes facts without them and expands
// queries less.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace memoryd::search {

class lexicon {
 public:
  lexicon() = default;  // empty: no expansions
  // Maps data.* from `dir` and reads its index.* and *.exc; a missing directory or file leaves
  // the lexicon empty (loaded() false).
  explicit lexicon(const std::string& dir);
  ~lexicon();
  lexicon(const lexicon&) = delete;
  lexicon& operator=(const lexicon&) = delete;

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
  // A data.* file, mapped read-only: only the synset lines a lookup asks for are paged in.
  struct mapped {
    const char* bytes = nullptr;
    std::size_t size = 0;
    std::string_view view() const { return {bytes, size}; }
  };
  struct entry {
    unsigned pos = 0;                   // bit per part of speech: noun, verb, adj, adv
    std::uint32_t first_sense[4] = {};  // byte offset of the first synset in data.<pos>
  };
  using words = std::vector<std::string>;
  bool is_lemma(const std::string& w, unsigned pos_bit) const;
  // The cached answer for `lemma`, computed by `make` on the first ask; nullptr when empty.
  template <class Make>
  const words* cached(std::unordered_map<std::string, words>& cache, std::string_view lemma,
                      Make make) const;

  mapped data_[4];
  // Read whole at start (the index files, about 6 MB): every analyzed word asks is_lemma
  // several times, so these lookups are hash lookups.
  std::unordered_map<std::string, entry> lemmas_;
  // Per part of speech: irregular form -> its lemmas (the *.exc files).
  std::unordered_map<std::string, words> exceptions_[4];
  // Both directions of the exception lists, for irregular().
  std::unordered_map<std::string, words> irregular_;
  // Synonyms and broader terms are read from the synset lines when first asked for, not at
  // start: reading them for all 83,000 lemmas took 1 to 2 s (8 s under ASan) of
  // every start. A lemma's answer never changes once made, so a pointer to it stays valid.
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, words> synonyms_, broader_;
};

}  // namespace memoryd::search
