#include "store/postgres/fact_reader.hpp"

#include "store/postgres/fact_columns.hpp"
#include "store/search/engine.hpp"
#include "store/search/tokens.hpp"

namespace memoryd::pg {
namespace {

const std::string k_candidates =
    std::string("SELECT ") + k_fact_columns + ", pos, terms FROM facts ";

std::vector<search::candidate> read_candidates(const result& r) {
  std::vector<search::candidate> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    search::candidate c;
    c.f = read_fact(r, i);
    c.pos = r.integer(i, k_fact_column_count);
    c.terms = r.text(i, k_fact_column_count + 1);
    out.push_back(std::move(c));
  }
  return out;
}

// Each statement reads its own snapshot: the totals may be a commit older than the facts,
// which only moves scores a little, and every statement returns active facts only.
class index_reader final : public search::index_reader {
 public:
  explicit index_reader(connection& c) : c_(c) {}

  std::optional<search::user_index> user(const std::string& user_id) override {
    auto r = c_.exec_prepared("search_user",
                              "SELECT key, facts, terms, next_pos FROM search_users "
                              "WHERE user_id = $1",
                              {user_id});
    if (r.rows() == 0) return std::nullopt;
    return search::user_index{user_id,         r.text(0, 0),    r.integer(0, 1),
                              r.integer(0, 2), r.integer(0, 3), 0};
  }

  void all_facts(const search::user_index& u, bool with_category,
                 search::candidate_set& out) override {
    auto r = c_.exec_prepared("search_all",
                              "SELECT pos, terms, category FROM facts WHERE user_id = $1 "
                              "AND status = 'active' AND tokens IS NOT NULL",
                              {u.user_id});
    for (int i = 0; i < r.rows(); ++i)
      out.add(r.integer(i, 0), r.get(i, 1), with_category ? r.get(i, 2) : std::string_view{});
  }

  search::posting_lists postings(const search::user_index& u, const std::vector<std::string>& keys,
                                 const std::string& category) override {
    // A GIN index has no row-free count or list: the facts holding any key are read (their
    // stems, not their text) and the lists made from them, as the definition has them.
    std::string query;  // tokens are [a-z2-7]: nothing to escape
    for (const auto& k : keys)
      query += (query.empty() ? "'" : " | '") + search::token(u.key, k) + "'";
    search::candidate_set facts;
    if (!query.empty()) {
      auto r = c_.exec_prepared("search_matching",
                                "SELECT pos, terms, category FROM facts WHERE "
                                "tokens @@ $2::tsquery AND user_id = $1 AND status = 'active'",
                                {u.user_id, query});
      for (int i = 0; i < r.rows(); ++i)
        facts.add(r.integer(i, 0), r.get(i, 1),
                  category.empty() ? std::string_view{} : r.get(i, 2));
    }
    return search::postings_of(facts, keys, category);
  }

  std::vector<search::candidate> at_positions(const search::user_index& u,
                                              const std::vector<std::int64_t>& positions) override {
    return read_candidates(c_.exec_prepared(
        "search_positions",
        k_candidates + "WHERE user_id = $1 AND status = 'active' AND pos = ANY($2::bigint[])",
        {u.user_id, int_array(positions)}));
  }

 private:
  connection& c_;
};

class owning_reader final : public fact_search {
 public:
  explicit owning_reader(const std::string& url) : db_(url), reader_(db_) {}
  std::vector<scored_fact> search(const search_request& r) override { return reader_.search(r); }
  std::vector<fact> recent_facts(const std::string& user_id, std::int32_t limit,
                                 bool remembered_only) override {
    return reader_.recent_facts(user_id, limit, remembered_only);
  }

 private:
  link db_;
  fact_reader reader_;
};

}  // namespace

std::vector<scored_fact> fact_reader::search(const search_request& r) {
  return db_.run([&](connection& c) {
    index_reader reader(c);
    return search::run_search(reader, search::lexicon::shared(), r);
  });
}

std::vector<fact> fact_reader::recent_facts(const std::string& user_id, std::int32_t limit,
                                            bool remembered_only) {
  return db_.run([&](connection& c) {
    auto r = c.exec_prepared(remembered_only ? "recent_remembered" : "recent_facts",
                             std::string("SELECT ") + k_fact_columns +
                                 " FROM facts WHERE user_id = $1 AND " + "status = 'active'" +
                                 (remembered_only ? " AND origin = 'api'" : "") +
                                 " ORDER BY pos DESC LIMIT $2",
                             {user_id, std::to_string(limit)});
    std::vector<fact> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_fact(r, i));
    return out;
  });
}

std::unique_ptr<fact_search> open_fact_reader(const std::string& url) {
  return std::make_unique<owning_reader>(url);
}

}  // namespace memoryd::pg
