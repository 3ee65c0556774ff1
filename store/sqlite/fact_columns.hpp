// The facts table's columns as a fact, for the statements that read facts (memory_store.cpp,
// fact_reader.cpp).
#pragma once

#include "domain/fact.hpp"
#include "store/fact_merge.hpp"
#include "store/sqlite/database.hpp"

namespace memoryd::sqlite {

inline constexpr const char* k_fact_columns =
    "id, user_id, text, category, status, observed_at, created_at, updated_at, source_ids, rowid";
inline constexpr int k_fact_column_count = 10;

// The fact in columns first .. first + 9 of the current row (k_fact_columns' order).
inline fact read_fact(statement& s, int first = 0) {
  fact f;
  f.id = s.col_text(first);
  f.user_id = s.col_text(first + 1);
  f.text = s.col_text(first + 2);
  f.category = s.col_text(first + 3);
  f.status = s.col_text(first + 4);
  f.observed_at = s.col_int(first + 5);
  f.created_at = s.col_int(first + 6);
  f.updated_at = s.col_int(first + 7);
  f.source_ids = decode_ids(s.col_text(first + 8));
  f.seq = s.col_int(first + 9);
  return f;
}

}  // namespace memoryd::sqlite
