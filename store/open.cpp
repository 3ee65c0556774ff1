#include "store/open.hpp"

#include <filesystem>
#include <stdexcept>

#include "store/postgres/connection.hpp"
#include "store/postgres/conversation_store.hpp"
#include "store/postgres/fact_reader.hpp"
#include "store/postgres/memory_store.hpp"
#include "store/postgres/schema.hpp"
#include "store/sqlite/conversation_store.hpp"
#include "store/sqlite/fact_reader.hpp"
#include "store/sqlite/memory_store.hpp"

namespace memoryd {
namespace {

void ensure_parent_dir(const std::string& path) {
  if (path.empty() || path == ":memory:") return;
  auto parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec)
    throw std::runtime_error("cannot create directory " + parent.string() + ": " + ec.message());
}

template <class Store>
std::shared_ptr<Store> open_sqlite(const char* key, const storage_options& o,
                                   const std::string& path) {
  try {
    ensure_parent_dir(path);
    return std::make_shared<Store>(sqlite::store_options{path, o.synchronous, o.busy_timeout_ms});
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot open ") + key + " '" + path + "': " + e.what());
  }
}

// The PostgreSQL schema, migrated; throws pg::error naming the server's problem.
void migrated_postgres(const storage_options& o, migration_report* report) {
  pg::connection c(o.database_url);
  const int applied = pg::migrate(c);
  if (report) *report = {applied, pg::schema_version(c)};
}

}  // namespace

std::shared_ptr<conversation_store> open_conversation_store(const storage_options& o) {
  if (o.backend == "postgres") {
    migrated_postgres(o, nullptr);
    return std::make_shared<pg::conversation_store>(o.database_url);
  }
  return open_sqlite<sqlite::conversation_store>("storage.conversation_db", o, o.conversation_db);
}

std::shared_ptr<memory_store> open_memory_store(const storage_options& o) {
  if (o.backend == "postgres") {
    migrated_postgres(o, nullptr);
    return std::make_shared<pg::memory_store>(o.database_url);
  }
  return open_sqlite<sqlite::memory_store>("storage.memory_db", o, o.memory_db);
}

std::unique_ptr<fact_search> open_fact_search(const storage_options& o) {
  if (o.backend == "postgres") return pg::open_fact_reader(o.database_url);
  try {
    return sqlite::open_fact_reader({o.memory_db, o.synchronous, o.busy_timeout_ms});
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot open storage.memory_db '" + o.memory_db +
                             "' for search: " + e.what());
  }
}

migration_report migrate_stores(const storage_options& o) {
  migration_report report;
  if (o.backend == "postgres") {
    migrated_postgres(o, &report);
    return report;
  }
  open_stores(o);
  return report;
}

stores open_stores(const storage_options& o) {
  if (o.backend == "postgres") {
    migrated_postgres(o, nullptr);
    return {std::make_shared<pg::conversation_store>(o.database_url),
            std::make_shared<pg::memory_store>(o.database_url)};
  }
  return {open_conversation_store(o), open_memory_store(o)};
}

}  // namespace memoryd
