// A read-only SQLite connection for tests that inspect memoryd's files from outside (after a
// crash, a stop, a fault): nothing is written, so the files stay as memoryd left them. And the
// checks on those files that several suites make.
#pragma once

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace memoryd::testing {

class ro_db {
 public:
  explicit ro_db(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~ro_db() { sqlite3_close(db_); }
  ro_db(const ro_db&) = delete;
  ro_db& operator=(const ro_db&) = delete;

  // Every row of `sql` as text (NULL as ""), with `params` bound to ?1, ?2, ...
  std::vector<std::vector<std::string>> rows(const std::string& sql,
                                             const std::vector<std::string>& params = {}) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr);
    INFO(sql << ": " << sqlite3_errmsg(db_));
    REQUIRE(rc == SQLITE_OK);
    for (std::size_t i = 0; i < params.size(); ++i)
      sqlite3_bind_text(s, static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
    std::vector<std::vector<std::string>> out;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        auto* t = sqlite3_column_text(s, i);
        row.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(s);
    REQUIRE(rc == SQLITE_DONE);
    return out;
  }

  // The single value `sql` returns.
  std::string one(const std::string& sql, const std::vector<std::string>& params = {}) {
    auto r = rows(sql, params);
    REQUIRE(r.size() == 1);
    return r[0][0];
  }

 private:
  sqlite3* db_ = nullptr;
};

// No fact stored twice for a user (whatever its status), no text added twice: what a replayed
// extraction would leave in memory.db.
inline void check_no_duplicate_facts(const std::string& memory_db) {
  ro_db mem(memory_db);
  auto dup_facts = mem.rows(
      "SELECT user_id, norm, count(*) FROM facts GROUP BY user_id, norm HAVING count(*) > 1");
  auto dup_adds = mem.rows(
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
