// The search index on PostgreSQL (docs/ARCHITECTURE.md, "Search"): each active fact's tokens
// (store/search/tokens.hpp) in a tsvector column under a GIN index, and search_users (each
// user's token key and BM25 totals). Called only inside the memory store's transactions,
// under the user's advisory lock, so the index changes with the fact it describes.
#pragma once

#include <cstdint>
#include <string>

#include "store/postgres/connection.hpp"

namespace memoryd::pg::fact_index {

// What a new active fact stores: its analyzed text, its position in the user's write order
// and its tokens as a text[] literal (the tsvector is built from it). Counts the fact in the
// user's totals, creating the user's key.
struct entry {
  std::string terms;
  std::int64_t pos = 0;
  std::string tokens;
};
entry enter(connection& c, const std::string& user_id, const std::string& text);

// An active fact becomes superseded or deleted: out of the index and the totals.
void leave(connection& c, const std::string& fact_id);

// The user's totals and key (the facts' tokens go with their rows).
void erase_user(connection& c, const std::string& user_id);

// Indexes the active facts of one user stored before the index existed (migration 3), in
// its own transaction under the user's lock; returns how many, or -1 when no fact is waiting.
std::int64_t build_next_user(connection& c);

}  // namespace memoryd::pg::fact_index
