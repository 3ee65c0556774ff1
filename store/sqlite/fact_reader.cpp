#include "store/sqlite/fact_reader.hpp"

#include <stdexcept>

#include "store/search/engine.hpp"
#include "store/sqlite/fact_columns.hpp"

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
    use q(db_.cached("SELECT key, facts, terms, next_pos FROM search_users WHERE user_id = ?1"));
    q->bind(1, user_id);
    if (!q->step()) return std::nullopt;
    return search::user_index{q->col_text(0), q->col_int(1), q->col_int(2), q->col_int(3)};
  }

  std::vector<search::candidate> matching(const std::string& user_id,
                                          const std::vector<std::string>& tokens) override {
    std::string match;
    for (const auto& t : tokens) match += (match.empty() ? "\"" : " OR \"") + t + "\"";
    use q(
        db_.cached("SELECT id, category, observed_at, pos, terms FROM facts "
                   "WHERE rowid IN (SELECT rowid FROM facts_fts WHERE facts_fts MATCH ?1) "
                   "AND user_id = ?2 AND status = 'active'"));
    q->bind(1, match).bind(2, user_id);
    std::vector<search::candidate> out;
    while (q->step()) {
      search::candidate c;
      c.f.id = q->col_text(0);
      c.f.category = q->col_text(1);
      c.f.observed_at = q->col_int(2);
      c.pos = q->col_int(3);
      c.terms = q->col_text(4);
      out.push_back(std::move(c));
    }
    return out;
  }

  std::vector<search::candidate> at_positions(const std::string& user_id,
                                              const std::vector<std::int64_t>& positions) override {
    std::string list = "[";
    for (auto p : positions) list += (list.size() > 1 ? "," : "") + std::to_string(p);
    use q(db_.cached("SELECT " + k_candidate_columns +
                     "WHERE user_id = ?1 AND status = 'active' "
                     "AND pos IN (SELECT value FROM json_each(?2))"));
    q->bind(1, user_id).bind(2, list + "]");
    std::vector<search::candidate> out;
    while (q->step()) out.push_back(read_candidate(*q));
    return out;
  }

 private:
  database& db_;
};

class owning_reader final : public fact_search {
 public:
  explicit owning_reader(const store_options& o)
      : db_(o.path, o.synchronous, o.busy_timeout_ms), reader_(db_) {
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
