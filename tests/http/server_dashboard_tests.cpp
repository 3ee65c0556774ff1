// The dashboard and the processor lists over a real socket on 127.0.0.1 (DESIGN §7a): the page
// and every file it loads, their security headers, the redirect, the token, and the two /v1
// routes the dashboard needs. Handler-level details are in processor_routes_tests.cpp.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <string>

#include "http/dashboard.hpp"
#include "tests/http/server_fixture.hpp"

using namespace memoryd;
using namespace memoryd::testing;

namespace {

void check_hardened(http_response r) {
  INFO(r.body.substr(0, 200));
  CHECK(r.headers.count("content-security-policy") == 1);
  if (r.headers.count("content-security-policy")) {
    const auto& csp = r.headers.at("content-security-policy");
    CHECK(csp.find("default-src 'self'") != std::string::npos);
    CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(csp.find("unsafe-eval") == std::string::npos);
  }
  CHECK(r.headers["x-content-type-options"] == "nosniff");
  CHECK(r.headers["x-frame-options"] == "DENY");
  CHECK(r.headers.count("set-cookie") == 0);
}

// Every /dashboard/... file the page or a script refers to: link href, script src, img src, and
// the scripts' relative imports.
std::set<std::string> references(const std::string& text) {
  std::set<std::string> out;
  static const std::regex abs(R"re((?:href|src)="(/dashboard/[^"]+)")re");
  for (std::sregex_iterator i(text.begin(), text.end(), abs), end; i != end; ++i)
    out.insert((*i)[1]);
  static const std::regex rel(R"re(from '\./([^']+)')re");
  for (std::sregex_iterator i(text.begin(), text.end(), rel), end; i != end; ++i)
    out.insert("/dashboard/" + (*i)[1].str());
  return out;
}

}  // namespace

TEST_CASE("server: / redirects to the dashboard, which is served with strict headers") {
  fixture f;
  auto root = f.get("/");
  CHECK(root.status == 302);
  CHECK(root.headers["location"] == "/dashboard");

  auto page = f.get("/dashboard");
  REQUIRE(page.status == 200);
  CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
  CHECK(page.headers["content-security-policy"] == kDashboardCsp);
  check_hardened(page);
  // No inline script or style: the CSP would block them, and the page must not need them.
  CHECK(page.body.find("<script>") == std::string::npos);
  CHECK(page.body.find("<style") == std::string::npos);
  CHECK(page.body.find("style=") == std::string::npos);
  CHECK(std::regex_search(page.body, std::regex(R"( on[a-z]+=)")) == false);
  CHECK(page.body.find("content=\"none\"") != std::string::npos);  // no token configured
  CHECK(f.api->calls() == 0);  // the page itself asks the pipeline nothing
}

TEST_CASE("server: every file the dashboard loads is served, typed and hardened") {
  fixture f;
  std::set<std::string> seen, todo = references(f.get("/dashboard").body);
  REQUIRE(todo.count("/dashboard/app.js") == 1);
  REQUIRE(todo.count("/dashboard/style.css") == 1);
  // Follow the imports: app.js pulls in every page's module.
  for (int round = 0; round < 10 && !todo.empty(); ++round) {
    std::set<std::string> next;
    for (const auto& t : todo) {
      if (!seen.insert(t).second) continue;
      INFO(t);
      auto r = f.get(t);
      CHECK(r.status == 200);
      check_hardened(r);
      const auto ext = t.substr(t.rfind('.') + 1);
      if (ext == "js") CHECK(r.headers["content-type"] == "text/javascript; charset=utf-8");
      if (ext == "css") CHECK(r.headers["content-type"] == "text/css; charset=utf-8");
      if (ext == "svg") CHECK(r.headers["content-type"] == "image/svg+xml");
      for (const auto& n : references(r.body)) next.insert(n);
    }
    todo = std::move(next);
  }
  for (const char* page : {"/dashboard/overview.js", "/dashboard/dead.js", "/dashboard/user.js",
                           "/dashboard/processor.js", "/dashboard/charts.js", "/dashboard/api.js"})
    CHECK(seen.count(page) == 1);
  auto missing = f.get("/dashboard/missing.js");
  CHECK(missing.status == 404);
  check_hardened(missing);
  CHECK(f.get("/dashboard/../CMakeLists.txt").status == 404);
  CHECK(f.get("/dashboard/%2e%2e%2fCMakeLists.txt").status == 404);
  auto post = f.post_json("/dashboard", "{}");
  CHECK(post.status == 405);
  CHECK(post.headers["allow"] == "GET");
}

TEST_CASE("server: with a token the page is public, says a token is needed, /v1 is not") {
  auto opts = test_options();
  opts.api_token = "dash-token";
  fixture f(opts);
  auto page = f.get("/dashboard");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("content=\"required\"") != std::string::npos);
  CHECK(page.body.find("dash-token") == std::string::npos);
  CHECK(f.get("/dashboard/app.js").status == 200);
  for (const char* t : {"/v1/processor/status", "/v1/processor/dead", "/v1/processor/history"}) {
    INFO(t);
    check_error(f.get(t), 401, "unauthorized");
    auto ok = http_request(f.port, "GET", t, "", "", {{"Authorization", "Bearer dash-token"}});
    CHECK(ok.status == 200);
    CHECK(ok.headers["content-type"] == "application/json");
    CHECK(ok.headers.count("set-cookie") == 0);
  }
}

TEST_CASE("server: the dead letters page over loopback, with next_cursor followed to the end") {
  fixture f;
  for (std::int64_t seq = 5; seq >= 1; --seq) {
    stored_message m;
    m.seq = seq;
    m.id = "m" + std::to_string(seq);
    m.user_id = "+1555000000" + std::to_string(seq);
    m.channel = "sms";
    m.status = "dead";
    m.attempts = 3;
    m.last_error = "<img src=x onerror=alert(1)>";
    f.api->dead_result.push_back(m);
  }
  std::set<std::string> ids;
  std::string target = "/v1/processor/dead?limit=2";
  int pages = 0;
  for (; pages < 10; ++pages) {
    auto r = f.get(target);
    REQUIRE(r.status == 200);
    auto o = boost::json::parse(r.body).as_object();
    for (const auto& d : o.at("dead_letters").as_array()) {
      CHECK(ids.insert(std::string(d.at("id").as_string())).second);
      // JSON keeps the text as it was; rendering it as text is the page's job.
      CHECK(d.at("last_error").as_string() == "<img src=x onerror=alert(1)>");
    }
    if (o.at("next_cursor").is_null()) break;
    target = "/v1/processor/dead?limit=2&cursor=" + std::string(o.at("next_cursor").as_string());
  }
  CHECK(pages == 2);
  CHECK(ids == std::set<std::string>{"m1", "m2", "m3", "m4", "m5"});
  check_error(f.get("/v1/processor/dead?cursor=bogus"), 400, "invalid_parameter");
}

TEST_CASE("server: the processor history over loopback") {
  fixture f;
  history_sample s;
  s.at = 1000000;
  s.queue_known = true;
  s.pending = 4;
  s.processed = 9;
  f.api->history_window_result.now = 1000500;
  f.api->history_window_result.interval_ms = 10000;
  f.api->history_window_result.samples = {s};
  auto r = f.get("/v1/processor/history?window=15m");
  REQUIRE(r.status == 200);
  auto o = boost::json::parse(r.body).as_object();
  CHECK(o.at("window_ms").as_int64() == 900000);
  CHECK(o.at("series").at("pending").as_array().at(0).to_number<double>() == 4);
  CHECK(o.at("series").at("processed").as_array().at(0).to_number<double>() == 9);
  CHECK(f.api->history_windows() == std::vector<millis>{900000});
  check_error(f.get("/v1/processor/history?window=2d"), 400, "invalid_parameter");
}
