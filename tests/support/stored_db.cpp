#include "tests/support/stored_db.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <filesystem>
#include <sstream>

#include "tests/support/pg_server.hpp"
#include "tests/support/ro_db.hpp"

namespace memoryd::testing {
namespace {

using row_list = std::vector<std::vector<std::string>>;

// ?1, ?2, ... as $1, $2, ... (the SQL of these tests has no '?' elsewhere).
std::string dollar_params(std::string sql) {
  for (std::size_t i = 0; i + 1 < sql.size(); ++i)
    if (sql[i] == '?' && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) sql[i] = '$';
  return sql;
}

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

}  // namespace

struct stored_db::impl {
  std::string conversation_db, memory_db;  // SQLite
  std::unique_ptr<pg_client> pg;           // PostgreSQL

  const std::string& file(stored where) const {
    return where == stored::conversations ? conversation_db : memory_db;
  }
};

stored_db::stored_db(const service_backend& backend, const temp_dir& dir)
    : impl_(std::make_unique<impl>()) {
  if (backend.postgres()) {
    for (const char* name : {"conversation.db", "memory.db"}) {
      INFO(name << " in the directory of a memoryd on PostgreSQL");
      CHECK_FALSE(std::filesystem::exists(dir.file(name)));
    }
    impl_->pg = std::make_unique<pg_client>(backend.url());
  } else {
    impl_->conversation_db = dir.file("conversation.db");
    impl_->memory_db = dir.file("memory.db");
  }
}

stored_db::~stored_db() = default;

row_list stored_db::rows(stored where, const std::string& sql,
                         const std::vector<std::string>& params) {
  if (impl_->pg) return impl_->pg->rows(dollar_params(sql), params);
  return ro_db(impl_->file(where)).rows(sql, params);
}

std::string stored_db::one(stored where, const std::string& sql,
                           const std::vector<std::string>& params) {
  auto r = rows(where, sql, params);
  INFO(sql);
  REQUIRE(r.size() == 1);
  REQUIRE(r[0].size() == 1);
  return r[0][0];
}

long long stored_db::count(stored where, const std::string& sql,
                           const std::vector<std::string>& params) {
  return std::stoll(one(where, sql, params));
}

std::vector<stored_message> stored_db::messages(const std::string& where_sql) {
  std::vector<stored_message> out;
  for (auto& r : rows(stored::conversations,
                      "SELECT id, user_id, role, content, channel, external_id, status, "
                      "last_error, attempts, lease_until, memory_processed_at FROM messages " +
                          (where_sql.empty() ? "" : "WHERE " + where_sql + " ") + "ORDER BY seq")) {
    stored_message m{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]};
    m.attempts = std::stoll(r[8]);
    m.lease_until = std::stoll(r[9]);
    m.memory_processed_at = std::stoll(r[10]);
    out.push_back(std::move(m));
  }
  return out;
}

std::map<std::string, long long> stored_db::messages_by_status() {
  std::map<std::string, long long> out;
  for (auto& r : rows(stored::conversations, "SELECT status, count(*) FROM messages GROUP BY 1"))
    out[r[0]] = std::stoll(r[1]);
  return out;
}

std::vector<std::string> stored_db::fact_texts(const std::string& status) {
  std::vector<std::string> out;
  // created_at, then id: insertion order on both (PostgreSQL's ord is not on SQLite).
  for (auto& r : rows(stored::memory,
                      "SELECT text FROM facts WHERE status = ?1 ORDER BY created_at, id", {status}))
    out.push_back(r[0]);
  return out;
}

