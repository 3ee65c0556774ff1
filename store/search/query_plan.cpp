// The query plan (engine.hpp, plan_query): which index keys a question looks for, and how much
// each weighs. The weights were chosen on two of the three dev conversations (docs/RETRIEVAL.md).
#include <algorithm>
#include <unordered_map>

#include "store/search/analyzer.hpp"
#include "store/search/engine.hpp"
#include "store/search/time_words.hpp"

namespace memoryd::search {
namespace {

constexpr double synonym_weight = 0.3;
constexpr double prefix_weight = 0.5;
// A fact whose noun has the asked word among its broader terms ("martial arts" for a fact
// that says "taekwondo", "European" for "Spain") matches at this share of the word's weight;
// only for the words asked and their forms (weight 1), not for synonyms, repairs or times.
constexpr double broader_weight = 0.3;
// A word WordNet does not know is often a typo ("persue") or two words run together
// ("roadtrip"): its corrections and its halves count, at this weight.
constexpr double repair_weight = 0.5;
constexpr std::size_t min_corrected_bytes = 6;  // shorter words have too many neighbours
constexpr std::size_t min_half_bytes = 4;

bool alphabetic(std::string_view w) {
  return std::all_of(w.begin(), w.end(), [](unsigned char c) { return c >= 'a' && c <= 'z'; });
}

class plan_builder {
 public:
  void add(const std::string& stem, double weight) {
    put("w:" + stem, weight);
    if (auto c = prefix_class(stem); !c.empty()) put("p:" + std::string(c), weight * prefix_weight);
    // One WordNet step per match: a word's own stem and forms, not its synonyms or repairs.
    if (weight >= 1) put("x:" + stem, weight * broader_weight);
  }
  std::vector<query_key> take() {
    std::stable_sort(keys_.begin(), keys_.end(),
                     [](const query_key& x, const query_key& y) { return x.weight > y.weight; });
    if (keys_.size() > max_query_keys) keys_.resize(max_query_keys);
    return std::move(keys_);
  }

 private:
  void put(std::string key, double weight) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      keys_[it->second].weight = std::max(keys_[it->second].weight, weight);
      return;
    }
    index_.emplace(key, keys_.size());
    keys_.push_back({std::move(key), weight});
  }
  std::vector<query_key> keys_;
  std::unordered_map<std::string, std::size_t> index_;
};

// WordNet lemmas one edit (deletion, transposition, substitution, insertion) from `w`, sorted.
std::vector<std::string> corrections(const std::string& w, const lexicon& lex) {
  std::vector<std::string> edits;
  for (std::size_t i = 0; i <= w.size(); ++i) {
    if (i < w.size()) edits.push_back(w.substr(0, i) + w.substr(i + 1));
    if (i + 1 < w.size()) edits.push_back(w.substr(0, i) + w[i + 1] + w[i] + w.substr(i + 2));
    for (char c = 'a'; c <= 'z'; ++c) {
      if (i < w.size()) edits.push_back(w.substr(0, i) + c + w.substr(i + 1));
      edits.push_back(w.substr(0, i) + c + w.substr(i));
    }
  }
  std::sort(edits.begin(), edits.end());
  edits.erase(std::unique(edits.begin(), edits.end()), edits.end());
  std::vector<std::string> out;
  for (auto& e : edits)
    if (e != w && lex.is_lemma(e)) out.push_back(std::move(e));
  return out;
}

// The split of `w` into two words WordNet knows, each at least min_half_bytes, the most even
// one; none: empty.
std::pair<std::string, std::string> halves(const std::string& w, const lexicon& lex) {
  std::size_t best_even = 0;
  std::pair<std::string, std::string> best;
  for (std::size_t i = min_half_bytes; i + min_half_bytes <= w.size(); ++i) {
    std::pair<std::string, std::string> split{w.substr(0, i), w.substr(i)};
    if (lex.base_forms(split.first).empty() || lex.base_forms(split.second).empty()) continue;
    const std::size_t even = std::min(i, w.size() - i);
    if (even > best_even || (even == best_even && split > best)) best_even = even, best = split;
  }
  return best;
}

}  // namespace

std::vector<query_key> plan_query(std::string_view query, const lexicon& lex) {
  plan_builder plan;
  for (auto& word : words(query)) {
    const std::string w = content_word(std::move(word));
    if (w.empty()) continue;
    const std::string s = stem(w);
    if (is_time_word(w)) {
      plan.add(s, time_word_weight);
      continue;
    }
    plan.add(s, 1);
    if (auto forms = lex.irregular(w))
      for (const auto& f : *forms) plan.add(stem(f), 1);
    const bool expand = alphabetic(w) && w.size() > 2;
    const auto bases = lex.base_forms(w);
    if (bases.empty() && expand && lex.loaded()) {
      if (auto [a, b] = halves(w, lex); !a.empty()) {
        plan.add(stem(a), repair_weight);
        plan.add(stem(b), repair_weight);
      }
      if (w.size() >= min_corrected_bytes)
        for (const auto& c : corrections(w, lex)) plan.add(stem(c), repair_weight);
    }
    for (const auto& base : bases) {
      if (base != w) plan.add(stem(base), 1);
      auto syns = expand ? lex.synonyms(base) : nullptr;
      if (!syns) continue;
      for (const auto& y : *syns)
        if (auto ys = stem(y); ys != s) plan.add(ys, synonym_weight);
    }
  }
  return plan.take();
}

}  // namespace memoryd::search
