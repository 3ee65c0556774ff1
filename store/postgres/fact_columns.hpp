// The facts table's columns as a fact, for the statements that read facts (memory_store.cpp,
// fact_reader.cpp).
#pragma once

#include "domain/fact.hpp"
#include "store/fact_merge.hpp"
#include "store/postgres/connection.hpp"

namespace memoryd::pg {

inline constexpr const char* k_fact_columns =
    "id, user_id, text, category, status, observed_at, created_at, updated_at, source_ids, ord";
inline constexpr int k_fact_column_count = 10;

// The fact in row i, columns first .. first + 9 (k_fact_columns' order).
inline fact read_fact(const result& r, int i, int first = 0) {
  fact f;
  f.id = r.text(i, first);
  f.user_id = r.text(i, first + 1);
  f.text = r.text(i, first + 2);
  f.category = r.text(i, first + 3);
  f.status = r.text(i, first + 4);
  f.observed_at = r.integer(i, first + 5);
  f.created_at = r.integer(i, first + 6);
  f.updated_at = r.integer(i, first + 7);
  f.source_ids = decode_ids(r.text(i, first + 8));
  f.seq = r.integer(i, first + 9);
  return f;
}

}  // namespace memoryd::pg
