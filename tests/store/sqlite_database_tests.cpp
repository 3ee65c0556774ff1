// The SQLite layer under both stores (store/sqlite/database): pragmas, migrations,
// transactions, busy errors and version 7 UUIDs.
#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <stdexcept>
#include <string>

#include "core/uuid.hpp"
#include "store/sqlite/database.hpp"
#include "tests/support/temp_dir.hpp"

using namespace memoryd;
using memoryd::testing::temp_dir;

TEST_CASE("sqlite database opens with WAL and the requested pragmas", "[store][sqlite]") {
  temp_dir dir;
  sqlite::database db(dir.file("x.db"), "normal", 1234);
  CHECK(db.scalar_text("PRAGMA journal_mode") == "wal");
  CHECK(db.scalar_int("PRAGMA synchronous") == 1);  // NORMAL
  CHECK(db.scalar_int("PRAGMA foreign_keys") == 1);
  CHECK(db.scalar_int("PRAGMA busy_timeout") == 1234);
  sqlite::database full(dir.file("y.db"), "full", 10);
  CHECK(full.scalar_int("PRAGMA synchronous") == 2);  // FULL
}

TEST_CASE("sqlite database rejects an unknown synchronous mode", "[store][sqlite]") {
  temp_dir dir;
  try {
    sqlite::database db(dir.file("x.db"), "sometimes", 10);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("sometimes") != std::string::npos);
  }
}

TEST_CASE("sqlite migrate applies each migration once and sets user_version", "[store][sqlite]") {
  temp_dir dir;
  const auto path = dir.file("m.db");
  {
    sqlite::database db(path, "full", 100);
    db.migrate({"CREATE TABLE a(x)", "INSERT INTO a VALUES (1)"});
    CHECK(db.scalar_int("PRAGMA user_version") == 2);
  }
  sqlite::database db(path, "full", 100);
  db.migrate({"CREATE TABLE a(x)", "INSERT INTO a VALUES (1)", "INSERT INTO a VALUES (2)"});
  CHECK(db.scalar_int("PRAGMA user_version") == 3);
  CHECK(db.scalar_int("SELECT count(*) FROM a") == 2);
  // A failing migration leaves the version where it was.
  CHECK_THROWS_AS(db.migrate({"CREATE TABLE a(x)", "INSERT INTO a VALUES (1)",
                              "INSERT INTO a VALUES (2)", "INSERT INTO nope VALUES (1)"}),
                  sqlite::error);
  CHECK(db.scalar_int("PRAGMA user_version") == 3);
}

TEST_CASE("sqlite transaction rolls back unless committed", "[store][sqlite]") {
  temp_dir dir;
  sqlite::database db(dir.file("t.db"), "full", 100);
  db.exec("CREATE TABLE a(x)");
  {
    sqlite::transaction tx(db);
    db.exec("INSERT INTO a VALUES (1)");
  }
  CHECK(db.scalar_int("SELECT count(*) FROM a") == 0);
  {
    sqlite::transaction tx(db);
    auto st = db.prepare("INSERT INTO a VALUES (?1)");
    st.bind(1, std::string("hello")).exec();
    tx.commit();
  }
  CHECK(db.scalar_text("SELECT x FROM a") == "hello");
}

TEST_CASE("sqlite error reports busy when another connection holds the write lock",
          "[store][sqlite]") {
  temp_dir dir;
  sqlite::database a(dir.file("b.db"), "full", 0);
  sqlite::database b(dir.file("b.db"), "full", 0);
  a.exec("CREATE TABLE t(x)");
  sqlite::transaction hold(a);
  try {
    sqlite::transaction tx(b);
    FAIL("no exception");
  } catch (const sqlite::error& e) {
    CHECK(e.busy());
  }
  try {
    b.exec("SELECT * FROM nope");
    FAIL("no exception");
  } catch (const sqlite::error& e) {
    CHECK_FALSE(e.busy());
  }
}

TEST_CASE("new_uuid returns distinct and increasing version 7 UUIDs", "[store][sqlite]") {
  std::set<std::string> seen;
  std::string previous;
  const auto before_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (int i = 0; i < 10000; ++i) {  // more than 4096: crosses the per-millisecond counter
    const auto u = new_uuid();
    REQUIRE(u.size() == 36);
    CHECK(u[8] == '-');
    CHECK(u[13] == '-');
    CHECK(u[14] == '7');
    CHECK(std::string("89ab").find(u[19]) != std::string::npos);
    CHECK(u > previous);  // same-length lower-case hex: string order is time order
    previous = u;
    seen.insert(u);
  }
  CHECK(seen.size() == 10000);
  // The first 48 bits are the Unix time in milliseconds.
  const auto first = *seen.begin();
  const auto ms = std::stoll(first.substr(0, 8) + first.substr(9, 4), nullptr, 16);
  CHECK(ms >= before_ms);
  CHECK(ms <= before_ms + 60000);
}
