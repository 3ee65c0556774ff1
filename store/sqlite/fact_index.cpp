#include "store/sqlite/fact_index.hpp"

#include <algorithm>
#include <stdexcept>

#include "store/search/analyzer.hpp"
#include "store/search/lexicon.hpp"
#include "store/search/tokens.hpp"

namespace memoryd::sqlite {

const std::string_view search_index_migration = R"sql(
ALTER TABLE facts ADD COLUMN terms TEXT;  -- analyzed text; NULL: not indexed (yet)
ALTER TABLE facts ADD COLUMN pos INTEGER;  -- the user's write order, for neighbours
ALTER TABLE facts ADD COLUMN origin TEXT NOT NULL DEFAULT 'extractor';  -- or 'api'
UPDATE facts SET origin = 'api'
  WHERE id IN (SELECT fact_id FROM fact_events WHERE kind = 'add' AND cause = 'api');
CREATE TABLE search_users (
  user_id TEXT PRIMARY KEY,
  key TEXT NOT NULL,
  facts INTEGER NOT NULL DEFAULT 0,
  terms INTEGER NOT NULL DEFAULT 0,
  next_pos INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE VIRTUAL TABLE facts_fts USING fts5(tokens, content='', columnsize=0, detail=none);
CREATE INDEX facts_unindexed ON facts(user_id) WHERE status = 'active' AND terms IS NULL;
CREATE INDEX facts_user_pos ON facts(user_id, pos) WHERE status = 'active';
CREATE INDEX facts_user_remembered ON facts(user_id, pos)
  WHERE status = 'active' AND origin = 'api';
)sql";

// Entries identified by what the ranking needs (doc_id) instead of the fact's rowid, repeated
// stems and categories indexed: the index is built again (build_pending, at open).
const std::string_view search_index_migration_4 = R"sql(
DROP TABLE facts_fts;
CREATE VIRTUAL TABLE facts_fts USING fts5(tokens, content='', columnsize=0, detail=none);
INSERT INTO facts_fts (facts_fts, rank) VALUES ('pgsz', 1000);
DROP TABLE search_users;
CREATE TABLE search_users (
  user_id TEXT PRIMARY KEY,
  key TEXT NOT NULL,
  num INTEGER NOT NULL,  -- the user's number in the index's entry ids
  facts INTEGER NOT NULL DEFAULT 0,
  terms INTEGER NOT NULL DEFAULT 0,
  next_pos INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE UNIQUE INDEX search_users_num ON search_users(num);
UPDATE facts SET terms = NULL, pos = NULL WHERE status = 'active';
)sql";

namespace {
using use = statement_use;
constexpr int k_num_bits = 30, k_pos_bits = 25;
}  // namespace

std::int64_t doc_id(std::int64_t user_num, std::int64_t pos, std::size_t length) {
  if (user_num < 0 || user_num >= (std::int64_t{1} << k_num_bits) || pos < 0 ||
      pos >= (std::int64_t{1} << k_pos_bits))
    throw std::runtime_error("search index: user number " + std::to_string(user_num) +
                             " or position " + std::to_string(pos) + " out of range");
  return user_num << 33 | pos << 8 | static_cast<std::int64_t>(std::min<std::size_t>(length, 255));
}

std::vector<std::string> sqlite_index_keys(const std::vector<std::string>& stems,
                                           const std::vector<std::string>& broader,
                                           const std::string& category) {
  auto keys = search::index_keys(stems, broader);
  std::vector<std::string> sorted = stems;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i] == sorted[i - 1] && (i < 2 || sorted[i] != sorted[i - 2]))
      keys.push_back("t:" + sorted[i]);
  keys.push_back("c:" + category);
  return keys;
}

std::string fact_index::tokens_of(const std::string& key, std::string_view terms,
                                  const std::string& category) const {
  std::vector<std::string> stems, broader;
  for (auto s : search::split_terms(terms)) stems.emplace_back(s);
  for (auto s : search::split_broader(terms)) broader.emplace_back(s);
  std::string out;
  for (const auto& k : sqlite_index_keys(stems, broader, category))
    out += (out.empty() ? "" : " ") + search::token(key, k);
  return out;
}

fact_index::user_entry& fact_index::user(const std::string& user_id, bool create) {
  if (auto it = users_.find(user_id); it != users_.end()) return it->second;
  user_entry u;
  use q(db_.cached("SELECT key, num, facts, terms, next_pos FROM search_users WHERE user_id = ?1"));
  q->bind(1, user_id);
  if (q->step()) {
    u = {q->col_text(0), q->col_int(1), q->col_int(2), q->col_int(3), q->col_int(4), true, false};
  } else {
    if (!create) throw std::logic_error("search index: no entry for an indexed user");
    if (last_num_ < 0) last_num_ = db_.scalar_int("SELECT coalesce(max(num), 0) FROM search_users");
    // The user's first fact: a key from the system's random source, only now.
    u.key = search::new_user_key();
    u.num = ++last_num_;
    u.changed = true;
  }
  return users_.emplace(user_id, std::move(u)).first->second;
}

