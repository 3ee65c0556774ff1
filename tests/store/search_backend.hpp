// One memory store per backend for tests that run the same cases on both: a fresh SQLite file
// or a fresh PostgreSQL database, the writer's store and a search reader with a connection
// of its own (as the service reads).
#pragma once

#include <memory>
#include <string>

#include "store/open.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace memoryd::testing {

struct search_backend {
  explicit search_backend(const std::string& name) {
    opts.backend = name;
    if (name == "postgres") opts.database_url = fresh_pg_database();
    opts.memory_db = dir.file("memory.db");
    opts.synchronous = "normal";
    store = open_memory_store(opts);
    reader = open_fact_search(opts);
  }
  // Opens the store again (runs the migrations and the index build) and the reader.
  void reopen() {
    store.reset();
    reader.reset();
    store = open_memory_store(opts);
    reader = open_fact_search(opts);
  }

  temp_dir dir;
  storage_options opts;
  std::shared_ptr<memory_store> store;
  std::unique_ptr<fact_search> reader;
};

inline fact_batch adds(const std::string& user, std::initializer_list<const char*> texts,
                       millis now = 10'000, const std::string& category = "other") {
  fact_batch b;
  b.user_id = user;
  b.now = now;
  for (auto t : texts) b.ops.push_back({"add", "", t, category, now, {}});
  return b;
}

}  // namespace memoryd::testing
