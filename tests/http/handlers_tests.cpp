// handle_request without a socket: a request in, the response the session would write out, with
// the in-memory fake service answering on the calling thread.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/handlers.hpp"
#include "tests/http/fake_service.hpp"

using namespace memoryd;
using namespace memoryd::testing;
namespace http = boost::beast::http;

namespace {

const char* kTwimlEmpty = R"(<?xml version="1.0" encoding="UTF-8"?><Response></Response>)";

request make_request(http::verb method, const std::string& target, std::string body = "",
                     const std::string& content_type = "",
                     const std::map<std::string, std::string>& headers = {}) {
  request req{method, target, 11};
  req.set(http::field::host, "memoryd.test");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

// As the session calls it. The fake answers at once, so the reply has come when this returns;
// there must be exactly one.
response answer(const request& req, service_api& api, const server_options& opts = {}) {
  auto t = parse_target(req.target());
  std::optional<response> out;
  int replies = 0;
  handle_request(req, t, opts, api, [&](response res) {
    ++replies;
    out = std::move(res);
  });
  REQUIRE(replies == 1);
  return std::move(*out);
}

response get(fake_api& api, const std::string& target, const server_options& opts = {}) {
  return answer(make_request(http::verb::get, target), api, opts);
}

response post_json(fake_api& api, const std::string& target, std::string body,
                   const server_options& opts = {}) {
  return answer(make_request(http::verb::post, target, std::move(body), "application/json"), api,
                opts);
}

response post_form(fake_api& api, const std::string& target, std::string body,
                   const server_options& opts = {},
                   const std::map<std::string, std::string>& headers = {}) {
  return answer(make_request(http::verb::post, target, std::move(body),
                             "application/x-www-form-urlencoded", headers),
                api, opts);
}

std::string header(const response& r, http::field f) {
  auto it = r.find(f);
  return it == r.end() ? "(none)" : std::string(it->value());
}

// A JSON error body with this code, served as JSON.
void check_error(const response& r, unsigned status, const std::string& code) {
  INFO(r.body());
  CHECK(r.result_int() == status);
  CHECK(header(r, http::field::content_type) == "application/json");
  CHECK(r.body().rfind(R"({"error":{"code":")" + code + R"(","message":")", 0) == 0);
}

const std::string kOneMessage = R"({"user_id":"u","role":"user","content":"x"})";

}  // namespace

TEST_CASE("handlers: known routes are answered and unknown paths get 404") {
  fake_api api;
  CHECK(get(api, "/healthz").result_int() == 200);
  CHECK(get(api, "/readyz").result_int() == 200);
  CHECK(get(api, "/metrics").result_int() == 200);
  CHECK(get(api, "/v1/users/u/messages").result_int() == 200);
  CHECK(get(api, "/v1/users/u/facts").result_int() == 200);
  CHECK(get(api, "/v1/processor/status").result_int() == 200);
  CHECK(api.calls() == 6);
  for (const char* path :
       {"/nope", "/dashboardx", "/healthz/extra", "/v1/users/u/unknown", "/v1/processor", "/v1/users"}) {
    INFO(path);
    check_error(get(api, path), 404, "not_found");
  }
  // A target that is not origin-form is no path at all.
  check_error(get(api, "http://example.com/healthz"), 400, "bad_request");
  CHECK(api.calls() == 6);
}

TEST_CASE("handlers: a wrong method gets 405 with the Allow header") {
  fake_api api;
  struct wrong_method {
    http::verb method;
    const char* target;
    const char* allow;
  };
  const wrong_method cases[] = {
      {http::verb::get, "/v1/messages", "POST"},
      {http::verb::post, "/healthz", "GET"},
      {http::verb::delete_, "/webhooks/twilio", "POST"},
      {http::verb::put, "/v1/users/u/facts", "GET, POST"},
      {http::verb::get, "/v1/users/u", "DELETE"},
      {http::verb::post, "/v1/users/u/facts/f-1", "DELETE"},
      {http::verb::get, "/v1/processor/dead/retry", "POST"},
  };
  for (const auto& c : cases) {
    INFO(c.target);
    auto r = answer(make_request(c.method, c.target), api);
    check_error(r, 405, "method_not_allowed");
    CHECK(header(r, http::field::allow) == c.allow);
  }
  CHECK(api.calls() == 0);
}

TEST_CASE("handlers: v1 needs the bearer token when one is configured") {
  fake_api api;
  server_options opts;
  opts.api_token = "s3cret";
  const std::map<std::string, std::string> wrong[] = {{},
                                                      {{"Authorization", "Bearer wrong"}},
                                                      {{"Authorization", "Bearer s3cre"}},
                                                      {{"Authorization", "bearer s3cret"}}};
  for (const auto& headers : wrong) {
    INFO((headers.empty() ? "(none)" : headers.begin()->second));
    auto r =
        answer(make_request(http::verb::get, "/v1/users/u/messages", "", "", headers), api, opts);
    check_error(r, 401, "unauthorized");
    CHECK(header(r, http::field::www_authenticate) == "Bearer");
    // Even a path that is no route: nothing about /v1 is told without the token.
    check_error(answer(make_request(http::verb::get, "/v1/nope", "", "", headers), api, opts), 401,
                "unauthorized");
  }
  CHECK(api.calls() == 0);
  auto ok = answer(make_request(http::verb::get, "/v1/users/u/messages", "", "",
                                {{"Authorization", "Bearer s3cret"}}),
                   api, opts);
  CHECK(ok.result_int() == 200);
  // Outside /v1 no token is asked for.
  CHECK(get(api, "/healthz", opts).result_int() == 200);
  CHECK(post_form(api, "/webhooks/twilio", "From=%2B1555&Body=x", opts).result_int() == 200);
  CHECK(api.calls() == 3);
}

TEST_CASE("handlers: a bad user id in the path gets 400 and reaches nothing") {
  fake_api api;
  const std::string too_long(257, 'u');
  check_error(get(api, "/v1/users//messages"), 400, "invalid_field");
  check_error(get(api, "/v1/users/" + too_long + "/messages"), 400, "invalid_field");
  check_error(get(api, "/v1/users/%C0%AF/facts"), 400, "invalid_field");
  check_error(post_json(api, "/v1/users//facts", R"({"text":"x"})"), 400, "invalid_field");
  check_error(answer(make_request(http::verb::delete_, "/v1/users/" + too_long), api), 400,
              "invalid_field");
  check_error(answer(make_request(http::verb::delete_, "/v1/users/%FF/facts/f-1"), api), 400,
              "invalid_field");
  CHECK(api.calls() == 0);
  // The longest id that is allowed.
  CHECK(get(api, "/v1/users/" + std::string(256, 'u') + "/messages").result_int() == 200);
}

TEST_CASE("handlers: bad history parameters get 400 naming the parameter") {
  fake_api api;
  const std::pair<const char*, const char*> cases[] = {
      {"limit=0", "limit"},          {"limit=1001", "limit"}, {"since=-1", "since"},
      {"until=x", "until"},          {"role=x", "role"},      {"processed=maybe", "processed"},
      {"limit=10&role=bot", "role"},
  };
  for (const auto& [query, name] : cases) {
    INFO(query);
    auto r = get(api, std::string("/v1/users/u/messages?") + query);
    check_error(r, 400, "invalid_parameter");
    CHECK(r.body().find(std::string(R"("message":")") + name + ": ") != std::string::npos);
  }
  CHECK(api.histories().empty());
  CHECK(get(api, "/v1/users/u/messages?limit=1&since=0&role=assistant&processed=false")
            .result_int() == 200);
  CHECK(get(api, "/v1/users/u/messages?limit=1000&unknown=1").result_int() == 200);
  auto qs = api.histories();
  REQUIRE(qs.size() == 2);
  CHECK(qs[0].limit == 2);  // a page and one more: is there an older page?
  CHECK(qs[0].role == "assistant");
  CHECK(qs[0].processed == 0);
  CHECK(qs[1].limit == 1001);
}

TEST_CASE("handlers: a wrong content type gets 415") {
  fake_api api;
  check_error(
      answer(make_request(http::verb::post, "/v1/messages", kOneMessage, "text/plain"), api), 415,
      "unsupported_media_type");
  check_error(answer(make_request(http::verb::post, "/v1/messages", kOneMessage), api), 415,
              "unsupported_media_type");
  check_error(
      answer(make_request(http::verb::post, "/sms", "From=%2B1555&Body=x", "application/json"),
             api),
      415, "unsupported_media_type");
  check_error(answer(make_request(http::verb::post, "/v1/users/u/facts", R"({"text":"x"})",
                                  "application/x-www-form-urlencoded"),
                     api),
              415, "unsupported_media_type");
  CHECK(api.calls() == 0);
}

TEST_CASE("handlers: the webhook answers TwiML and v1 messages answers JSON with the ids") {
  fake_api api;
  auto twiml = post_form(api, "/webhooks/twilio", "From=%2B15551234567&Body=hi&MessageSid=SM1");
  CHECK(twiml.result_int() == 200);
  CHECK(header(twiml, http::field::content_type) == "text/xml");
  CHECK(twiml.body() == kTwimlEmpty);
  auto json = post_json(api, "/v1/messages",
                        R"({"messages":[{"user_id":"a","role":"user","content":"one"},)"
                        R"({"user_id":"b","role":"user","content":"two","external_id":"dup"}]})");
  CHECK(json.result_int() == 202);
  CHECK(header(json, http::field::content_type) == "application/json");
  CHECK(json.body() ==
        R"({"messages":[{"id":"id-2","duplicate":false},{"id":"id-3","duplicate":true}]})");
  auto got = api.ingested();
  REQUIRE(got.size() == 3);
  CHECK(got[0].user_id == "+15551234567");
  CHECK(got[0].channel == "sms");
  CHECK(got[1].channel == "api");
}

TEST_CASE("handlers: a bad Twilio signature gets 403 and reaches nothing") {
  fake_api api;
  server_options opts;
  opts.twilio_auth_token = "12345";
  opts.twilio_webhook_url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  // Twilio's published vector (see twilio_signature_tests.cpp).
  const std::string form =
      "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&"
      "To=%2B18005551212";
  const std::string signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
  auto missing = post_form(api, "/webhooks/twilio", form, opts);
  check_error(missing, 403, "invalid_signature");
  CHECK(missing.body().find("missing X-Twilio-Signature") != std::string::npos);
  check_error(post_form(api, "/sms", form, opts, {{"X-Twilio-Signature", "bm90IGl0"}}), 403,
              "invalid_signature");
  check_error(
      post_form(api, "/sms", form + "&Body=extra", opts, {{"X-Twilio-Signature", signature}}), 403,
      "invalid_signature");
  CHECK(api.calls() == 0);
  // The same form, rightly signed, is stored.
  auto ok = post_form(api, "/sms", form, opts, {{"X-Twilio-Signature", signature}});
  CHECK(ok.result_int() == 200);
  CHECK(api.ingested().size() == 1);
}

TEST_CASE("handlers: a service failure is rendered as its status with a JSON error") {
  fake_api api;
  api.failure = api_failure{503, "storage_unavailable", "conversation.db is busy"};
  auto r = post_json(api, "/v1/messages", kOneMessage);
  CHECK(r.result_int() == 503);
  CHECK(header(r, http::field::content_type) == "application/json");
  CHECK(r.body() ==
        R"({"error":{"code":"storage_unavailable","message":"conversation.db is busy"}})");
  check_error(get(api, "/v1/users/u/facts"), 503, "storage_unavailable");
  check_error(post_form(api, "/sms", "From=%2B1555&Body=x"), 503, "storage_unavailable");
  // A failure never renders as a success.
  api.failure = api_failure{200, "odd", "a failure with a success status"};
  check_error(get(api, "/v1/users/u/messages"), 500, "odd");
}

TEST_CASE("handlers: percent-encoded user ids reach the service decoded") {
  fake_api api;
  CHECK(get(api, "/v1/users/%2B15551234567/messages").result_int() == 200);
  CHECK(get(api, "/v1/users/a%2Fb/facts").result_int() == 200);
  CHECK(
      post_json(api, "/v1/users/whatsapp%3A%2B44/facts", R"({"text":"Likes tea"})").result_int() ==
      201);
  CHECK(
      answer(make_request(http::verb::delete_, "/v1/users/a%2Fb/facts/f%2F1"), api).result_int() ==
      404);  // the fake knows only user "u"'s fact "f-1"
  CHECK(answer(make_request(http::verb::delete_, "/v1/users/%2B1555"), api).result_int() == 200);
  REQUIRE(api.histories().size() == 1);
  CHECK(api.histories()[0].user_id == "+15551234567");
  REQUIRE(api.fact_queries().size() == 1);
  CHECK(api.fact_queries()[0].user_id == "a/b");
  REQUIRE(api.added().size() == 1);
  CHECK(api.added()[0].user_id == "whatsapp:+44");
  CHECK(api.deleted() == std::vector<std::pair<std::string, std::string>>{{"a/b", "f/1"}});
  CHECK(api.erased() == std::vector<std::string>{"+1555"});
}

TEST_CASE("handle_request: scoped tokens, 401 without a known token, 403 naming the scope") {
  fake_api api;
  server_options opts;
  opts.api_token = "admin-secret";
  opts.scoped_tokens = {{"ingest", "bot-secret"},
                        {"read", "bot-secret"},
                        {"read", "reader-secret"},
                        {"metrics", "prom-secret"}};
  auto as = [&](const std::string& token, http::verb m, const std::string& target,
                std::string body = "", const std::string& type = "") {
    std::map<std::string, std::string> h;
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    return answer(make_request(m, target, std::move(body), type, h), api, opts);
  };
  struct call {
    http::verb method;
    const char* target;
    const char* body;
    const char* scope;
  };
  const call calls[] = {
      {http::verb::post, "/v1/messages", R"({"user_id":"u","role":"user","content":"x"})",
       "ingest"},
      {http::verb::get, "/v1/users/u/messages", "", "read"},
      {http::verb::get, "/v1/users/u/facts", "", "read"},
      {http::verb::get, "/v1/users/u/facts/search?q=tea", "", "read"},
      {http::verb::get, "/v1/users/u/context?q=tea", "", "read"},
      {http::verb::post, "/v1/users/u/facts", R"({"text":"Likes tea"})", "admin"},
      {http::verb::delete_, "/v1/users/u/facts/f1", "", "admin"},
      {http::verb::delete_, "/v1/users/u", "", "admin"},
      {http::verb::post, "/v1/processor/run", "", "admin"},
      {http::verb::get, "/v1/processor/status", "", "admin"},
      {http::verb::post, "/v1/processor/dead/retry", "{}", "admin"},
  };
  const std::map<std::string, std::vector<std::string>> holds = {
      {"admin-secret", {"ingest", "read", "admin"}},
      {"bot-secret", {"ingest", "read"}},
      {"reader-secret", {"read"}},
      {"prom-secret", {}}};
  for (const auto& c : calls) {
    const std::string type = std::string(c.body).empty() ? "" : "application/json";
    for (const auto& [token, scopes] : holds) {
      INFO(http::to_string(c.method) << " " << c.target << " with " << token);
      auto r = as(token, c.method, c.target, c.body, type);
      const bool allowed = std::find(scopes.begin(), scopes.end(), c.scope) != scopes.end();
      if (allowed) {
        CHECK(r.result_int() != 401);
        CHECK(r.result_int() != 403);
      } else {
        check_error(r, 403, "insufficient_scope");
        CHECK(r.body().find(std::string("'") + c.scope + "' scope") != std::string::npos);
        CHECK(header(r, http::field::www_authenticate).find(c.scope) != std::string::npos);
        CHECK(r.body().find(token) == std::string::npos);
      }
    }
    for (const std::string wrong : {"", "nope", "admin-secre", "admin-secretX", "Bot-secret"}) {
      INFO(c.target << " with '" << wrong << "'");
      check_error(as(wrong, c.method, c.target, c.body, type), 401, "unauthorized");
    }
  }
  // Unknown /v1 paths and wrong methods say nothing to strangers, and 404/405 to any token.
  check_error(as("", http::verb::get, "/v1/nothing"), 401, "unauthorized");
  check_error(as("prom-secret", http::verb::get, "/v1/nothing"), 404, "not_found");
  check_error(as("reader-secret", http::verb::get, "/v1/messages"), 405, "method_not_allowed");
  // Probes and the webhook (signed on its own) need no token; /metrics only beyond loopback.
  CHECK(as("", http::verb::get, "/healthz").result_int() == 200);
  CHECK(as("", http::verb::get, "/readyz").result_int() == 200);
  CHECK(as("", http::verb::get, "/metrics").result_int() == 200);
  opts.metrics_need_token = true;
  check_error(as("", http::verb::get, "/metrics"), 401, "unauthorized");
  check_error(as("bot-secret", http::verb::get, "/metrics"), 403, "insufficient_scope");
  CHECK(as("prom-secret", http::verb::get, "/metrics").result_int() == 200);
  CHECK(as("admin-secret", http::verb::get, "/metrics").result_int() == 200);
}

TEST_CASE("handle_request: every answer says nosniff and no-store, readyz says webhook_signed") {
  fake_api api;
  for (auto target : {"/healthz", "/v1/users/u/facts", "/nothing"}) {
    auto r = get(api, target);
    CHECK(std::string(r["X-Content-Type-Options"]) == "nosniff");
    CHECK(header(r, http::field::cache_control) == "no-store");
  }
  CHECK(get(api, "/readyz").body().find(R"("webhook_signed":false)") != std::string::npos);
  server_options signed_opts;
  signed_opts.twilio_auth_token = "tw";
  CHECK(get(api, "/readyz", signed_opts).body().find(R"("webhook_signed":true)") !=
        std::string::npos);
}
