// One contract, two backends: the store tests run each case once per storage backend.
//
//   TEST_CASE("...", "[store][conversation]") {
//     FOR_EACH_BACKEND(b);             // a store_backend named b, plus INFO("backend ...")
//     auto& s = b.conversations();     // the interface, on SQLite files or a PostgreSQL database
//
// SQLite: fresh files in a temporary directory. PostgreSQL: a fresh, migrated database on the
// test cluster (tests/support/pg_server.hpp). The stores are opened through store/open.hpp,
// as memoryd opens them. tables() reads and rigs the tables behind a store directly, for what
// the interface cannot show (that a call changed nothing, which tables hold a user's rows).
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/conversation_store.hpp"
#include "store/memory_store.hpp"

#define FOR_EACH_BACKEND(var)                                                                 \
  memoryd::testing::store_backend var(GENERATE(values<std::string>({"sqlite", "postgres"}))); \
  INFO("backend " << var.name())

namespace memoryd::testing {

// SQL on the database behind a store, beside the store. SQL given here must mean the same on
// both backends (plain SELECT, count(*), ...).
class tables {
 public:
  virtual ~tables() = default;
  // Every row of `sql`, every column as text (NULL as "NULL").
  virtual std::vector<std::vector<std::string>> rows(const std::string& sql) = 0;
  virtual void exec(const std::string& sql) = 0;
  // The tables with a column of this name, sorted by name.
  virtual std::vector<std::string> with_column(const std::string& column) = 0;
  // From now on an INSERT into `table` whose `column` is `value` fails inside the store's
  // transaction (a trigger); allow(table) ends that.
  virtual void refuse(const std::string& table, const std::string& column,
                      const std::string& value) = 0;
  virtual void allow(const std::string& table) = 0;

  std::string one(const std::string& sql);     // the single value of `sql`
  std::int64_t count(const std::string& sql);  // the single value, as a number
  std::string dump(const std::string& table);  // every row, every column, in key order
  // Rows of `user` in each table with a user_id column (tables added later are covered too);
  // tables without any are left out.
  std::map<std::string, std::int64_t> rows_of(const std::string& user);
};

class store_backend {
 public:
  // "sqlite" or "postgres"; synchronous: SQLite's mode (full | normal).
  explicit store_backend(const std::string& name, const std::string& synchronous = "full");
  ~store_backend();
  store_backend(const store_backend&) = delete;
  store_backend& operator=(const store_backend&) = delete;

  const std::string& name() const;
  bool postgres() const;

  conversation_store& conversations();  // opened on first use
  memory_store& memory();
  // Closes the store and opens it again on the same files / database.
  conversation_store& reopen_conversations(const std::string& synchronous = "full");
  memory_store& reopen_memory();

  tables& conversation_tables();
  tables& memory_tables();  // PostgreSQL: the same database as conversation_tables()

  // messages and user_queue as text: equal before and after a call that changed nothing.
  std::string queue_state();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd::testing
