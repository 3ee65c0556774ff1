#include "store/postgres/fact_index.hpp"

#include <vector>

#include "store/postgres/link.hpp"
#include "store/search/analyzer.hpp"
#include "store/search/lexicon.hpp"
#include "store/search/tokens.hpp"

namespace memoryd::pg::fact_index {
namespace {

// Adds `facts` new active facts with `terms` stems to the user's totals; the key and the
// first of the positions they take.
std::pair<std::string, std::int64_t> count_in(connection& c, const std::string& user_id,
                                              std::int64_t facts, std::int64_t terms) {
  auto r = c.exec_prepared(
      "search_user_enter",
      "INSERT INTO search_users (user_id, key, facts, terms, next_pos) VALUES ($1, $2, $3, $4, $3) "
      "ON CONFLICT (user_id) DO UPDATE SET facts = search_users.facts + $3, "
      "terms = search_users.terms + $4, next_pos = search_users.next_pos + $3 "
      "RETURNING key, next_pos - $3",
      {user_id, search::new_user_key(), std::to_string(facts), std::to_string(terms)});
  return {r.text(0, 0), r.integer(0, 1)};
}

}  // namespace

entry enter(connection& c, const std::string& user_id, const std::string& text) {
  const auto a = search::analyze_fact(text, search::lexicon::shared());
  auto [key, pos] = count_in(c, user_id, 1, static_cast<std::int64_t>(a.stems.size()));
  return {search::join_terms(a.stems, a.broader), pos,
          text_array(search::index_tokens(key, a.stems, a.broader))};
}

void leave(connection& c, const std::string& fact_id) {
  c.exec_prepared(
      "search_leave",
      "WITH gone AS (UPDATE facts SET tokens = NULL WHERE id = $1 AND status = 'active' "
      "AND terms IS NOT NULL RETURNING user_id, terms) "
      "UPDATE search_users u SET facts = u.facts - 1, "
      "terms = u.terms - (SELECT count(*) FROM unnest(string_to_array(g.terms, ' ')) AS t(s) "
      "WHERE s <> '' AND left(s, 1) <> '+') "
      "FROM gone g WHERE u.user_id = g.user_id",
      {fact_id});
}

void erase_user(connection& c, const std::string& user_id) {
  c.exec_prepared("search_erase", "DELETE FROM search_users WHERE user_id = $1", {user_id});
}

std::int64_t build_next_user(connection& c) {
  transaction tx(c);
  auto next = c.exec(
      "SELECT user_id FROM facts WHERE status = 'active' AND terms IS NULL ORDER BY user_id "
      "LIMIT 1 FOR UPDATE SKIP LOCKED");
  if (next.rows() == 0) return -1;
  const std::string user = next.text(0, 0);
  c.exec_prepared("lock_user", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {user});
  auto facts = c.exec_prepared("search_unindexed",
                               "SELECT ord, text FROM facts WHERE user_id = $1 AND "
                               "status = 'active' AND terms IS NULL ORDER BY created_at, ord",
                               {user});
  std::vector<search::fact_terms> stems;
  std::int64_t total = 0;
  for (int i = 0; i < facts.rows(); ++i) {
    stems.push_back(search::analyze_fact(facts.get(i, 1), search::lexicon::shared()));
    total += static_cast<std::int64_t>(stems.back().stems.size());
  }
  auto [key, first] = count_in(c, user, facts.rows(), total);
  std::vector<std::int64_t> ords, positions;
  std::vector<std::string> terms, tokens;
  for (int i = 0; i < facts.rows(); ++i) {
    ords.push_back(facts.integer(i, 0));
    positions.push_back(first + i);
    terms.push_back(search::join_terms(stems[i].stems, stems[i].broader));
    tokens.push_back(
        search::join_terms(search::index_tokens(key, stems[i].stems, stems[i].broader)));
  }
  c.exec_prepared("search_build",
                  "UPDATE facts f SET terms = v.terms, pos = v.pos, "
                  "tokens = array_to_tsvector(string_to_array(nullif(v.tokens, ''), ' ')) "
                  "FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) "
                  "AS v(ord, pos, terms, tokens) WHERE f.ord = v.ord",
                  {int_array(ords), int_array(positions), text_array(terms), text_array(tokens)});
  tx.commit();
  return facts.rows();
}

}  // namespace memoryd::pg::fact_index