fact_index::entry fact_index::enter(const std::string& user_id, const std::string& text,
                                    const std::string& category) {
  const auto analyzed = search::analyze_fact(text, search::lexicon::shared());
  const auto& stems = analyzed.stems;
  auto& u = user(user_id, true);
  entry e;
  e.terms = search::join_terms(stems, analyzed.broader);
  e.pos = u.next_pos;
  e.doc = doc_id(u.num, e.pos, stems.size());
  e.tokens = tokens_of(u.key, e.terms, category);
  ++u.next_pos;
  ++u.facts;
  u.terms += static_cast<std::int64_t>(stems.size());
  u.changed = true;
  return e;
}

void fact_index::post(const entry& e) {
  use q(db_.cached("INSERT INTO facts_fts (rowid, tokens) VALUES (?1, ?2)"));
  q->bind(1, e.doc).bind(2, e.tokens);
  q->exec();
}

void fact_index::leave(const std::string& fact_id) {
  use f(db_.cached(
      "SELECT user_id, pos, terms, category FROM facts WHERE id = ?1 AND status = 'active' "
      "AND terms IS NOT NULL"));
  f->bind(1, fact_id);
  if (!f->step()) return;  // never indexed
  auto& u = user(f->col_text(0), false);
  const std::string terms = f->col_text(2);
  const auto length = search::split_terms(terms).size();
  // A contentless FTS5 table deletes an entry given exactly the tokens it was given.
  use del(db_.cached("INSERT INTO facts_fts (facts_fts, rowid, tokens) VALUES ('delete', ?1, ?2)"));
  del->bind(1, doc_id(u.num, f->col_int(1), length))
      .bind(2, tokens_of(u.key, terms, f->col_text(3)));
  del->exec();
  --u.facts;
  u.terms -= static_cast<std::int64_t>(length);
  u.changed = true;
}

void fact_index::erase_user(const std::string& user_id) {
  use k(db_.cached("SELECT key, num FROM search_users WHERE user_id = ?1"));
  k->bind(1, user_id);
  users_.erase(user_id);
  if (!k->step()) return;
  const std::string key = k->col_text(0);
  const std::int64_t num = k->col_int(1);
  use f(
      db_.cached("SELECT pos, terms, category FROM facts WHERE user_id = ?1 AND status = 'active' "
                 "AND terms IS NOT NULL"));
  f->bind(1, user_id);
  use del(db_.cached("INSERT INTO facts_fts (facts_fts, rowid, tokens) VALUES ('delete', ?1, ?2)"));
  while (f->step()) {
    const std::string terms = f->col_text(1);
    del->bind(1, doc_id(num, f->col_int(0), search::split_terms(terms).size()))
        .bind(2, tokens_of(key, terms, f->col_text(2)));
    del->exec();
  }
  use u(db_.cached("DELETE FROM search_users WHERE user_id = ?1"));
  u->bind(1, user_id);
  u->exec();
}

void fact_index::flush() {
  for (auto& [user_id, u] : users_) {
    if (!u.changed) continue;
    use q(db_.cached(u.stored
                         ? "UPDATE search_users SET facts = ?3, terms = ?4, next_pos = ?5 WHERE "
                           "user_id = ?1"
                         : "INSERT INTO search_users (user_id, key, num, facts, terms, next_pos) "
                           "VALUES (?1, ?2, ?6, ?3, ?4, ?5)"));
    q->bind(1, user_id).bind(3, u.facts).bind(4, u.terms).bind(5, u.next_pos);
    if (!u.stored) q->bind(2, u.key).bind(6, u.num);
    q->exec();
  }
  discard();
  last_num_ = -1;
}

std::int64_t fact_index::build_pending(std::int64_t max_facts) {
  std::int64_t done = 0;
  while (done < max_facts) {
    std::string user;
    {
      // Named: the planner would otherwise walk another partial index of active facts and
      // skip every indexed one, which makes the build quadratic.
      use q(
          db_.cached("SELECT user_id FROM facts INDEXED BY facts_unindexed "
                     "WHERE status = 'active' AND terms IS NULL LIMIT 1"));
      if (!q->step()) break;
      user = q->col_text(0);
    }
    use q(
        db_.cached("SELECT rowid, text, category FROM facts WHERE user_id = ?1 AND "
                   "status = 'active' AND terms IS NULL ORDER BY created_at, rowid"));
    q->bind(1, user);
    struct pending {
      std::int64_t rowid;
      std::string text, category;
    };
    std::vector<pending> facts;
    while (q->step()) facts.push_back({q->col_int(0), q->col_text(1), q->col_text(2)});
    use set(db_.cached("UPDATE facts SET terms = ?2, pos = ?3 WHERE rowid = ?1"));
    for (const auto& f : facts) {
      auto e = enter(user, f.text, f.category);
      set->bind(1, f.rowid).bind(2, e.terms).bind(3, e.pos);
      set->exec();
      post(e);
    }
    done += static_cast<std::int64_t>(facts.size());
  }
  return done;
}

bool fact_index::compact(int max_segments) {
  if (db_.scalar_int("SELECT count(DISTINCT segid) FROM facts_fts_idx") <= max_segments)
    return false;
  db_.exec("INSERT INTO facts_fts (facts_fts) VALUES ('optimize')");
  return true;
}

}  // namespace memoryd::sqlite
