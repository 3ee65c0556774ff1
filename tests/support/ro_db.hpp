// A read-only SQLite connection for tests that inspect memoryd's files from outside (after a
// crash, a stop, a fault): nothing is written, so the files stay as memoryd left them. Checks
// that hold on both backends read through stored_db (tests/support/stored_db.hpp).
#pragma once

#include <sqlite3.h>

#include <catch2/catch.hpp>

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

}  // namespace memoryd::testing
