// The parts of run_search (engine.cpp) that score and order facts: BM25 over posting lists,
// the neighbours' share, ties, and the facts read whole. Internal to store/search.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/search/engine.hpp"

namespace memoryd::search::detail {

// BM25's usual constants.
inline constexpr double k1 = 1.2, b = 0.75;
// A fact gains this share of the better base score of the facts written just before and after
// it: facts written together come from one conversation and tend to be about one thing.
inline constexpr double neighbour_share = 0.2;

// Robertson's idf, never negative: `df` of the user's `n` facts hold the key.
double idf(double n, std::int64_t df);

// An index key with its weight in the query and its idf for the user.
struct weighted_key {
  std::string key;  // "w:" stem or "p:" prefix class
  double weight = 1;
  double idf = 0;
};

// A fact with its base score, and whether the search wants it (its category).
struct entry {
  std::int64_t pos = 0;
  double base = 0;
  bool wanted = true;
};

// BM25 of every fact in `lists` (one list per key, by position) for `keys`, with the user's
// average length; by position. A prefix class counts for a fact only when the fact holds none
// of the stems of that class the keys name exactly ("mentor" for "mentorship", not for a fact
// that says "mentorship"). With `in_category` (ascending), the facts not in it are not wanted.
std::vector<entry> score_postings(const std::vector<weighted_key>& keys,
                                  const std::vector<std::vector<posting>>& lists,
                                  double average_terms,
                                  const std::vector<std::int64_t>* in_category);

// Facts read whole (at_positions), by position, for the results and the neighbours.
class whole_facts {
 public:
  // Reads the positions not read yet.
  void fetch(index_reader& reader, const user_index& u, const std::vector<std::int64_t>& positions);
  const candidate* find(std::int64_t pos) const;

 private:
  std::unordered_map<std::int64_t, candidate> by_pos_;
  std::unordered_map<std::int64_t, bool> tried_;
};

struct ranked {
  std::int64_t pos = 0;
  double score = 0;
};

// The best `limit` facts by base score plus the neighbours' share, best first (ties: the most
// recently written). `entries` are by position. Facts that hold no key rank too, by their
// neighbours alone, below the facts they ride on: the ones whose share could reach the results
// are read whole through `whole` (and must have `category` when one is set). Facts scoring 0
// are left out.
std::vector<ranked> rank_facts(const std::vector<entry>& entries, std::size_t limit,
                               const std::string& category, index_reader& reader,
                               const user_index& u, whole_facts& whole);

}  // namespace memoryd::search::detail
