#include "store/sqlite/fact_reader.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "store/search/engine.hpp"
#include "store/search/tokens.hpp"
#include "store/sqlite/fact_columns.hpp"
#include "store/sqlite/fact_index.hpp"

namespace memoryd::sqlite {
namespace {

using use = statement_use;

const std::string k_candidate_columns = std::string(k_fact_columns) + ", pos, terms FROM facts ";

search::candidate read_candidate(statement& s) {
  search::candidate c;
  c.f = read_fact(s);
  c.pos = s.col_int(k_fact_column_count);
  c.terms = s.col_text(k_fact_column_count + 1);
  return c;
}

class index_reader final : public search::index_reader {
 public:
  explicit index_reader(database& db) : db_(db) {}

  std::optional<search::user_index> user(const std::string& user_id) override {
    use q(
        db_.cached("SELECT key, facts, terms, next_pos, num FROM search_users WHERE user_id = ?1"));
    q->bind(1, user_id);
    if (!q->step()) return std::nullopt;
    return search::user_index{user_id,       q->col_text(0), q->col_int(1),
                              q->col_int(2), q->col_int(3),  q->col_int(4)};
  }

  void all_facts(const search::user_index& u, bool with_category,
                 search::candidate_set& out) override {
    use q(db_.cached(
        "SELECT pos, terms, category FROM facts WHERE user_id = ?1 AND status = 'active' "
        "AND terms IS NOT NULL"));
    q->bind(1, u.user_id);
    while (q->step())
      out.add(q->col_int(0), q->col_view(1), with_category ? q->col_view(2) : std::string_view{});
  }

  search::posting_lists postings(const search::user_index& u, const std::vector<std::string>& keys,
                                 const std::string& category) override {
    // The entry ids carry position and length (fact_index.hpp): no row is read.
    search::posting_lists out;
    std::string any;
    for (const auto& k : keys) {
      const std::string t = "\"" + search::token(u.key, k) + "\"";
      auto& list = out.lists.emplace_back();
      read_entries(u, t, [&](std::int64_t pos, std::uint32_t length) {
        list.push_back({pos, length, 1});
      });
      if (list.empty()) continue;
      any += (any.empty() ? "" : " OR ") + t;
      if (k[0] != 'w') continue;
      auto at = list.begin();  // "t:" + stem: the facts holding the stem twice or more
      read_entries(u, "\"" + search::token(u.key, "t:" + k.substr(2)) + "\"",
                   [&](std::int64_t pos, std::uint32_t) {
                     at = std::lower_bound(at, list.end(), pos,
                                           [](auto& p, std::int64_t x) { return p.pos < x; });
                     if (at != list.end() && at->pos == pos) at->tf = search::max_tf;
                   });
    }
    if (!category.empty() && !any.empty())
      read_entries(u, "(" + any + ") AND \"" + search::token(u.key, "c:" + category) + "\"",
                   [&](std::int64_t pos, std::uint32_t) { out.in_category.push_back(pos); });
    return out;
  }

  std::vector<search::candidate> at_positions(const search::user_index& u,
                                              const std::vector<std::int64_t>& positions) override {
    std::string list = "[";
    for (auto p : positions) list += (list.size() > 1 ? "," : "") + std::to_string(p);
    use q(db_.cached("SELECT " + k_candidate_columns +
                     "WHERE user_id = ?1 AND status = 'active' "
                     "AND pos IN (SELECT value FROM json_each(?2))"));
    q->bind(1, u.user_id).bind(2, list + "]");
    std::vector<search::candidate> out;
    while (q->step()) out.push_back(read_candidate(*q));
    return out;
  }

 private:
  // The entries matching an FTS5 query, in id (so position) order; only the user's (a token
  // of another user's could only match by a 60-bit collision).
  template <class F>
  void read_entries(const search::user_index& u, const std::string& match, F&& each) {
    use q(db_.cached("SELECT rowid FROM facts_fts WHERE facts_fts MATCH ?1"));
    q->bind(1, match);
    while (q->step()) {
      const std::int64_t id = q->col_int(0);
      if (doc_user(id) == u.num) each(doc_pos(id), doc_length(id));
    }
  }

  database& db_;
};

class owning_reader final : public fact_search {
 public:
  explicit owning_reader(const store_options& o)
      : db_(o.path, o.synchronous, o.busy_timeout_ms, true), reader_(db_) {
    // Reads map the file instead of copying pages through a private cache: no read() per
    // page, and the pages are the OS cache's, shared by every reader (address space only).
    db_.exec("PRAGMA mmap_size = 1073741824");
  }
  std::vector<scored_fact> search(const search_request& r) override { return reader_.search(r); }
  std::vector<fact> recent_facts(const std::string& user_id, std::int32_t limit,
                                 bool remembered_only) override {
    return reader_.recent_facts(user_id, limit, remembered_only);
  }

 private:
  database db_;
  fact_reader reader_;
};

}  // namespace

std::vector<scored_fact> fact_reader::search(const search_request& r) {
  read_transaction snapshot(db_);
  index_reader reader(db_);
  return search::run_search(reader, search::lexicon::shared(), r);
}

std::vector<fact> fact_reader::recent_facts(const std::string& user_id, std::int32_t limit,
                                            bool remembered_only) {
  use q(db_.cached(std::string("SELECT ") + k_fact_columns +
                   " FROM facts WHERE user_id = ?1 AND status = 'active'" +
                   (remembered_only ? " AND origin = 'api'" : "") + " ORDER BY pos DESC LIMIT ?2"));
  q->bind(1, user_id).bind(2, limit);
  std::vector<fact> out;
  while (q->step()) out.push_back(read_fact(*q));
  return out;
}

std::unique_ptr<fact_search> open_fact_reader(const store_options& opts) {
  if (opts.path.empty() || opts.path == ":memory:")
    throw std::invalid_argument("a search reader needs a database file, not " + opts.path);
  return std::make_unique<owning_reader>(opts);
}

}  // namespace memoryd::sqlite
