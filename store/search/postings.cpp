#include "store/search/postings.hpp"

#include <algorithm>
#include <numeric>

#include "store/search/analyzer.hpp"

namespace memoryd::search {
namespace detail {

fact_table_index::fact_table_index(const candidate_set& facts) {
  std::vector<std::size_t> order(facts.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t x, std::size_t y) { return facts[x].pos < facts[y].pos; });
  std::vector<std::string_view> stems;
  for (std::size_t i : order) {
    const auto fact = static_cast<std::uint32_t>(positions_.size());
    positions_.push_back(facts[i].pos);
    categories_.push_back(facts[i].category);
    stems = split_terms(facts.terms(i));
    lengths_.push_back(static_cast<std::uint32_t>(std::min<std::size_t>(stems.size(), max_length)));
    std::sort(stems.begin(), stems.end());
    for (std::size_t s = 0; s < stems.size();) {
      std::size_t e = s;
      while (e < stems.size() && stems[e] == stems[s]) ++e;
      const auto tf = static_cast<std::uint32_t>(std::min<std::size_t>(e - s, max_tf));
      lists_["w:" + std::string(stems[s])].push_back({fact, tf});
      if (auto c = prefix_class(stems[s]); !c.empty()) {
        auto& list = lists_["p:" + std::string(c)];
        if (list.empty() || list.back().fact != fact) list.push_back({fact, 1});
      }
      s = e;
    }
    for (auto b : split_broader(facts.terms(i))) lists_["x:" + std::string(b)].push_back({fact, 1});
  }
}

const std::vector<fact_table_index::held>* fact_table_index::find(const std::string& key) const {
  auto it = lists_.find(key);
  return it == lists_.end() ? nullptr : &it->second;
}

posting_lists fact_table_index::postings(const std::vector<std::string>& keys,
                                         const std::string& category) const {
  posting_lists out;
  std::vector<bool> seen(positions_.size(), false);
  for (const auto& k : keys) {
    auto& list = out.lists.emplace_back();
    const auto* held_by = find(k);
    if (!held_by) continue;
    for (const auto& h : *held_by) {
      list.push_back({positions_[h.fact], lengths_[h.fact], h.tf});
      seen[h.fact] = true;
    }
  }
  if (!category.empty())
    for (std::size_t f = 0; f < positions_.size(); ++f)
      if (seen[f] && categories_[f] == category) out.in_category.push_back(positions_[f]);
  return out;
}

}  // namespace detail

posting_lists postings_of(const candidate_set& facts, const std::vector<std::string>& keys,
                          const std::string& category) {
  return detail::fact_table_index(facts).postings(keys, category);
}

}  // namespace memoryd::search
