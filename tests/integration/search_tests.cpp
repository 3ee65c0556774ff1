// Search and the memory block through the real binary, on both backends: facts the processor
// extracts are searchable at once, the read scope guards both routes, and `memoryd search`
// ranks as the route does.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "tests/support/memoryd_service.hpp"

using namespace memoryd::testing;
namespace json = boost::json;

namespace {

std::vector<std::string> found(std::uint16_t port, const std::string& target,
                               const std::map<std::string, std::string>& headers = {}) {
  auto r = http_request(port, "GET", target, "", "", headers);
  REQUIRE(r.status == 200);
  std::vector<std::string> out;
  const auto doc = json::parse(r.body);
  for (auto& f : doc.at("results").as_array()) out.emplace_back(f.at("text").as_string().c_str());
  return out;
}

}  // namespace

TEST_CASE("extracted facts are searchable once the cycle has written them") {
  FOR_EACH_SERVICE_BACKEND(b);
  temp_dir dir;
  auto env = env_for(b, dir);
  service svc(dir, env);
  CHECK(found(svc.port, "/v1/users/ana/facts/search?q=dog").empty());
  http_request(svc.port, "POST", "/v1/messages",
               R"({"messages":[{"user_id":"ana","role":"user","content":"I have a dog named Max."},
                   {"user_id":"ana","role":"user","content":"I live in Boston."}]})",
               "application/json");
  REQUIRE(http_request(svc.port, "POST", "/v1/processor/run", "", "application/json").status ==
          200);
  auto hits = found(svc.port, "/v1/users/ana/facts/search?q=What%20is%20her%20dog%20called%3F");
  REQUIRE_FALSE(hits.empty());
  CHECK(hits[0].find("dog") != std::string::npos);
  CHECK(found(svc.port, "/v1/users/ana/facts/search?q=boston&limit=1").size() == 1);
  CHECK(http_request(svc.port, "GET", "/v1/users/ana/facts/search").status == 400);

  auto ctx = http_request(svc.port, "GET", "/v1/users/ana/context?q=dog");
  REQUIRE(ctx.status == 200);
  auto doc = json::parse(ctx.body);
  CHECK(std::string(doc.at("text").as_string().c_str()).rfind("- ", 0) == 0);
  CHECK(doc.at("facts").as_array().size() == 2);

  // The CLI ranks the same way, on the same database.
  svc.stop();
  auto cli = run_command({binary, "search", "ana", "dog", "--json"}, env);
  INFO(cli.err);
  REQUIRE(cli.exit_code == 0);
  CHECK(json::parse(cli.out).at("results").at(0).at("text").as_string() == hits[0].c_str());
  CHECK(run_command({binary, "search", "ana", "dog", "--limit", "0"}, env).exit_code == 2);
  CHECK(run_command({binary, "search", "ana"}, env).exit_code == 2);
}

// SQLite only: token scopes are the HTTP layer's.
TEST_CASE("search and context need the read scope") {
  temp_dir dir;
  auto env = env_for(dir);
  env["MEMORYD_API_TOKENS"] = "read:r-token,ingest:i-token";
  service svc(dir, env);
  for (const std::string target : {"/v1/users/u/facts/search?q=tea", "/v1/users/u/context"}) {
    INFO(target);
    CHECK(http_request(svc.port, "GET", target).status == 401);
    CHECK(http_request(svc.port, "GET", target, "", "", {{"Authorization", "Bearer i-token"}})
              .status == 403);
    CHECK(http_request(svc.port, "GET", target, "", "", {{"Authorization", "Bearer r-token"}})
              .status == 200);
  }
  CHECK(svc.stop() == 0);
}
