// memoryd on PostgreSQL from the command line: `memoryd migrate`, and the start-up errors a
// database URL can give (exit 2 naming the key for a bad value, exit 1 with the server's
// error when it cannot be reached, never a hang).
#include <catch2/catch.hpp>

#include <chrono>

#include "tests/support/memoryd_service.hpp"
#include "tests/support/pg_server.hpp"

using namespace memoryd::testing;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> pg_env(const temp_dir& dir, const std::string& url) {
  auto env = env_for(dir);
  env["MEMORYD_STORAGE"] = "postgres";
  env["DATABASE_URL"] = url;
  return env;
}

}  // namespace

TEST_CASE("memoryd migrate applies the PostgreSQL schema once", "[pg]") {
  temp_dir dir;
  const auto env = pg_env(dir, fresh_pg_database());
  auto first = run_command({binary, "migrate"}, env);
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK_THAT(first.out, Catch::StartsWith(R"({"backend":"postgres","applied":)"));
  CHECK(first.out.find(R"("applied":0)") == std::string::npos);
  auto second = run_command({binary, "migrate"}, env);
  CHECK(second.exit_code == 0);
  CHECK(second.out.find(R"("applied":0)") != std::string::npos);
}

TEST_CASE("memoryd migrate on SQLite opens and migrates the files", "[pg]") {
  temp_dir dir;
  auto r = run_command({binary, "migrate"}, env_for(dir));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "{\"backend\":\"sqlite\",\"applied\":0,\"version\":0}\n");
}

TEST_CASE("a bad or missing database URL is a config error naming the key", "[pg]") {
  temp_dir dir;
  for (const std::string url : {"", "mysql://localhost/x", "postgresql://localhost:port/x"}) {
    CAPTURE(url);
    auto env = pg_env(dir, url);
    for (const char* cmd : {"migrate", "serve", "stats"}) {
      CAPTURE(cmd);
      auto r = run_command({binary, cmd}, env, "", 10s);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("storage.database_url") != std::string::npos);
    }
  }
  auto bad_backend = env_for(dir);
  bad_backend["MEMORYD_STORAGE"] = "mysql";
  auto r = run_command({binary, "migrate"}, bad_backend, "", 10s);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("storage.backend") != std::string::npos);
}

TEST_CASE("an unreachable PostgreSQL server is exit 1 with its error, not a hang", "[pg]") {
  temp_dir dir;
  // Nothing listens on port 1 of loopback: refused at once. The password must not be shown.
  const auto env = pg_env(dir, "postgresql://memoryd:s3cret-pw@127.0.0.1:1/memoryd");
  for (const char* cmd : {"migrate", "serve"}) {
    CAPTURE(cmd);
    const auto start = std::chrono::steady_clock::now();
    auto r = run_command({binary, cmd}, env, "", 20s);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("cannot connect") != std::string::npos);
    CHECK(r.err.find("s3cret-pw") == std::string::npos);
    CHECK(r.out.find("s3cret-pw") == std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < 10s);
  }
}
