// GET /v1/users/{id}/facts/search and GET /v1/users/{id}/context without a socket: parameters
// to requests, 400s naming the parameter, the JSON answers.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <optional>
#include <string>

#include "http/handlers.hpp"
#include "tests/http/fake_service.hpp"

using namespace memoryd;
using namespace memoryd::testing;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

response get(fake_api& api, const std::string& target) {
  request req{http::verb::get, target, 11};
  req.set(http::field::host, "memoryd.test");
  auto t = parse_target(req.target());
  std::optional<response> out;
  int replies = 0;
  handle_request(req, t, server_options{}, api, [&](response res) {
    ++replies;
    out = std::move(res);
  });
  REQUIRE(replies == 1);
  return std::move(*out);
}

void check_bad(fake_api& api, const std::string& target, const std::string& param) {
  INFO(target);
  auto r = get(api, target);
  CHECK(r.result_int() == 400);
  auto body = json::parse(r.body()).as_object();
  CHECK(body.at("error").at("code").as_string() == "invalid_parameter");
  CHECK(std::string(body.at("error").at("message").as_string()).rfind(param + ": ", 0) == 0);
}

fact sample_fact(const std::string& id, const std::string& text) {
  fact f;
  f.id = id;
  f.user_id = "u 1";
  f.text = text;
  f.category = "interests";
  f.status = "active";
  f.observed_at = f.created_at = f.updated_at = 7;
  return f;
}

}  // namespace

TEST_CASE("search: parameters reach the service, defaults, answer shape") {
  fake_api api;
  api.search_result = {{sample_fact("f1", "Likes green tea"), 2.345678}};
  auto r = get(api, "/v1/users/u%201/facts/search?q=green%20tea&limit=3&category=interests");
  REQUIRE(r.result_int() == 200);
  REQUIRE(api.searches().size() == 1);
  const auto q = api.searches()[0];
  CHECK(q.user_id == "u 1");
  CHECK(q.query == "green tea");
  CHECK(q.limit == 3);
  CHECK(q.category == "interests");
  auto body = json::parse(r.body()).as_object();
  CHECK(body.at("user_id").as_string() == "u 1");
  CHECK(body.at("query").as_string() == "green tea");
  auto results = body.at("results").as_array();
  REQUIRE(results.size() == 1);
  CHECK(results[0].at("id").as_string() == "f1");
  CHECK(results[0].at("text").as_string() == "Likes green tea");
  CHECK(results[0].at("score").as_double() == Approx(2.3457));

  get(api, "/v1/users/u/facts/search?q=tea");
  CHECK(api.searches().back().limit == default_search_limit);
  CHECK(api.searches().back().category.empty());
  get(api, "/v1/users/u/facts/search?q=tea&limit=100");
  CHECK(api.searches().back().limit == 100);
}

TEST_CASE("search: a missing, blank or bad parameter gets 400 and reaches nothing") {
  fake_api api;
  check_bad(api, "/v1/users/u/facts/search", "q");
  check_bad(api, "/v1/users/u/facts/search?q=", "q");
  check_bad(api, "/v1/users/u/facts/search?q=%20%20", "q");
  check_bad(api, "/v1/users/u/facts/search?q=" + std::string(1001, 'a'), "q");
  check_bad(api, "/v1/users/u/facts/search?q=%00tea", "q");
  check_bad(api, "/v1/users/u/facts/search?q=tea&limit=0", "limit");
  check_bad(api, "/v1/users/u/facts/search?q=tea&limit=101", "limit");
  check_bad(api, "/v1/users/u/facts/search?q=tea&limit=ten", "limit");
  check_bad(api, "/v1/users/u/facts/search?q=tea&category=hobbies", "category");
  CHECK(api.calls() == 0);
  CHECK(get(api, "/v1/users/u/facts/search?q=" + std::string(1000, 'a')).result_int() == 200);
  auto r = get(api, "/v1/users/u/context?q=tea");  // not a search route: no limit there
  CHECK(r.result_int() == 200);
}

TEST_CASE("search and context: only GET, service failures pass through") {
  fake_api api;
  request del{http::verb::delete_, "/v1/users/u/facts/search", 11};
  auto t = parse_target(del.target());
  std::optional<response> out;
  handle_request(del, t, server_options{}, api, [&](response res) { out = std::move(res); });
  REQUIRE(out);
  CHECK(out->result_int() == 405);
  CHECK(api.calls() == 0);
  api.failure = api_failure{503, "unavailable", "no search reader"};
  CHECK(get(api, "/v1/users/u/facts/search?q=tea").result_int() == 503);
  CHECK(get(api, "/v1/users/u/context").result_int() == 503);
}

TEST_CASE("context: parameters, defaults and answer shape") {
  fake_api api;
  api.context_result.text = "- Likes green tea\n- Lives in Oslo";
  api.context_result.facts = {{sample_fact("f1", "Likes green tea"), "relevant", 1.5},
                              {sample_fact("f2", "Lives in Oslo"), "recent", 0}};
  auto r = get(api, "/v1/users/u/context?q=tea&max_chars=500");
  REQUIRE(r.result_int() == 200);
  CHECK(api.contexts().back().query == "tea");
  CHECK(api.contexts().back().max_chars == 500);
  auto body = json::parse(r.body()).as_object();
  CHECK(body.at("text").as_string() == "- Likes green tea\n- Lives in Oslo");
  CHECK(body.at("query").as_string() == "tea");
  auto facts = body.at("facts").as_array();
  REQUIRE(facts.size() == 2);
  CHECK(facts[0].at("reason").as_string() == "relevant");
  CHECK(facts[0].at("score").as_double() == 1.5);
  CHECK(facts[1].at("reason").as_string() == "recent");
  CHECK_FALSE(facts[1].as_object().contains("score"));

  get(api, "/v1/users/u/context");
  CHECK(api.contexts().back().query.empty());
  CHECK(api.contexts().back().max_chars == default_context_chars);
  CHECK(json::parse(get(api, "/v1/users/u/context").body()).at("query").is_null());
  check_bad(api, "/v1/users/u/context?max_chars=0", "max_chars");
  check_bad(api, "/v1/users/u/context?max_chars=100001", "max_chars");
}
