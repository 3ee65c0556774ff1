// The storage backend under a test of the real binary (issue 15, "one contract, two
// backends"): the integration and reliability cases about the service's behaviour run once on
// SQLite files and once on a PostgreSQL database, from one body.
//
//   TEST_CASE("...") {
//     FOR_EACH_SERVICE_BACKEND(b);    // a service_backend named b, plus INFO("backend ...")
//     temp_dir dir;
//     service svc(dir, env_for(b, dir));  // tests/support/memoryd_service.hpp
//     ...
//     stored_db db(b, dir);           // what the service stored (tests/support/stored_db.hpp)
//
// SQLite: the files in the test's directory (env_for(dir)). PostgreSQL: a fresh, empty
// namespace on the test cluster (tests/support/pg_server.hpp), migrated by memoryd itself
// when it starts, dropped when the backend object goes away.
#pragma once

#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "tests/support/temp_dir.hpp"

#define FOR_EACH_SERVICE_BACKEND(var)                         \
  const memoryd::testing::service_backend var(                \
      GENERATE(values<std::string>({"sqlite", "postgres"}))); \
  INFO("backend " << var.name())

namespace memoryd::testing {

class service_backend {
 public:
  explicit service_backend(std::string name);  // "sqlite" or "postgres"
  ~service_backend();
  service_backend(const service_backend&) = delete;
  service_backend& operator=(const service_backend&) = delete;

  const std::string& name() const { return name_; }
  bool postgres() const { return name_ == "postgres"; }
  const std::string& url() const { return url_; }  // PostgreSQL: the namespace's URL

  // The storage settings of memoryd's environment. SQLite: the two files in `dir`.
  // PostgreSQL: MEMORYD_STORAGE=postgres and DATABASE_URL; the SQLite paths stay set, so a
  // memoryd that ignored the backend would leave files that stored_db notices.
  std::map<std::string, std::string> storage_env(const temp_dir& dir) const;

 private:
  std::string name_, url_;
};

}  // namespace memoryd::testing
