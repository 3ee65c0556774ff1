// The search index of memory.db (docs/ARCHITECTURE.md, "Search"): a contentless FTS5 table of
// per-user tokens (store/search/tokens.hpp) keyed by the facts' rowids, and search_users (each
// user's token key and BM25 totals). Written only inside the fact writer's transactions, so
// the index changes with the fact it describes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/sqlite/database.hpp"

namespace memoryd::sqlite {

// Migration 3 of memory.db: the index tables and the facts' search columns. Facts stored
// before it are indexed by fact_index::build_pending.
extern const std::string_view search_index_migration;

class fact_index {
 public:
  explicit fact_index(database& db) : db_(db) {}

  // What a new active fact stores: its analyzed text, its position in the user's write
  // order, and its tokens. Counts the fact in the user's totals (creating the user's key).
  struct entry {
    std::string terms;
    std::int64_t pos = 0;
    std::string tokens;  // space-separated
  };
  entry enter(const std::string& user_id, const std::string& text);
  // Puts the tokens of the fact stored at `rowid` into the FTS table.
  void post(std::int64_t rowid, const std::string& tokens);
  // An active fact becomes superseded or deleted: out of the index and the totals.
  void leave(const std::string& fact_id);
  // Every entry of the user, and the key that made the tokens.
  void erase_user(const std::string& user_id);
  // Indexes up to `max_facts` active facts stored before the index existed (whole users, in
  // write order); returns how many it indexed. Call inside a write transaction.
  std::int64_t build_pending(std::int64_t max_facts);
  // Merges the FTS5 segments into one when there are more than `max_segments`: a search looks
  // each token up in every segment, so their number is what a search costs (docs/
  // PERFORMANCE.md, "Fact search"). Returns whether it merged. Outside a transaction.
  bool compact(int max_segments);

 private:
  std::string tokens_of(const std::string& key, std::string_view terms) const;
  database& db_;
};

}  // namespace memoryd::sqlite
