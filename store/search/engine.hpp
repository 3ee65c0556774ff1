// Fact search, written once for every backend (docs/RETRIEVAL.md has the method and what each
// part is worth). A backend only finds, for an index key, which of the user's active facts hold
// it (their posting list: SQLite FTS5 without reading a row, PostgreSQL GIN over a tsvector),
// or hands over all of a user's facts when there are few; the query plan, BM25 and the rest of
// the ranking happen here, on the same inputs, so both backends answer the same facts in the
// same order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/search.hpp"
#include "store/search/lexicon.hpp"

namespace memoryd::search {

// A user's entry in the index: the token key and the totals BM25 needs.
struct user_index {
  std::string user_id;
  std::string key;            // search::user_key_bytes, as 32 hex digits
  std::int64_t facts = 0;     // active, indexed facts
  std::int64_t terms = 0;     // their stems, counted with repeats
  std::int64_t next_pos = 0;  // the position the user's next fact gets
  std::int64_t num = 0;       // the user's number in the SQLite index's entry ids (else 0)
};

// A whole active fact with what the ranking needs of it.
struct candidate {
  fact f;
  std::int64_t pos = 0;  // the user's write order (neighbours are pos - 1 and pos + 1)
  std::string terms;     // analyzed text, space-separated stems
};

// Facts as the ranking reads them when it reads them all: position, stems, the category only
// when the search filters on it; no text. The stems of every row share one buffer.
class candidate_set {
 public:
  struct row {
    std::int64_t pos = 0;
    std::size_t terms_at = 0, terms_len = 0;
    std::string category;
  };
  void add(std::int64_t pos, std::string_view terms, std::string_view category = {}) {
    rows_.push_back({pos, text_.size(), terms.size(), std::string(category)});
    text_.append(terms);
  }
  std::size_t size() const { return rows_.size(); }
  const row& operator[](std::size_t i) const { return rows_[i]; }
  std::string_view terms(std::size_t i) const {
    return std::string_view(text_).substr(rows_[i].terms_at, rows_[i].terms_len);
  }

 private:
  std::vector<row> rows_;
  std::string text_;
};

// A fact holding an index key: its position, its length (stems, at most max_length) and, for a
// "w:" key, how often it holds the stem (1, or 2 for twice or more; 1 for a prefix class).
struct posting {
  std::int64_t pos = 0;
  std::uint32_t length = 0;
  std::uint32_t tf = 1;
};
inline constexpr std::uint32_t max_length = 255;
inline constexpr std::uint32_t max_tf = 2;

struct posting_lists {
  std::vector<std::vector<posting>> lists;  // one per key asked, by position
  // With a category: the positions in `lists` whose fact has it, ascending.
  std::vector<std::int64_t> in_category;
};

// One backend's read access; a search calls it within one read snapshot where it has one.
// Index keys are "w:" + stem, "p:" + prefix class and "x:" + broader stem (analyzer.hpp).
class index_reader {
 public:
  virtual ~index_reader() = default;
  virtual std::optional<user_index> user(const std::string& user_id) = 0;
  // Every active fact of the user (position, stems; category when `with_category`).
  virtual void all_facts(const user_index& u, bool with_category, candidate_set& out) = 0;
  // For each key, the user's active facts holding it; with a category, which of them have it.
  virtual posting_lists postings(const user_index& u, const std::vector<std::string>& keys,
                                 const std::string& category) = 0;
  // The user's active facts at these positions (the ones that exist), whole.
  virtual std::vector<candidate> at_positions(const user_index& u,
                                              const std::vector<std::int64_t>& positions) = 0;
};

// The posting lists of `keys` over a set of facts given with their stems (and categories), as
// an index over exactly those facts would have them: how every backend's lists are defined.
posting_lists postings_of(const candidate_set& facts, const std::vector<std::string>& keys,
                          const std::string& category);

// An index key the query looks for ("w:" stem, "p:" prefix class, "x:" broader stem) and its
// weight.
struct query_key {
  std::string key;
  double weight = 1;
};

inline constexpr std::size_t max_query_keys = 48;

// The query's keys: each word's stem, its irregular and base forms (WordNet), its synonyms
// (first sense, weight 0.3); for a word WordNet does not know, its spelling corrections and
// its split into two words (weight 0.5); the prefix classes of all of them (half their weight)
// and, for the weight-1 stems, the facts holding them as a broader term ("x:", weight 0.3).
// Time words weigh 0.3 and are not expanded. At most max_query_keys, heaviest first. Empty when
// every word is a stop word.
std::vector<query_key> plan_query(std::string_view query, const lexicon& lex);

// Users with at most this many facts are read whole (one read of their facts costs less than
// looking up each key); larger ones through their posting lists. Both give the same results.
inline constexpr std::int64_t default_read_whole_below = 256;

struct search_tuning {
  std::int64_t read_whole_below = default_read_whole_below;
};

// The user's active facts ranked for `r` (r.limit of them at most, r.category only when set).
std::vector<scored_fact> run_search(index_reader& reader, const lexicon& lex,
                                    const search_request& r, const search_tuning& tuning = {});

}  // namespace memoryd::search
