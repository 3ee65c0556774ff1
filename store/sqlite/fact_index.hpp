// The search index of memory.db (docs/ARCHITECTURE.md, "Search"): a contentless FTS5 table of
// per-user tokens (store/search/tokens.hpp), and search_users (each user's token key, number
// and BM25 totals). Written only inside the fact writer's transactions, so the index changes
// with the fact it describes.
//
// A fact's broader terms (search::analyze_fact) are stored with its stems and indexed as "x:"
// keys. An entry's id (the FTS5 rowid) is not the fact's rowid but what the ranking needs of the
// fact: the user's number, the fact's position in the user's write order and its length, so a
// search scores facts from posting lists alone, without reading a row (doc_id). Besides its
// stems and prefix classes, a fact is indexed under "t:" + stem for each stem it holds twice or
// more and under "c:" + its category.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/sqlite/database.hpp"

namespace memoryd::sqlite {

// Migrations 3 and 4 of memory.db: the index tables and the facts' search columns. Facts
// stored before them are indexed by fact_index::build_pending.
extern const std::string_view search_index_migration;
extern const std::string_view search_index_migration_4;

// An index entry id: user number (30 bits), position (25 bits), length in stems (8 bits,
// capped at 255). Throws when the number or the position does not fit.
std::int64_t doc_id(std::int64_t user_num, std::int64_t pos, std::size_t length);
inline std::int64_t doc_user(std::int64_t id) { return id >> 33; }
inline std::int64_t doc_pos(std::int64_t id) { return (id >> 8) & ((std::int64_t{1} << 25) - 1); }
inline std::uint32_t doc_length(std::int64_t id) { return static_cast<std::uint32_t>(id & 255); }

// The index keys of a fact as SQLite indexes it: search::index_keys plus "t:" + each repeated
// stem and "c:" + the category.
std::vector<std::string> sqlite_index_keys(const std::vector<std::string>& stems,
                                           const std::vector<std::string>& broader,
                                           const std::string& category);

class fact_index {
 public:
  explicit fact_index(database& db) : db_(db) {}

  // What a new active fact stores: its analyzed text, its position in the user's write
  // order, its entry id and tokens. Counts the fact in the user's totals (creating the user's
  // key and number).
  struct entry {
    std::string terms;
    std::int64_t pos = 0;
    std::int64_t doc = 0;
    std::string tokens;  // space-separated
  };
  entry enter(const std::string& user_id, const std::string& text, const std::string& category);
  // Puts the tokens of an entry into the FTS table.
  void post(const entry& e);
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

  // The users' totals change in memory during a write transaction and are written once per
  // user by flush(), which the transaction calls before it commits; discard() forgets them
  // (the transaction rolled back). A transaction that calls enter or leave must end in one.
  void flush();
  void discard() { users_.clear(); }

 private:
  struct user_entry {
    std::string key;
    std::int64_t num = 0;
    std::int64_t facts = 0, terms = 0, next_pos = 0;
    bool stored = false;  // has a row in search_users
    bool changed = false;
  };
  user_entry& user(const std::string& user_id, bool create);
  std::string tokens_of(const std::string& key, std::string_view terms,
                        const std::string& category) const;
  database& db_;
  std::unordered_map<std::string, user_entry> users_;
  std::int64_t last_num_ = -1;  // the highest user number taken in this transaction
};

}  // namespace memoryd::sqlite
