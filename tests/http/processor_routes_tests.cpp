// GET /v1/processor/dead (keyset pages with an opaque cursor), GET /v1/processor/history, the
// dashboard's files and their headers: handle_request without a socket, over the fake service.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <optional>
#include <set>

#include "http/dashboard.hpp"
#include "http/handlers.hpp"
#include "http/page_cursor.hpp"
#include "http/processor_handlers.hpp"
#include "tests/http/fake_service.hpp"

using namespace memoryd;
using namespace memoryd::testing;
namespace http = boost::beast::http;

namespace {

response get(fake_api& api, const std::string& target, const server_options& opts = {},
             const std::string& token = {}) {
  request req{http::verb::get, target, 11};
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  auto t = parse_target(req.target());
  std::optional<response> out;
  handle_request(req, t, opts, api, [&](response r) { out = std::move(r); });
  REQUIRE(out);
  return std::move(*out);
}

stored_message dead(std::int64_t seq) {
  stored_message m;
  m.seq = seq;
  m.id = "m" + std::to_string(seq);
  m.user_id = "+1555000" + std::to_string(1000 + seq);
  m.channel = "sms";
  m.created_at = 1000 + seq;
  m.processed_at = 2000 + seq;
  m.attempts = 3;
  m.last_error = "boom <" + std::to_string(seq) + ">";
  m.status = "dead";
  return m;
}

boost::json::object body_of(const response& r) { return boost::json::parse(r.body()).as_object(); }

}  // namespace

TEST_CASE("dead letters page by cursor: every one once, next_cursor null on the last page") {
  fake_api api;
  for (std::int64_t seq = 12; seq >= 1; --seq) api.dead_result.push_back(dead(seq * 10));
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (; pages < 10; ++pages) {
    auto r = get(api, "/v1/processor/dead?limit=5" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.result_int() == 200);
    auto b = body_of(r);
    for (auto& d : b.at("dead_letters").as_array())
      seen.emplace_back(d.at("id").as_string().c_str());
    if (b.at("next_cursor").is_null()) break;
    cursor = b.at("next_cursor").as_string().c_str();
  }
  CHECK(pages == 2);  // 5 + 5 + 2
  REQUIRE(seen.size() == 12);
  CHECK(seen.front() == "m120");
  CHECK(seen.back() == "m10");
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 12);
  // The store is asked for one row more than the page, after the last key seen.
  auto q = api.dead_queries();
  REQUIRE(q.size() == 3);
  CHECK(q[0].limit == 6);
  CHECK(q[0].before_seq == 0);
  CHECK(q[1].before_seq == 80);
  CHECK(q[2].before_seq == 30);

  SECTION("a page that is exactly full has no next page") {
    auto r = get(api, "/v1/processor/dead?limit=12");
    CHECK(body_of(r).at("next_cursor").is_null());
    CHECK(body_of(r).at("dead_letters").as_array().size() == 12);
  }
  SECTION("fields") {
    auto d = body_of(get(api, "/v1/processor/dead?limit=1")).at("dead_letters").at(0).as_object();
    CHECK(d.at("user_id").as_string() == "+15550001120");
    CHECK(d.at("last_error").as_string() == "boom <120>");
    CHECK(d.at("attempts").as_int64() == 3);
    CHECK(d.at("created_at").as_int64() == 1120);
    CHECK(d.at("dead_at").as_int64() == 2120);
    CHECK(d.at("channel").as_string() == "sms");
  }
}

TEST_CASE("dead letters refuse a bad limit or a cursor that is not theirs") {
  fake_api api;
  for (const char* target : {"/v1/processor/dead?limit=0", "/v1/processor/dead?limit=1001",
                             "/v1/processor/dead?cursor=abc",
                             "/v1/processor/dead?cursor=", "/v1/processor/dead?limit=x"}) {
    INFO(target);
    auto r = get(api, target);
    CHECK(r.result_int() == 400);
    CHECK(r.body().find("invalid_parameter") != std::string::npos);
  }
  // A cursor of another list, or of the same list with one character changed.
  const auto other = page_cursor::encode("messages", "alice", 10);
  CHECK(get(api, "/v1/processor/dead?cursor=" + other).result_int() == 400);
  auto good = page_cursor::encode("dead", "", 10);
  CHECK(get(api, "/v1/processor/dead?cursor=" + good).result_int() == 200);
  good[3] = good[3] == 'A' ? 'B' : 'A';
  CHECK(get(api, "/v1/processor/dead?cursor=" + good).result_int() == 400);
  CHECK(api.dead_queries().size() == 1);
}

