#include "store/search/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <queue>

#include "store/search/analyzer.hpp"

namespace memoryd::search::detail {

double idf(double n, std::int64_t df) {
  const double d = static_cast<double>(df);
  return std::log(1 + (n - d + 0.5) / (d + 0.5));
}

std::vector<entry> score_postings(const std::vector<weighted_key>& keys,
                                  const std::vector<std::vector<posting>>& lists,
                                  double average_terms,
                                  const std::vector<std::int64_t>* in_category) {
  const std::size_t n = keys.size();
  // For each prefix class, the exact keys of its class.
  std::vector<std::vector<std::size_t>> exact_in(n);
  for (std::size_t j = 0; j < n; ++j) {
    if (keys[j].key[0] != 'p') continue;
    const std::string_view c = std::string_view(keys[j].key).substr(2);
    for (std::size_t e = 0; e < n; ++e)
      if (keys[e].key[0] == 'w' && prefix_class(std::string_view(keys[e].key).substr(2)) == c)
        exact_in[j].push_back(e);
  }
  // Merge the lists by position: a heap of (position, list).
  using head = std::pair<std::int64_t, std::size_t>;
  std::priority_queue<head, std::vector<head>, std::greater<head>> heap;
  std::vector<std::size_t> at(n, 0);
  for (std::size_t j = 0; j < n; ++j)
    if (!lists[j].empty()) heap.push({lists[j][0].pos, j});
  std::vector<std::uint32_t> tf(n, 0);
  std::vector<std::size_t> touched;
  std::vector<entry> out;
  while (!heap.empty()) {
    const std::int64_t pos = heap.top().first;
    std::uint32_t length = 0;
    touched.clear();
    while (!heap.empty() && heap.top().first == pos) {
      const std::size_t j = heap.top().second;
      heap.pop();
      const posting& p = lists[j][at[j]];
      tf[j] = p.tf;
      length = p.length;
      touched.push_back(j);
      if (++at[j] < lists[j].size()) heap.push({lists[j][at[j]].pos, j});
    }
    for (std::size_t j : touched)
      for (std::size_t e : exact_in[j])
        if (tf[e]) tf[j] = 0;
    const double norm = k1 * (1 - b + b * length / average_terms);
    double base = 0;
    std::sort(touched.begin(), touched.end());  // the keys' order, as the sum is defined
    for (std::size_t j : touched)
      if (tf[j]) base += keys[j].weight * keys[j].idf * tf[j] * (k1 + 1) / (tf[j] + norm);
    for (std::size_t j : touched) tf[j] = 0;
    const bool wanted =
        !in_category || std::binary_search(in_category->begin(), in_category->end(), pos);
    out.push_back({pos, base, wanted});
  }
  return out;
}

void whole_facts::fetch(index_reader& reader, const user_index& u,
                        const std::vector<std::int64_t>& positions) {
  std::vector<std::int64_t> todo;
  for (auto p : positions)
    if (tried_.emplace(p, true).second) todo.push_back(p);
  if (todo.empty()) return;
  for (auto& c : reader.at_positions(u, todo)) by_pos_[c.pos] = std::move(c);
}

const candidate* whole_facts::find(std::int64_t pos) const {
  auto it = by_pos_.find(pos);
  return it == by_pos_.end() ? nullptr : &it->second;
}

namespace {

bool better(const ranked& x, const ranked& y) {
  if (x.score != y.score) return x.score > y.score;
  return x.pos > y.pos;  // the most recently written first
}

}  // namespace

std::vector<ranked> rank_facts(const std::vector<entry>& entries, std::size_t limit,
                               const std::string& category, index_reader& reader,
                               const user_index& u, whole_facts& whole) {
  auto index_of = [&](std::int64_t pos) -> const entry* {
    auto it = std::lower_bound(entries.begin(), entries.end(), pos,
                               [](const entry& e, std::int64_t p) { return e.pos < p; });
    return it != entries.end() && it->pos == pos ? &*it : nullptr;
  };
  auto near = [&](std::int64_t pos) {
    auto at = [&](std::int64_t p) {
      const entry* e = index_of(p);
      return e ? e->base : 0.0;
    };
    return neighbour_share * std::max(at(pos - 1), at(pos + 1));
  };
  std::vector<ranked> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].wanted) continue;
    double nb = 0;  // the neighbours are next to each other in `entries`
    if (i > 0 && entries[i - 1].pos == entries[i].pos - 1) nb = entries[i - 1].base;
    if (i + 1 < entries.size() && entries[i + 1].pos == entries[i].pos + 1)
      nb = std::max(nb, entries[i + 1].base);
    out.push_back({entries[i].pos, entries[i].base + neighbour_share * nb});
  }
  auto keep_best = [&] {  // the best `limit` first, in order; the rest dropped
    const auto n = std::min(limit, out.size());
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), better);
    out.resize(n);
  };
  keep_best();

  // Facts that hold no key can still rank through a neighbour, but only above the last fact
  // kept: read the neighbours of the facts whose share could get them there.
  const double bar = out.size() >= limit ? out[limit - 1].score : 0.0;
  std::vector<const entry*> by_base;
  for (const auto& e : entries)
    if (neighbour_share * e.base > bar) by_base.push_back(&e);
  std::sort(by_base.begin(), by_base.end(), [](const entry* x, const entry* y) {
    return x->base != y->base ? x->base > y->base : x->pos > y->pos;
  });
  std::vector<std::int64_t> missing;
  for (const entry* e : by_base) {
    if (missing.size() >= 2 * limit) break;
    for (auto p : {e->pos - 1, e->pos + 1})
      if (p >= 0 && !index_of(p) && std::find(missing.begin(), missing.end(), p) == missing.end())
        missing.push_back(p);
  }
  whole.fetch(reader, u, missing);
  for (auto p : missing) {
    const candidate* c = whole.find(p);
    if (c && (category.empty() || c->f.category == category)) out.push_back({p, near(p)});
  }
  keep_best();
  while (!out.empty() && out.back().score <= 0) out.pop_back();
  return out;
}

}  // namespace memoryd::search::detail
