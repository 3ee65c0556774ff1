#include "store/search/engine.hpp"

#include <algorithm>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "store/search/postings.hpp"
#include "store/search/ranking.hpp"

namespace memoryd::search {
namespace {

using namespace detail;

// Where a search finds its posting lists: the backend's index, or the user's facts read whole.
class posting_source {
 public:
  virtual ~posting_source() = default;
  virtual posting_lists postings(const std::vector<std::string>& keys,
                                 const std::string& category) = 0;
};

class index_source final : public posting_source {
 public:
  index_source(index_reader& r, const user_index& u) : r_(r), u_(u) {}
  posting_lists postings(const std::vector<std::string>& keys,
                         const std::string& category) override {
    return r_.postings(u_, keys, category);
  }

 private:
  index_reader& r_;
  const user_index& u_;
};

class memory_source final : public posting_source {
 public:
  explicit memory_source(const candidate_set& facts) : index_(facts) {}
  posting_lists postings(const std::vector<std::string>& keys,
                         const std::string& category) override {
    return index_.postings(keys, category);
  }

 private:
  fact_table_index index_;
};

class search_run {
 public:
  search_run(index_reader& reader, const search_request& r, const user_index& u,
             posting_source& source)
      : reader_(reader), r_(r), u_(u), source_(source), limit_(static_cast<std::size_t>(r.limit)) {}

  std::vector<scored_fact> run(const std::vector<query_key>& keys) {
    std::vector<std::string> names;
    for (const auto& k : keys) names.push_back(k.key);
    auto found = source_.postings(names, r_.category);
    std::int64_t most = 0;
    for (const auto& l : found.lists) most = std::max<std::int64_t>(most, l.size());
    // The totals may trail the facts by a commit (PostgreSQL reads each statement's snapshot).
    n_ = static_cast<double>(std::max<std::int64_t>({u_.facts, most, 1}));
    average_ = std::max(1.0, static_cast<double>(u_.terms) / n_);
    // A broader stem's df counts the facts that hold it as a stem too: it is as rare as the
    // word is in the user's facts, either way.
    std::unordered_map<std::string_view, std::size_t> df;
    for (std::size_t j = 0; j < keys.size(); ++j)
      if (keys[j].key[0] == 'w') df[std::string_view(keys[j].key).substr(2)] = found.lists[j].size();
    std::vector<weighted_key> live;
    std::vector<std::vector<posting>> lists;
    for (std::size_t j = 0; j < keys.size(); ++j) {
      if (found.lists[j].empty()) continue;
      std::size_t count = found.lists[j].size();
      if (keys[j].key[0] == 'x')
        if (auto it = df.find(std::string_view(keys[j].key).substr(2)); it != df.end())
          count += it->second;
      live.push_back({keys[j].key, keys[j].weight, idf(n_, static_cast<std::int64_t>(count))});
      lists.push_back(std::move(found.lists[j]));
    }
    if (live.empty()) return {};
    base_ = score_postings(live, lists, average_, category() ? &found.in_category : nullptr);
    auto first = rank_facts(base_, limit_, r_.category, reader_, u_, whole_);
    return whole(first);
  }

 private:
  bool category() const { return !r_.category.empty(); }

  // The results as whole facts (a fact ended since it was found is left out).
  std::vector<scored_fact> whole(const std::vector<ranked>& results) {
    std::vector<std::int64_t> positions;
    for (const auto& s : results) positions.push_back(s.pos);
    whole_.fetch(reader_, u_, positions);
    std::vector<scored_fact> out;
    for (const auto& s : results)
      if (const candidate* c = whole_.find(s.pos)) out.push_back({c->f, s.score});
    return out;
  }

  index_reader& reader_;
  const search_request& r_;
  const user_index& u_;
  posting_source& source_;
  const std::size_t limit_;
  double n_ = 1, average_ = 1;
  std::vector<entry> base_;
  whole_facts whole_;
};

}  // namespace

std::vector<scored_fact> run_search(index_reader& reader, const lexicon& lex,
                                    const search_request& r, const search_tuning& tuning) {
  const auto keys = plan_query(r.query, lex);
  if (keys.empty() || r.limit <= 0) return {};
  auto u = reader.user(r.user_id);
  if (!u) return {};
  u->user_id = r.user_id;
  std::unique_ptr<posting_source> source;
  candidate_set all;
  if (u->facts < tuning.read_whole_below) {
    reader.all_facts(*u, !r.category.empty(), all);
    source = std::make_unique<memory_source>(all);
  } else {
    source = std::make_unique<index_source>(reader, *u);
  }
  return search_run(reader, r, *u, *source).run(keys);
}

}  // namespace memoryd::search