namespace {

// The tables (and their columns) of one database: {table, column, declared type}.
row_list sqlite_columns(ro_db& db) {
  return db.rows(
      "SELECT m.name, c.name, c.type FROM sqlite_master m JOIN pragma_table_info(m.name) c "
      "WHERE m.type = 'table' AND m.sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY 1, 2");
}

constexpr const char* kPgColumns =
    "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
    "JOIN information_schema.tables t USING (table_schema, table_name) "
    "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' ORDER BY 1, 2";

// A column that can hold text: not a number or a time (a phone number's digits could appear
// in a millisecond timestamp by chance).
bool texty(const std::string& type) {
  std::string t;
  for (char ch : type) t += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return t.find("int") == std::string::npos && t.find("time") == std::string::npos &&
         t.find("real") == std::string::npos && t.find("double") == std::string::npos &&
         t.find("bool") == std::string::npos && t.find("numeric") == std::string::npos;
}

}  // namespace

std::map<std::string, long long> stored_db::rows_of(const std::string& user) {
  std::map<std::string, long long> out;
  auto add = [&](const row_list& columns, auto&& count_of) {
    for (auto& c : columns) {
      if (c[1] != "user_id") continue;
      const auto n = count_of("SELECT count(*) FROM " + quoted(c[0]) + " WHERE user_id = ?1");
      if (n > 0) out[c[0]] += n;
    }
  };
  if (impl_->pg) {
    add(impl_->pg->rows(kPgColumns), [&](const std::string& sql) {
      return std::stoll(impl_->pg->rows(dollar_params(sql), {user}).at(0).at(0));
    });
    return out;
  }
  for (const auto& file : {impl_->conversation_db, impl_->memory_db}) {
    ro_db db(file);
    add(sqlite_columns(db),
        [&](const std::string& sql) { return std::stoll(db.one(sql, {user})); });
  }
  return out;
}

std::string stored_db::describe(const std::map<std::string, long long>& rows) {
  std::string out;
  for (const auto& [table, n] : rows)
    out += (out.empty() ? "" : ", ") + table + " x" + std::to_string(n);
  return out;
}

std::vector<std::string> stored_db::mentions(const std::string& needle) {
  std::string lower;
  for (char ch : needle) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::vector<std::string> out;
  auto scan = [&](const row_list& columns, auto&& count_of, const std::string& as_text) {
    for (auto& c : columns) {
      if (!texty(c[2])) continue;
      const auto n = count_of("SELECT count(*) FROM " + quoted(c[0]) + " WHERE strpos(lower(" +
                              quoted(c[1]) + as_text + "), ?1) > 0");
      if (n > 0) out.push_back(c[0] + "." + c[1] + " x" + std::to_string(n));
    }
  };
  if (impl_->pg) {
    scan(
        impl_->pg->rows(kPgColumns),
        [&](const std::string& sql) {
          return std::stoll(impl_->pg->rows(dollar_params(sql), {lower}).at(0).at(0));
        },
        "::text");
    return out;
  }
  for (const auto& file : {impl_->conversation_db, impl_->memory_db}) {
    ro_db db(file);
    // SQLite has instr(haystack, needle) where PostgreSQL has strpos: the same function here.
    scan(
        sqlite_columns(db),
        [&](std::string sql) {
          sql.replace(sql.find("strpos("), 7, "instr(");
          return std::stoll(db.one(sql, {lower}));
        },
        "");
  }
  return out;
}

void stored_db::check_no_duplicate_facts() {
  auto dup_facts =
      rows(stored::memory,
           "SELECT user_id, norm, count(*) FROM facts GROUP BY user_id, norm HAVING count(*) > 1");
  auto dup_adds = rows(stored::memory,
                       "SELECT user_id, new_text, count(*) FROM fact_events WHERE kind = 'add' "
                       "GROUP BY user_id, new_text HAVING count(*) > 1");
  std::ostringstream notes;
  for (auto& r : dup_facts)
    notes << "duplicate fact " << r[0] << " / " << r[1] << " x" << r[2] << "\n";
  for (auto& r : dup_adds) notes << "added twice " << r[0] << " / " << r[1] << " x" << r[2] << "\n";
  INFO(notes.str());
  CHECK(dup_facts.empty());
  CHECK(dup_adds.empty());
}

}  // namespace memoryd::testing