TEST_CASE("page cursors round-trip their key and are bound to their list and filters") {
  for (std::int64_t key : {std::int64_t{1}, std::int64_t{42}, std::int64_t{9007199254740993}}) {
    auto c = page_cursor::encode("messages", "alice|role=user", key);
    CHECK(c.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    CHECK(page_cursor::decode(c, "messages", "alice|role=user") == key);
    CHECK_FALSE(page_cursor::decode(c, "messages", "bob|role=user"));
    CHECK_FALSE(page_cursor::decode(c, "dead", "alice|role=user"));
  }
  CHECK_FALSE(page_cursor::decode("", "dead", ""));
  CHECK_FALSE(page_cursor::decode("!!!", "dead", ""));
  CHECK_FALSE(page_cursor::decode(std::string(300, 'A'), "dead", ""));
  // Two-part keys (a fact's created_at and seq) and one-part keys do not stand in for each
  // other.
  const page_cursor::key_pair pair{1700000000123, 77};
  auto two = page_cursor::encode("facts", "alice", pair);
  CHECK(page_cursor::decode_pair(two, "facts", "alice") == pair);
  CHECK_FALSE(page_cursor::decode_pair(two, "facts", "bob"));
  CHECK_FALSE(page_cursor::decode_pair(two, "events", "alice"));
  CHECK_FALSE(page_cursor::decode(two, "facts", "alice"));
  CHECK_FALSE(page_cursor::decode_pair(page_cursor::encode("facts", "alice", 5), "facts", "alice"));
  CHECK_FALSE(
      page_cursor::decode_pair(page_cursor::encode("facts", "alice", {0, 5}), "facts", "alice"));
}

TEST_CASE("processor history: columns per series, the window and its steps") {
  fake_api api;
  auto& w = api.history_window_result;
  w.now = 1000000;
  w.interval_ms = 10000;
  for (int i = 0; i < 4; ++i) {
    history_sample s;
    s.at = 960000 + i * 10000;
    s.queue_known = i != 1;
    s.pending = 10 - i;
    s.processed = static_cast<std::uint32_t>(i);
    s.extractions[kResultOk] = static_cast<std::uint32_t>(i);
    s.extractions[result_index(failure_kind::rate_limited)] = 1;
    s.latency[latency_bucket(0.5)] = static_cast<std::uint32_t>(i);
    w.samples.push_back(s);
  }
  auto r = get(api, "/v1/processor/history?window=15m");
  REQUIRE(r.result_int() == 200);
  CHECK(api.history_windows() == std::vector<millis>{900000});
  auto b = body_of(r);
  CHECK(b.at("interval_ms").as_int64() == 10000);
  CHECK(b.at("step_ms").as_int64() == 10000);
  CHECK(b.at("window_ms").as_int64() == 900000);
  auto& series = b.at("series").as_object();
  CHECK(series.at("at").as_array().size() == 4);
  CHECK(series.at("pending").as_array().at(1).is_null());  // the store did not answer
  CHECK(series.at("pending").as_array().at(2).as_int64() == 8);
  CHECK(series.at("processed").as_array().at(3).as_int64() == 3);
  CHECK(series.at("extractions").as_array().at(3).as_int64() == 4);
  CHECK(series.at("results").at("rate_limited").as_array().at(0).as_int64() == 1);
  CHECK(series.at("latency_p50_ms").as_array().at(0).is_null());
  CHECK(series.at("latency_p99_ms").as_array().at(3).as_double() == Approx(0.99));

  SECTION("a long window is merged into at most `points` steps") {
    auto d = body_of(get(api, "/v1/processor/history?window=24h&points=10"));
    CHECK(d.at("step_ms").as_int64() == 864 * 10000);
    CHECK(d.at("series").at("processed").as_array().size() == 1);
    CHECK(d.at("series").at("processed").as_array().at(0).as_int64() == 6);
  }
  SECTION("bad parameters") {
    for (const char* t : {"/v1/processor/history?window=25h", "/v1/processor/history?window=0",
                          "/v1/processor/history?window=5x", "/v1/processor/history?points=5"}) {
      INFO(t);
      CHECK(get(api, t).result_int() == 400);
    }
  }
}

TEST_CASE("durations: ms or a number with s, m or h") {
  CHECK(parse_duration_ms("1500") == 1500);
  CHECK(parse_duration_ms("90s") == 90000);
  CHECK(parse_duration_ms("15m") == 900000);
  CHECK(parse_duration_ms("24h") == 86400000);
  CHECK_FALSE(parse_duration_ms("h"));
  CHECK_FALSE(parse_duration_ms("-1m"));
  CHECK_FALSE(parse_duration_ms("1d"));
}

TEST_CASE("the processor lists need the admin scope, the dashboard's files no token") {
  fake_api api;
  server_options opts;
  opts.scoped_tokens = {{"read", "reader"}, {"admin", "boss"}};
  for (const char* t : {"/v1/processor/dead", "/v1/processor/history"}) {
    INFO(t);
    CHECK(get(api, t, opts).result_int() == 401);
    CHECK(get(api, t, opts, "reader").result_int() == 403);
    CHECK(get(api, t, opts, "boss").result_int() == 200);
  }
  CHECK(get(api, "/dashboard", opts).result_int() == 200);
  CHECK(get(api, "/dashboard/app.js", opts).result_int() == 200);
  CHECK(get(api, "/", opts).result_int() == 302);
}

TEST_CASE("the dashboard: its files, strict headers, the redirect and the auth hint") {
  fake_api api;
  auto page = get(api, "/dashboard");
  REQUIRE(page.result_int() == 200);
  CHECK(page[http::field::content_type] == "text/html; charset=utf-8");
  CHECK(page["Content-Security-Policy"] == kDashboardCsp);
  CHECK(page["X-Content-Type-Options"] == "nosniff");
  CHECK(page["X-Frame-Options"] == "DENY");
  CHECK(page.body().find("content=\"none\"") != std::string::npos);
  CHECK(page.body().find("<script>") == std::string::npos);
  CHECK(page.body().find("style=") == std::string::npos);
  CHECK(get(api, "/dashboard/").body() == page.body());
  server_options secured;
  secured.api_token = "t";
  CHECK(get(api, "/dashboard", secured).body().find("content=\"required\"") != std::string::npos);

  CHECK(get(api, "/dashboard/app.js")[http::field::content_type] ==
        "text/javascript; charset=utf-8");
  CHECK(get(api, "/dashboard/style.css")[http::field::content_type] == "text/css; charset=utf-8");
  CHECK(get(api, "/dashboard/icon.svg")[http::field::content_type] == "image/svg+xml");
  for (const char* t : {"/dashboard/nope.js", "/dashboard/index.html", "/dashboard/a/b"}) {
    INFO(t);
    CHECK(get(api, t).result_int() == 404);
  }
  auto root = get(api, "/");
  CHECK(root.result_int() == 302);
  CHECK(root[http::field::location] == "/dashboard");
  // No script anywhere sets innerHTML or evaluates strings: user text stays text.
  for (const char* f : {"app.js", "api.js", "ui.js", "charts.js", "overview.js", "dead.js",
                        "user.js", "processor.js"}) {
    INFO(f);
    auto js = get(api, std::string("/dashboard/") + f);
    REQUIRE(js.result_int() == 200);
    for (const char* bad : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                            "eval(", "new Function"})
      CHECK(js.body().find(bad) == std::string::npos);
  }
}
