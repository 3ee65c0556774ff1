// Routes without a request: patterns, matching, target parsing and allowed methods.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <utility>

#include "http/routes.hpp"

using namespace memoryd;
namespace http = boost::beast::http;

namespace {

constexpr route kRoutes[] = {
    route::twilio,           route::sms,
    route::messages,         route::user,
    route::user_messages,    route::user_facts,
    route::user_fact,        route::processor_run,
    route::processor_status, route::processor_retry,
    route::healthz,          route::readyz,
    route::metrics,
};

// The pattern as a request would spell it: {id} and {fact_id} filled in.
std::string path_of(route r) {
  std::string p = pattern_of(r);
  for (auto [hole, value] : {std::pair{"{id}", "u"}, std::pair{"{fact_id}", "f-1"}}) {
    auto at = p.find(hole);
    if (at != std::string::npos) p.replace(at, std::string(hole).size(), value);
  }
  return p;
}

}  // namespace

TEST_CASE("routes: every pattern is matched back to its route") {
  for (route r : kRoutes) {
    const std::string path = path_of(r);
    INFO(path);
    auto t = parse_target(path + "?x=1");
    REQUIRE(t.has_value());
    CHECK(t->r == r);
    CHECK(std::string(allowed_methods(r)) != "");
  }
  CHECK(std::string(pattern_of(route::none)) == "other");
}

TEST_CASE("routes: unknown paths match no route") {
  for (const char* path :
       {"/nope", "/dashboard/a/b", "/dashboardx", "/healthz/extra", "/v1", "/v1/users", "/v1/processor", "/v1/users/u/unknown",
        "/v1/users/u/facts/f-1/extra", "/webhooks", "/V1/messages", "/sms/"}) {
    INFO(path);
    auto t = parse_target(path);
    REQUIRE(t.has_value());
    CHECK(t->r == route::none);
  }
}

TEST_CASE("routes: targets are decoded per segment") {
  auto t = parse_target("/v1/users/a%2Fb/facts/%2B1?include=history");
  REQUIRE(t.has_value());
  CHECK(t->r == route::user_fact);
  REQUIRE(t->seg.size() == 5);
  CHECK(t->seg[2] == "a/b");
  CHECK(t->seg[4] == "+1");
  CHECK(std::string(t->url.query()) == "include=history");
  // Not origin-form: no route at all, and the handler answers 400.
  CHECK_FALSE(parse_target("http://example.com/healthz").has_value());
  CHECK_FALSE(parse_target("*").has_value());
  CHECK_FALSE(parse_target("").has_value());
}

TEST_CASE("routes: methods are allowed as the Allow header lists them") {
  CHECK(std::string(allowed_methods(route::user_facts)) == "GET, POST");
  CHECK(method_allowed(route::user_facts, http::verb::get));
  CHECK(method_allowed(route::user_facts, http::verb::post));
  CHECK_FALSE(method_allowed(route::user_facts, http::verb::put));
  CHECK(method_allowed(route::user_fact, http::verb::delete_));
  CHECK_FALSE(method_allowed(route::user_fact, http::verb::get));
  CHECK_FALSE(method_allowed(route::messages, http::verb::get));
  CHECK_FALSE(method_allowed(route::healthz, http::verb::head));
  CHECK_FALSE(method_allowed(route::none, http::verb::get));
  CHECK(std::string(allowed_methods(route::none)).empty());
}
