// The PostgreSQL layer against the test cluster (tests/support/pg_server.hpp): libpq errors,
// URL checks and the migrations under their advisory lock.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "store/postgres/connection.hpp"
#include "store/postgres/schema.hpp"
#include "tests/support/pg_server.hpp"

using namespace memoryd;
using namespace std::chrono_literals;

TEST_CASE("pg: migrations apply once and record their versions", "[pg]") {
  pg::connection c(testing::fresh_pg_database());
  CHECK(pg::schema_version(c) == 0);
  const int all = static_cast<int>(pg::migrations().size());
  CHECK(pg::migrate(c) == all);
  CHECK(pg::schema_version(c) == all);
  CHECK(pg::migrate(c) == 0);
  for (const char* table : {"messages", "user_queue", "facts", "fact_events", "applied_batches"}) {
    INFO(table);
    CHECK(c.exec(std::string("SELECT to_regclass('") + table + "') IS NOT NULL").get(0, 0) == "t");
  }
  // The advisory lock is not left behind.
  CHECK(
      c.exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
          .integer(0, 0) == 0);
}

TEST_CASE("pg: instances migrating at once do not race", "[pg]") {
  const std::string url = testing::fresh_pg_database();
  std::atomic<int> applied{0}, failed{0};
  std::vector<std::thread> instances;
  for (int i = 0; i < 4; ++i) {
    instances.emplace_back([&] {
      try {
        pg::connection c(url);
        applied += pg::migrate(c);
      } catch (const std::exception& e) {
        ++failed;
        UNSCOPED_INFO(e.what());
      }
    });
  }
  for (auto& t : instances) t.join();
  CHECK(failed == 0);
  CHECK(applied == static_cast<int>(pg::migrations().size()));
  pg::connection c(url);
  CHECK(c.exec("SELECT count(*) FROM memoryd_migrations").integer(0, 0) ==
        static_cast<std::int64_t>(pg::migrations().size()));
}

TEST_CASE("pg: errors carry the SQLSTATE, and a failed transaction changes nothing", "[pg]") {
  pg::connection c(testing::fresh_pg_database());
  pg::migrate(c);
  const std::vector<pg::param> row = {std::string("m-1"), std::string("u"), std::string("x"),
                                      std::nullopt};
  const std::string insert =
      "INSERT INTO messages (id, user_id, role, content, external_id, created_at, status) "
      "VALUES ($1, $2, 'user', $3, $4, 1, 'pending')";
  c.exec(insert, row);
  try {
    pg::transaction tx(c);
    c.exec(insert, {std::string("m-2"), std::string("u"), std::string("y"), std::nullopt});
    c.exec(insert, row);  // the same id: unique violation
    tx.commit();
    FAIL("no error");
  } catch (const pg::error& e) {
    CHECK(e.sqlstate() == "23505");
    CHECK_FALSE(e.connection_lost());
  }
  CHECK(c.exec("SELECT count(*) FROM messages").integer(0, 0) == 1);
  // NULL parameters and values round-trip.
  auto r =
      c.exec("SELECT external_id, created_at FROM messages WHERE id = $1", {std::string("m-1")});
  REQUIRE(r.rows() == 1);
  CHECK(r.is_null(0, 0));
  CHECK(r.integer(0, 1) == 1);
  // Prepared statements are prepared once per connection and reused.
  for (int i = 0; i < 3; ++i)
    CHECK(c.exec_prepared("count_user", "SELECT count(*) FROM messages WHERE user_id = $1",
                          {std::string("u")})
              .integer(0, 0) == 1);
}

TEST_CASE("pg: database URLs are checked before connecting", "[pg]") {
  CHECK(pg::url_problem("postgresql://memoryd:secret@db.example:5432/memoryd").empty());
  CHECK(pg::url_problem("postgres://localhost/memoryd?sslmode=require").empty());
  CHECK_FALSE(pg::url_problem("").empty());
  CHECK_FALSE(pg::url_problem("mysql://localhost/x").empty());
  CHECK_FALSE(pg::url_problem("host=localhost dbname=x").empty());  // keyword form: not a URI
  CHECK_FALSE(pg::url_problem("postgresql://localhost:notaport/x").empty());
  CHECK_FALSE(pg::url_problem("postgresql://localhost/x?nosuchoption=1").empty());
}

TEST_CASE("pg: an unreachable server fails fast with the reason", "[pg]") {
  const auto start = std::chrono::steady_clock::now();
  try {
    pg::connection c("postgresql://postgres@127.0.0.1:1/postgres", 2s);
    FAIL("connected");
  } catch (const pg::error& e) {
    CHECK(e.connection_lost());
    CHECK(std::string(e.what()).find("cannot connect") != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}
