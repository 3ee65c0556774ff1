#include "store/sqlite/fact_index.hpp"

#include <sqlite3.h>

#include <vector>

#include "store/search/analyzer.hpp"
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

namespace {
using use = statement_use;
}

std::string fact_index::tokens_of(const std::string& key, std::string_view terms) const {
  std::vector<std::string> stems;
  for (auto s : search::split_terms(terms)) stems.emplace_back(s);
  return search::join_terms(search::index_tokens(key, stems));
}

fact_index::entry fact_index::enter(const std::string& user_id, const std::string& text) {
  const auto stems = search::analyze(text);
  const int n = static_cast<int>(stems.size());
  entry e;
  e.terms = search::join_terms(stems);
  // Read, then update: an UPDATE ... RETURNING opens a statement journal on every call.
  use q(db_.cached("SELECT key, next_pos FROM search_users WHERE user_id = ?1"));
  q->bind(1, user_id);
  if (q->step()) {
    e.pos = q->col_int(1);
    e.tokens = tokens_of(q->col_text(0), e.terms);
    use u(db_.cached(
        "UPDATE search_users SET facts = facts + 1, terms = terms + ?2, next_pos = next_pos + 1 "
        "WHERE user_id = ?1"));
    u->bind(1, user_id).bind(2, n);
    u->exec();
    return e;
  }
  // The user's first fact: a key from the system's random source, only now.
  const std::string key = search::new_user_key();
  use add(db_.cached(
      "INSERT INTO search_users (user_id, key, facts, terms, next_pos) VALUES (?1, ?2, 1, ?3, 1)"));
  add->bind(1, user_id).bind(2, key).bind(3, n);
  add->exec();
  e.pos = 0;
  e.tokens = tokens_of(key, e.terms);
  return e;
}

void fact_index::post(std::int64_t rowid, const std::string& tokens) {
  use q(db_.cached("INSERT INTO facts_fts (rowid, tokens) VALUES (?1, ?2)"));
  q->bind(1, rowid).bind(2, tokens);
  q->exec();
}

void fact_index::leave(const std::string& fact_id) {
  use f(db_.cached(
      "SELECT f.rowid, f.user_id, f.terms, u.key FROM facts f JOIN search_users u "
      "ON u.user_id = f.user_id WHERE f.id = ?1 AND f.status = 'active' AND f.terms IS NOT NULL"));
  f->bind(1, fact_id);
  if (!f->step()) return;  // never indexed
  const std::string terms = f->col_text(2);
  // A contentless FTS5 table deletes an entry given exactly the tokens it was given.
  use del(db_.cached("INSERT INTO facts_fts (facts_fts, rowid, tokens) VALUES ('delete', ?1, ?2)"));
  del->bind(1, f->col_int(0)).bind(2, tokens_of(f->col_text(3), terms));
  del->exec();
  use u(db_.cached(
      "UPDATE search_users SET facts = facts - 1, terms = terms - ?2 WHERE user_id = ?1"));
  u->bind(1, f->col_text(1)).bind(2, static_cast<int>(search::split_terms(terms).size()));
  u->exec();
}

void fact_index::erase_user(const std::string& user_id) {
  use k(db_.cached("SELECT key FROM search_users WHERE user_id = ?1"));
  k->bind(1, user_id);
  if (!k->step()) return;
  const std::string key = k->col_text(0);
  use f(
      db_.cached("SELECT rowid, terms FROM facts WHERE user_id = ?1 AND status = 'active' "
                 "AND terms IS NOT NULL"));
  f->bind(1, user_id);
  use del(db_.cached("INSERT INTO facts_fts (facts_fts, rowid, tokens) VALUES ('delete', ?1, ?2)"));
  while (f->step()) {
    del->bind(1, f->col_int(0)).bind(2, tokens_of(key, f->col_text(1)));
    del->exec();
  }
  use u(db_.cached("DELETE FROM search_users WHERE user_id = ?1"));
  u->bind(1, user_id);
  u->exec();
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
        db_.cached("SELECT rowid, text FROM facts WHERE user_id = ?1 AND status = 'active' "
                   "AND terms IS NULL ORDER BY created_at, rowid"));
    q->bind(1, user);
    std::vector<std::pair<std::int64_t, std::string>> facts;
    while (q->step()) facts.emplace_back(q->col_int(0), q->col_text(1));
    use set(db_.cached("UPDATE facts SET terms = ?2, pos = ?3 WHERE rowid = ?1"));
    for (const auto& [rowid, text] : facts) {
      auto e = enter(user, text);
      set->bind(1, rowid).bind(2, e.terms).bind(3, e.pos);
      set->exec();
      post(rowid, e.tokens);
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
