#include "store/sqlite/database.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <thread>

namespace memoryd::sqlite {

namespace {

[[noreturn]] void throw_error(sqlite3* db, int rc, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw error(rc & 0xff, msg);
}

void check(sqlite3* db, int rc, std::string_view context) {
  if (rc != SQLITE_OK) throw_error(db, rc, context);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

bool error::busy() const { return code_ == SQLITE_BUSY || code_ == SQLITE_LOCKED; }

// ---------------------------------------------------------------------------------------
// statement

statement::statement(sqlite3* db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    throw_error(db_, rc, "prepare `" + std::string(sql) + "`");
  }
  if (!stmt_) throw error(SQLITE_MISUSE, "prepare: empty statement `" + std::string(sql) + "`");
}

statement::~statement() { sqlite3_finalize(stmt_); }

statement& statement::bind(int i, std::int64_t v) {
  check(db_, sqlite3_bind_int64(stmt_, i, v), "bind");
  return *this;
}

statement& statement::bind(int i, double v) {
  check(db_, sqlite3_bind_double(stmt_, i, v), "bind");
  return *this;
}

statement& statement::bind(int i, std::string_view v) {
  // A non-null pointer even for an empty view: binds '' rather than NULL.
  const char* data = v.data() ? v.data() : "";
  check(db_, sqlite3_bind_text64(stmt_, i, data, v.size(), SQLITE_TRANSIENT, SQLITE_UTF8), "bind");
  return *this;
}

statement& statement::bind_null(int i) {
  check(db_, sqlite3_bind_null(stmt_, i), "bind");
  return *this;
}

bool statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string context = "step `";
  context += sqlite3_sql(stmt_);
  context += "`";
  std::string msg = context + ": " + sqlite3_errmsg(db_);
  sqlite3_reset(stmt_);
  throw error(rc & 0xff, msg);
}

void statement::exec() {
  while (step()) {
  }
  sqlite3_reset(stmt_);
}

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t statement::col_int(int i) const { return sqlite3_column_int64(stmt_, i); }

double statement::col_double(int i) const { return sqlite3_column_double(stmt_, i); }

std::string statement::col_text(int i) const {
  const unsigned char* p = sqlite3_column_text(stmt_, i);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
}

std::string_view statement::col_view(int i) const {
  const unsigned char* p = sqlite3_column_text(stmt_, i);
  if (!p) return {};
  return {reinterpret_cast<const char*>(p),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))};
}

bool statement::col_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

// ---------------------------------------------------------------------------------------
// database

database::database(const std::string& path, const std::string& synchronous, int busy_timeout_ms,
                   bool one_thread) {
  const std::string sync = lower(synchronous);
  if (sync != "full" && sync != "normal")
    throw std::invalid_argument("sqlite: synchronous must be full or normal, got '" + synchronous +
                                "'");
  int rc = sqlite3_open_v2(
      path.c_str(), &db_,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | (one_thread ? SQLITE_OPEN_NOMUTEX : 0), nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    throw error(rc & 0xff, msg);
  }
  try {
    check(db_, sqlite3_busy_timeout(db_, busy_timeout_ms), "busy_timeout");
    const bool in_memory = path == ":memory:" || path.empty();
    std::string mode = lower(scalar_text("PRAGMA journal_mode=WAL"));
    if (!in_memory && mode != "wal")
      throw error(SQLITE_ERROR, "open " + path + ": cannot enable WAL (journal_mode=" + mode + ")");
    exec("PRAGMA synchronous=" + sync);
    exec("PRAGMA foreign_keys=ON");
    // Deleted content is overwritten with zeros (cells, freed pages, overflow pages), so an
    // erasure leaves no readable bytes once the WAL is checkpointed and truncated (DESIGN §2.9,
    // docs/SECURITY.md). ON, not FAST: FAST leaves freelist pages unscrubbed.
    exec("PRAGMA secure_delete=ON");
    in_memory_ = in_memory;
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

database::~database() {
  cache_.clear();  // finalize every cached statement before the connection closes
  sqlite3_close_v2(db_);
}

void database::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = "exec `" + s + "`: " + (err ? err : sqlite3_errmsg(db_));
    sqlite3_free(err);
    throw error(rc & 0xff, msg);
  }
}

std::int64_t database::scalar_int(std::string_view sql) {
  statement st(db_, sql);
  return st.step() ? st.col_int(0) : 0;
}

std::string database::scalar_text(std::string_view sql) {
  statement st(db_, sql);
  return st.step() ? st.col_text(0) : std::string{};
}

int database::changes() const { return sqlite3_changes(db_); }

statement& database::cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(sql, std::make_unique<statement>(db_, sql)).first;
  return *it->second;
}

void database::migrate(const std::vector<std::string_view>& migrations) {
  const auto version = scalar_int("PRAGMA user_version");
  if (version > static_cast<std::int64_t>(migrations.size()))
    throw error(SQLITE_ERROR, "migrate: database schema version " + std::to_string(version) +
                                  " is newer than this memoryd (" +
                                  std::to_string(migrations.size()) +
                                  "): upgrade memoryd or restore a backup");
  for (auto i = static_cast<std::size_t>(version); i < migrations.size(); ++i) {
    transaction tx(*this);
    exec(migrations[i]);
    exec("PRAGMA user_version=" + std::to_string(i + 1));
    tx.commit();
  }
}

int database::truncate_wal(std::chrono::milliseconds budget) {
  if (in_memory_) return 0;
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (;;) {
    int wal_frames = 0, copied = 0;
    // The busy handler (busy_timeout) waits for readers; a checkpoint running on another
    // connection (the background checkpointer) makes this one answer SQLITE_BUSY at once,
    // hence the loop.
    const int rc =
        sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &wal_frames, &copied);
    if (rc == SQLITE_OK) return copied;
    if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
      throw error(rc & 0xff, std::string("wal checkpoint (truncate): ") + sqlite3_errmsg(db_));
    if (std::chrono::steady_clock::now() >= deadline)
      throw error(SQLITE_BUSY, "wal checkpoint (truncate): still busy after " +
                                   std::to_string(budget.count()) + " ms");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// ---------------------------------------------------------------------------------------
// transaction

transaction::transaction(database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

transaction::~transaction() {
  if (done_) return;
  try {
    db_.exec("ROLLBACK");
  } catch (...) {
    // Nothing sensible to do in a destructor; SQLite may already have rolled back.
  }
}

void transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

read_transaction::~read_transaction() {
  try {
    db_.exec("COMMIT");
  } catch (...) {  // a read-only transaction has nothing to lose
  }
}

}  // namespace memoryd::sqlite
