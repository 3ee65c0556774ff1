#include "tests/store/backends.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include "store/open.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/schema.hpp"
#include "store/sqlite/conversation_store.hpp"
#include "store/sqlite/memory_store.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace memoryd::testing {

std::string tables::one(const std::string& sql) {
  auto r = rows(sql);
  INFO(sql);
  REQUIRE(r.size() == 1);
  REQUIRE(r[0].size() == 1);
  return r[0][0];
}

std::int64_t tables::count(const std::string& sql) { return std::stoll(one(sql)); }

std::string tables::dump(const std::string& table) {
  std::string out;
  for (const auto& row : rows("SELECT * FROM " + table + " ORDER BY 1")) {
    for (std::size_t i = 0; i < row.size(); ++i) out += row[i] + (i + 1 < row.size() ? "|" : "\n");
  }
  return out;
}

std::map<std::string, std::int64_t> tables::rows_of(const std::string& user) {
  std::map<std::string, std::int64_t> out;
  for (const auto& table : with_column("user_id")) {
    // user ids in these tests are plain words: no quoting needed beyond the quotes
    const auto n = count("SELECT count(*) FROM " + table + " WHERE user_id = '" + user + "'");
    if (n > 0) out[table] = n;
  }
  return out;
}

namespace {

class sqlite_tables final : public tables {
 public:
  explicit sqlite_tables(sqlite::database& db) : db_(db) {}

  std::vector<std::vector<std::string>> rows(const std::string& sql) override {
    sqlite3_stmt* st = nullptr;
    INFO(sql << ": " << sqlite3_errmsg(db_.handle()));
    REQUIRE(sqlite3_prepare_v2(db_.handle(), sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::vector<std::vector<std::string>> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* v = sqlite3_column_text(st, i);
        row.emplace_back(v ? reinterpret_cast<const char*>(v) : "NULL");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    REQUIRE(rc == SQLITE_DONE);
    return out;
  }

  void exec(const std::string& sql) override { db_.exec(sql); }

  std::vector<std::string> with_column(const std::string& column) override {
    std::vector<std::string> out;
    for (auto& r : rows("SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c "
                        "WHERE m.type = 'table' AND c.name = '" +
                        column + "' ORDER BY m.name"))
      out.push_back(r[0]);
    return out;
  }

  void refuse(const std::string& table, const std::string& column,
              const std::string& value) override {
    db_.exec("CREATE TEMP TRIGGER refuse_" + table + " BEFORE INSERT ON " + table + " WHEN NEW." +
             column + " = '" + value + "' BEGIN SELECT RAISE(ABORT, 'refused'); END");
  }

  void allow(const std::string& table) override { db_.exec("DROP TRIGGER refuse_" + table); }

 private:
  sqlite::database& db_;
};

class pg_tables final : public tables {
 public:
  explicit pg_tables(const std::string& url) : c_(url) {}
  pg::connection& connection() { return c_; }

  std::vector<std::vector<std::string>> rows(const std::string& sql) override {
    auto r = c_.exec(sql, {});
    std::vector<std::vector<std::string>> out;
    for (int i = 0; i < r.rows(); ++i) {
      std::vector<std::string> row;
      for (int k = 0; k < r.columns(); ++k) row.push_back(r.is_null(i, k) ? "NULL" : r.text(i, k));
      out.push_back(std::move(row));
    }
    return out;
  }

  void exec(const std::string& sql) override { c_.exec(sql); }

  std::vector<std::string> with_column(const std::string& column) override {
    std::vector<std::string> out;
    for (auto& r : rows("SELECT c.table_name FROM information_schema.columns c "
                        "JOIN information_schema.tables t USING (table_schema, table_name) "
                        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
                        "AND c.column_name = '" +
                        column + "' ORDER BY c.table_name"))
      out.push_back(r[0]);
    return out;
  }

  void refuse(const std::string& table, const std::string& column,
              const std::string& value) override {
    c_.exec("CREATE FUNCTION refuse_" + table +
            "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW." + column + " = '" + value +
            "' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$; CREATE TRIGGER refuse_" +
            table + " BEFORE INSERT ON " + table + " FOR EACH ROW EXECUTE FUNCTION refuse_" +
            table + "()");
  }

  void allow(const std::string& table) override {
    c_.exec("DROP TRIGGER refuse_" + table + " ON " + table + "; DROP FUNCTION refuse_" + table +
            "()");
  }

 private:
  pg::connection c_;
};

}  // namespace

struct store_backend::impl {
  std::string name;
  std::string synchronous;
  std::unique_ptr<temp_dir> dir;  // SQLite
  std::string url;                // PostgreSQL
  std::shared_ptr<conversation_store> conversations;
  std::shared_ptr<memory_store> memory;
  std::unique_ptr<tables> conversation_tables, memory_tables;

  storage_options options() const {
    storage_options o;
    o.backend = name;
    o.database_url = url;
    if (dir) {
      o.conversation_db = dir->file("conversation.db");
      o.memory_db = dir->file("memory.db");
    }
    o.synchronous = synchronous;
    return o;
  }
};

store_backend::store_backend(const std::string& name, const std::string& synchronous)
    : impl_(std::make_unique<impl>()) {
  impl_->name = name;
  impl_->synchronous = synchronous;
  if (name == "sqlite") {
    impl_->dir = std::make_unique<temp_dir>();
  } else if (name == "postgres") {
    impl_->url = fresh_pg_database();
    auto t = std::make_unique<pg_tables>(impl_->url);
    pg::migrate(t->connection());
    impl_->conversation_tables = std::move(t);
  } else {
    throw std::invalid_argument("no store backend " + name);
  }
}

store_backend::~store_backend() {
  impl_->conversation_tables.reset();
  impl_->memory_tables.reset();
  impl_->conversations.reset();
  impl_->memory.reset();
  if (postgres()) drop_pg_database(impl_->url);
}

const std::string& store_backend::name() const { return impl_->name; }
bool store_backend::postgres() const { return impl_->name == "postgres"; }

conversation_store& store_backend::conversations() {
  if (!impl_->conversations) impl_->conversations = open_conversation_store(impl_->options());
  return *impl_->conversations;
}

memory_store& store_backend::memory() {
  if (!impl_->memory) impl_->memory = open_memory_store(impl_->options());
  return *impl_->memory;
}

conversation_store& store_backend::reopen_conversations(const std::string& synchronous) {
  if (!postgres()) impl_->conversation_tables.reset();  // it used the store's connection
  impl_->conversations.reset();
  impl_->synchronous = synchronous;
  return conversations();
}

memory_store& store_backend::reopen_memory() {
  if (!postgres()) impl_->memory_tables.reset();
  impl_->memory.reset();
  return memory();
}

tables& store_backend::conversation_tables() {
  if (!impl_->conversation_tables)  // SQLite: the store's own connection, as the store sees it
    impl_->conversation_tables = std::make_unique<sqlite_tables>(
        dynamic_cast<sqlite::conversation_store&>(conversations()).db());
  return *impl_->conversation_tables;
}

tables& store_backend::memory_tables() {
  if (postgres()) return conversation_tables();
  if (!impl_->memory_tables)
    impl_->memory_tables =
        std::make_unique<sqlite_tables>(dynamic_cast<sqlite::memory_store&>(memory()).db());
  return *impl_->memory_tables;
}

std::string store_backend::queue_state() {
  auto& t = conversation_tables();
  return t.dump("messages") + "--\n" + t.dump("user_queue");
}

}  // namespace memoryd::testing
