#include "store/search/context.hpp"

#include <unordered_set>

namespace memoryd::search {

memory_context build_context(fact_search& facts, const context_request& r) {
  std::vector<context_fact> chosen;
  if (!r.query.empty()) {
    for (auto& s : facts.search({r.user_id, r.query, "", context_relevant}))
      chosen.push_back({std::move(s.f), "relevant", s.score});
  }
  for (auto& f : facts.recent_facts(r.user_id, context_remembered, true))
    chosen.push_back({std::move(f), "remembered", 0});
  for (auto& f : facts.recent_facts(r.user_id, context_remembered + context_recent, false))
    chosen.push_back({std::move(f), "recent", 0});

  memory_context out;
  std::unordered_set<std::string> seen;
  std::size_t recent = 0;
  for (auto& c : chosen) {
    if (!seen.insert(c.f.id).second) continue;
    if (c.reason == "recent" && recent++ == static_cast<std::size_t>(context_recent)) break;
    std::string line = (out.text.empty() ? "- " : "\n- ") + c.f.text;
    if (out.text.size() + line.size() > static_cast<std::size_t>(r.max_chars)) break;
    out.text += line;
    out.facts.push_back(std::move(c));
  }
  return out;
}

}  // namespace memoryd::search
