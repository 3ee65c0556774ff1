// Fact search, written once for every backend (docs/RETRIEVAL.md has the method and what each
// part is worth). A backend only finds the facts whose index holds a token (SQLite FTS5,
// PostgreSQL GIN over a tsvector); the query plan, BM25 and the rest of the ranking happen
// here, on the same inputs, so both backends answer the same facts in the same order.
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
  std::string key;            // search::user_key_bytes
  std::int64_t facts = 0;     // active, indexed facts
  std::int64_t terms = 0;     // their stems, counted with repeats
  std::int64_t next_pos = 0;  // the position the user's next fact gets
};

// An active fact as the ranking needs it. From matching() only f.id, f.category and
// f.observed_at are set (the rest is read for the facts that make the results).
struct candidate {
  fact f;
  std::int64_t pos = 0;  // the user's write order (neighbours are pos - 1 and pos + 1)
  std::string terms;     // analyzed text, space-separated stems
};

// One backend's read access; a search calls it within one read snapshot.
class index_reader {
 public:
  virtual ~index_reader() = default;
  virtual std::optional<user_index> user(const std::string& user_id) = 0;
  // The user's active facts whose index entry holds any of `tokens` (every one of them),
  // without their text (see candidate).
  virtual std::vector<candidate> matching(const std::string& user_id,
                                          const std::vector<std::string>& tokens) = 0;
  // The user's active facts at these positions (the ones that exist), whole.
  virtual std::vector<candidate> at_positions(const std::string& user_id,
                                              const std::vector<std::int64_t>& positions) = 0;
};

// An index key the query looks for ("w:" stem or "p:" prefix class) and its weight.
struct query_key {
  std::string key;
  double weight = 1;
};

inline constexpr std::size_t max_query_keys = 32;

// The query's keys: each word's stem, its irregular and base forms (WordNet), its synonyms
// (first sense, weight 0.3) and prefix classes (weight 0.5); at most max_query_keys,
// heaviest first. Empty when every word is a stop word.
std::vector<query_key> plan_query(std::string_view query, const lexicon& lex);

// The user's active facts ranked for `r` (r.limit of them at most, r.category only when set).
std::vector<scored_fact> run_search(index_reader& reader, const lexicon& lex,
                                    const search_request& r);

}  // namespace memoryd::search
