#include "store/search/engine.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "store/search/analyzer.hpp"
#include "store/search/tokens.hpp"

namespace memoryd::search {
namespace {

// BM25's usual constants; the weights below were chosen on two of the three dev
// conversations (docs/RETRIEVAL.md).
constexpr double k1 = 1.2, b = 0.75;
constexpr double synonym_weight = 0.3;
constexpr double prefix_weight = 0.5;
// A fact gains this share of the better score of the facts written just before and after it:
// facts written together come from one conversation and tend to be about one thing.
constexpr double neighbour_share = 0.2;
// Times in a question ("in July", "last year", "on 16 August, 2023") say when, not what: facts
// rarely repeat them, and a fact that happens to mention a month is no better an answer.
constexpr double time_word_weight = 0.3;

bool time_word(std::string_view w) {
  static const std::unordered_set<std::string_view> words = {
      "ago",      "yesterday", "today",    "tonight",   "tomorrow", "last",      "next",
      "recently", "recent",    "lately",   "soon",      "week",     "weeks",     "weekend",
      "weekends", "month",     "months",   "year",      "years",    "day",       "days",
      "morning",  "evening",   "night",    "afternoon", "since",    "january",   "february",
      "march",    "april",     "may",      "june",      "july",     "august",    "september",
      "october",  "november",  "december", "monday",    "tuesday",  "wednesday", "thursday",
      "friday",   "saturday",  "sunday",   "summer",    "winter",   "spring",    "fall",
      "autumn",   "earlier",   "later"};
  return words.count(w) > 0 ||
         std::all_of(w.begin(), w.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

bool alphabetic(std::string_view w) {
  return std::all_of(w.begin(), w.end(), [](unsigned char c) { return c >= 'a' && c <= 'z'; });
}

class plan_builder {
 public:
  void add(const std::string& stem, double weight) {
    put("w:" + stem, weight);
    if (auto c = prefix_class(stem); !c.empty()) put("p:" + std::string(c), weight * prefix_weight);
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

struct scored {
  const candidate* c;
  double base = 0, final = 0;
  bool whole = false;  // c is a whole fact (from at_positions), not only its index data
};

bool better(const scored& x, const scored& y) {
  if (x.final != y.final) return x.final > y.final;
  if (x.c->f.observed_at != y.c->f.observed_at) return x.c->f.observed_at > y.c->f.observed_at;
  return x.c->pos > y.c->pos;  // recency breaks ties
}

// BM25 of each candidate (Robertson's idf, never negative). df is counted over the candidates,
// which are every active fact of the user holding any query key, so it is the user's own.
std::vector<double> bm25(const std::vector<candidate>& cands, const std::vector<query_key>& keys,
                         const user_index& u) {
  std::unordered_set<std::string_view> exact;
  for (const auto& k : keys)
    if (k.key[0] == 'w') exact.insert(std::string_view(k.key).substr(2));
  // tf[i][j]: how often key j occurs in candidate i; a prefix class counts the stems of its
  // class that the query does not ask for exactly ("mentor" for "mentorship").
  std::vector<std::vector<int>> tf(cands.size(), std::vector<int>(keys.size(), 0));
  std::vector<int> length(cands.size(), 0), df(keys.size(), 0);
  for (std::size_t i = 0; i < cands.size(); ++i) {
    for (auto s : split_terms(cands[i].terms)) {
      ++length[i];
      for (std::size_t j = 0; j < keys.size(); ++j) {
        std::string_view k = std::string_view(keys[j].key).substr(2);
        if (keys[j].key[0] == 'w' ? s == k : prefix_class(s) == k && !exact.count(s)) ++tf[i][j];
      }
    }
    for (std::size_t j = 0; j < keys.size(); ++j) df[j] += tf[i][j] > 0;
  }
  const double n = static_cast<double>(std::max<std::int64_t>(u.facts, cands.size()));
  const double avg = std::max(1.0, static_cast<double>(u.terms) / std::max(1.0, n));
  std::vector<double> out(cands.size(), 0);
  for (std::size_t i = 0; i < cands.size(); ++i) {
    const double norm = k1 * (1 - b + b * length[i] / avg);
    for (std::size_t j = 0; j < keys.size(); ++j) {
      if (!tf[i][j]) continue;
      const double idf = std::log(1 + (n - df[j] + 0.5) / (df[j] + 0.5));
      out[i] += keys[j].weight * idf * tf[i][j] * (k1 + 1) / (tf[i][j] + norm);
    }
  }
  return out;
}

}  // namespace

std::vector<query_key> plan_query(std::string_view query, const lexicon& lex) {
  plan_builder plan;
  for (auto& word : words(query)) {
    const std::string w = content_word(std::move(word));
    if (w.empty()) continue;
    const std::string s = stem(w);
    if (time_word(w)) {
      plan.add(s, time_word_weight);
      continue;
    }
    plan.add(s, 1);
    if (auto forms = lex.irregular(w))
      for (const auto& f : *forms) plan.add(stem(f), 1);
    const bool expand = alphabetic(w) && w.size() > 2;
    for (const auto& base : lex.base_forms(w)) {
      if (base != w) plan.add(stem(base), 1);
      auto syns = expand ? lex.synonyms(base) : nullptr;
      if (!syns) continue;
      for (const auto& y : *syns)
        if (auto ys = stem(y); ys != s) plan.add(ys, synonym_weight);
    }
  }
  return plan.take();
}

std::vector<scored_fact> run_search(index_reader& reader, const lexicon& lex,
                                    const search_request& r) {
  const auto keys = plan_query(r.query, lex);
  if (keys.empty() || r.limit <= 0) return {};
  const auto u = reader.user(r.user_id);
  if (!u) return {};
  std::vector<std::string> tokens;
  for (const auto& k : keys) tokens.push_back(token(u->key, k.key));
  const auto cands = reader.matching(r.user_id, tokens);
  const auto base = bm25(cands, keys, *u);

  std::unordered_map<std::int64_t, double> base_at;  // pos -> base score
  for (std::size_t i = 0; i < cands.size(); ++i) base_at[cands[i].pos] = base[i];
  auto near = [&](std::int64_t pos) {
    auto at = [&](std::int64_t p) {
      auto it = base_at.find(p);
      return it == base_at.end() ? 0.0 : it->second;
    };
    return neighbour_share * std::max(at(pos - 1), at(pos + 1));
  };
  const auto wanted = [&](const candidate& c) {
    return r.category.empty() || c.f.category == r.category;
  };
  std::vector<scored> ranked;
  for (std::size_t i = 0; i < cands.size(); ++i)
    if (wanted(cands[i])) ranked.push_back({&cands[i], base[i], base[i] + near(cands[i].pos)});
  const auto limit = static_cast<std::size_t>(r.limit);
  auto keep_best = [&] {  // the best `limit` first, in order; the rest dropped
    const auto n = std::min(limit, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n), ranked.end(),
                      better);
    ranked.resize(n);
  };
  keep_best();

  // Facts that match nothing themselves can still rank through a neighbour, but only above
  // the last fact kept: fetch the neighbours of the facts whose share could get them there.
  const double bar = ranked.size() >= limit ? ranked[limit - 1].final : 0.0;
  std::vector<std::int64_t> missing;
  std::vector<std::size_t> by_base(cands.size());
  for (std::size_t i = 0; i < cands.size(); ++i) by_base[i] = i;
  std::sort(by_base.begin(), by_base.end(), [&](auto x, auto y) { return base[x] > base[y]; });
  for (auto i : by_base) {
    if (neighbour_share * base[i] <= bar || missing.size() >= 2 * limit) break;
    for (auto p : {cands[i].pos - 1, cands[i].pos + 1})
      if (!base_at.count(p) && std::find(missing.begin(), missing.end(), p) == missing.end())
        missing.push_back(p);
  }
  const auto extra =
      missing.empty() ? std::vector<candidate>{} : reader.at_positions(r.user_id, missing);
  for (const auto& c : extra)
    if (wanted(c)) ranked.push_back({&c, 0, near(c.pos), true});
  keep_best();
  while (!ranked.empty() && ranked.back().final <= 0) ranked.pop_back();

  // The whole facts of the results that came from matching() (a fact ended since is left out).
  std::vector<std::int64_t> light;
  for (const auto& s : ranked)
    if (!s.whole) light.push_back(s.c->pos);
  const auto whole =
      light.empty() ? std::vector<candidate>{} : reader.at_positions(r.user_id, light);
  std::unordered_map<std::int64_t, const fact*> by_pos;
  for (const auto& c : whole) by_pos[c.pos] = &c.f;
  for (const auto& c : extra) by_pos[c.pos] = &c.f;
  std::vector<scored_fact> out;
  out.reserve(ranked.size());
  for (const auto& s : ranked)
    if (auto it = by_pos.find(s.c->pos); it != by_pos.end()) out.push_back({*it->second, s.final});
  return out;
}

}  // namespace memoryd::search
