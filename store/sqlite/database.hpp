// A thin RAII layer over the SQLite C API: a connection, prepared statements, transactions,
// numbered migrations. Errors throw sqlite::error with the SQLite result code.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace memoryd::sqlite {

class error : public std::runtime_error {
 public:
  error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }  // primary SQLite result code (SQLITE_BUSY, _FULL, ...)
  bool busy() const;                  // SQLITE_BUSY or SQLITE_LOCKED
 private:
  int code_;
};

class statement {
 public:
  statement(sqlite3* db, std::string_view sql);
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  // Binding is 1-based like SQLite's. Strings are copied (SQLITE_TRANSIENT).
  statement& bind(int i, std::int64_t v);
  statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  statement& bind(int i, double v);
  statement& bind(int i, std::string_view v);
  statement& bind(int i, const char* v) { return bind(i, std::string_view{v}); }
  statement& bind(int i, const std::string& v) { return bind(i, std::string_view{v}); }
  statement& bind_null(int i);

  bool step();   // true: a row is ready; false: done
  void exec();   // step to completion, then reset
  void reset();  // reset + clear bindings

  std::int64_t col_int(int i) const;
  double col_double(int i) const;
  std::string col_text(int i) const;
  // The text of a column without a copy: valid until the next step, reset or column call.
  std::string_view col_view(int i) const;
  bool col_null(int i) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// How a store opens its database file.
struct store_options {
  std::string path;                  // ":memory:" works for tests
  std::string synchronous = "full";  // full | normal
  int busy_timeout_ms = 5000;
};

class database {
 public:
  // Opens (creating) the file, WAL, the given synchronous mode, busy timeout, foreign keys.
  // `one_thread`: the connection is only ever used by one thread at a time, so SQLite's own
  // mutex on it is left out (SQLITE_OPEN_NOMUTEX; search readers).
  database(const std::string& path, const std::string& synchronous, int busy_timeout_ms,
           bool one_thread = false);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  void exec(std::string_view sql);  // one or more statements, no results
  statement prepare(std::string_view sql) { return statement(db_, sql); }
  // A prepared statement kept for the life of the connection, one per distinct SQL text.
  // Use it through statement_use so it is reset around each use.
  statement& cached(const std::string& sql);
  std::int64_t scalar_int(std::string_view sql);  // first column of first row
  std::string scalar_text(std::string_view sql);
  sqlite3* handle() { return db_; }
  int changes() const;

  // Applies migrations[i] for every i >= PRAGMA user_version, each in its own
  // transaction, and sets user_version to i + 1.
  void migrate(const std::vector<std::string_view>& migrations);

  // Copies the whole WAL into the database file and truncates the WAL to zero bytes, so that
  // page versions written before (an erased user's rows among them) are in no file any more.
  // Waits for readers and for a checkpoint already running for up to `budget`, then throws
  // sqlite::error (SQLITE_BUSY). Returns the number of WAL frames it copied. A no-op for
  // in-memory databases.
  int truncate_wal(std::chrono::milliseconds budget);

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<statement>> cache_;
  bool in_memory_ = false;
};

// Resets a cached statement on entry and on exit (also when an exception leaves the scope),
// so no statement keeps a read snapshot open.
class statement_use {
 public:
  explicit statement_use(statement& s) : s_(s) { s_.reset(); }
  ~statement_use() { s_.reset(); }
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;
  statement* operator->() { return &s_; }
  statement& operator*() { return s_; }

 private:
  statement& s_;
};

// BEGIN IMMEDIATE on construction, ROLLBACK in the destructor unless commit() ran.
class transaction {
 public:
  explicit transaction(database& db);
  ~transaction();
  void commit();

 private:
  database& db_;
  bool done_ = false;
};

// BEGIN (deferred) on construction, COMMIT in the destructor: the statements in between read
// one snapshot, held only as long as the object lives.
class read_transaction {
 public:
  explicit read_transaction(database& db) : db_(db) { db_.exec("BEGIN"); }
  ~read_transaction();
  read_transaction(const read_transaction&) = delete;
  read_transaction& operator=(const read_transaction&) = delete;

 private:
  database& db_;
};

}  // namespace memoryd::sqlite
