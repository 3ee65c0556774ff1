// Opening the two stores. The rest of memoryd sees only the interfaces
// (conversation_store.hpp, memory_store.hpp); the backend (SQLite, PostgreSQL) is chosen here
// at start-up.
#pragma once

#include <memory>
#include <string>

#include "store/conversation_store.hpp"
#include "store/fact_search.hpp"
#include "store/memory_store.hpp"

namespace memoryd {

struct storage_options {
  std::string backend = "sqlite";  // sqlite | postgres
  std::string database_url;        // postgres: a libpq URI
  // SQLite: one file each (their directories are created); ":memory:" for tests.
  std::string conversation_db = "./data/conversation.db";
  std::string memory_db = "./data/memory.db";
  std::string synchronous = "full";  // full | normal
  int busy_timeout_ms = 5000;
};

struct stores {
  std::shared_ptr<conversation_store> conversations;
  std::shared_ptr<memory_store> memory;
};

// Opens (creating and migrating) both stores. Throws std::runtime_error naming the config
// key and the path of the store that could not be opened.
stores open_stores(const storage_options& opts);
std::shared_ptr<conversation_store> open_conversation_store(const storage_options& opts);
std::shared_ptr<memory_store> open_memory_store(const storage_options& opts);

// A search reader with a connection of its own (the schema must be migrated: open the memory
// store first). Throws like open_memory_store.
std::unique_ptr<fact_search> open_fact_search(const storage_options& opts);

// Brings the schema up to date and reports what was done: SQLite migrates each file as it
// opens it; PostgreSQL applies the numbered migrations under an advisory lock.
struct migration_report {
  int applied = 0;  // PostgreSQL: migrations applied now
  int version = 0;  // PostgreSQL: the schema's version after
};
migration_report migrate_stores(const storage_options& opts);

}  // namespace memoryd
