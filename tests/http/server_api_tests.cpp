// The /v1 user API over loopback: routing, service failures, history, facts, the bearer token,
// remembering and forgetting facts, erasing a user, and a service without the newer calls.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/http/server_fixture.hpp"

using namespace memoryd;
using namespace memoryd::testing;
using namespace std::chrono_literals;

TEST_CASE("server: unknown paths get 404 and wrong methods 405 with Allow") {
  fixture f;
  check_error(f.get("/nope"), 404, "not_found");
  check_error(f.get("/dashboardx"), 404, "not_found");
  check_error(f.get("/v1/users/u/unknown"), 404, "not_found");
  check_error(f.get("/healthz/extra"), 404, "not_found");
  auto r = f.get("/v1/messages");
  check_error(r, 405, "method_not_allowed");
  CHECK(r.headers["allow"] == "POST");
  auto r2 = f.post_json("/healthz", "{}");
  check_error(r2, 405, "method_not_allowed");
  CHECK(r2.headers["allow"] == "GET");
  auto r3 = http_request(f.port, "DELETE", "/webhooks/twilio");
  check_error(r3, 405, "method_not_allowed");
  CHECK(r3.headers["allow"] == "POST");
  CHECK(f.api->calls() == 0);
}

TEST_CASE("server: a service failure becomes its status with a JSON error") {
  fixture f;
  f.api->failure = api_failure{503, "storage_unavailable", "conversation.db is busy"};
  auto r = f.post_json("/v1/messages", R"({"user_id":"u","role":"user","content":"x"})");
  check_error(r, 503, "storage_unavailable");
  CHECK(r.body.find("conversation.db is busy") != std::string::npos);
  check_error(f.post_form("/sms", "From=%2B1555&Body=x"), 503, "storage_unavailable");
  check_error(f.get("/v1/users/u/messages"), 503, "storage_unavailable");
  check_error(f.get("/v1/users/u/facts"), 503, "storage_unavailable");
}

TEST_CASE("server: history decodes the user id and passes the query") {
  fixture f;
  stored_message m;
  m.seq = 3;
  m.id = "m-3";
  m.user_id = "+15551234567";
  m.role = "user";
  m.content = "I have a cat";
  m.channel = "sms";
  m.external_id = "SM3";
  m.created_at = 1000;
  m.status = "done";
  m.attempts = 1;
  m.processed_at = 2000;
  stored_message a = m;
  a.seq = 4;
  a.id = "m-4";
  a.role = "assistant";
  a.content = "Nice";
  a.external_id = "";
  a.status = "skipped";
  a.attempts = 0;
  a.processed_at = 0;
  f.api->history_result = {m, a};

  auto r =
      f.get("/v1/users/%2B15551234567/messages?limit=10&since=5&until=99&role=user&processed=true");
  CHECK(r.status == 200);
  CHECK(r.headers["content-type"] == "application/json");
  CHECK(r.body ==
        R"({"user_id":"+15551234567","messages":[)"
        R"({"id":"m-3","seq":3,"role":"user","content":"I have a cat","channel":"sms",)"
        R"("external_id":"SM3","created_at":1000,"status":"done","attempts":1,"last_error":null,)"
        R"("processed_at":2000,"priority":"live"},)"
        R"({"id":"m-4","seq":4,"role":"assistant","content":"Nice","channel":"sms",)"
        R"("external_id":null,"created_at":1000,"status":"skipped","attempts":0,)"
        R"("last_error":null,"processed_at":null,"priority":"live"}],"next_cursor":null})");
  auto qs = f.api->histories();
  REQUIRE(qs.size() == 1);
  CHECK(qs[0].user_id == "+15551234567");
  CHECK(qs[0].limit == 11);  // a page and one more: is there an older page?
  CHECK(qs[0].before_seq == 0);
  CHECK(qs[0].since == 5);
  CHECK(qs[0].until == 99);
  CHECK(qs[0].role == "user");
  CHECK(qs[0].processed == 1);

  auto d = f.get("/v1/users/a%2Fb/messages?processed=false");
  CHECK(d.status == 200);
  qs = f.api->histories();
  REQUIRE(qs.size() == 2);
  CHECK(qs[1].user_id == "a/b");
  CHECK(qs[1].limit == 51);
  CHECK(qs[1].since == 0);
  CHECK(qs[1].until == 0);
  CHECK(qs[1].role.empty());
  CHECK(qs[1].processed == 0);
}

TEST_CASE("server: bad history parameters get 400 naming the parameter") {
  fixture f;
  const std::pair<const char*, const char*> cases[] = {
      {"limit=0", "limit"},           {"limit=1001", "limit"},
      {"limit=abc", "limit"},         {"limit=", "limit"},
      {"limit=5x", "limit"},          {"since=-1", "since"},
      {"until=soon", "until"},        {"role=bot", "role"},
      {"processed=yes", "processed"}, {"limit=99999999999999999999", "limit"},
  };
  for (const auto& [query, name] : cases) {
    INFO(query);
    auto r = f.get(std::string("/v1/users/u/messages?") + query);
    check_error(r, 400, "invalid_parameter");
    CHECK(r.body.find(std::string(R"("message":")") + name) != std::string::npos);
  }
  CHECK(f.get("/v1/users/u/messages?limit=1000").status == 200);
  check_error(f.get("/v1/users//messages"), 400, "invalid_field");
  check_error(f.get("/v1/users/" + std::string(300, 'u') + "/messages"), 400, "invalid_field");
  check_error(f.get("/v1/users/u/facts?include=everything"), 400, "invalid_parameter");
  CHECK(f.api->histories().size() == 1);
}

TEST_CASE("server: facts with and without history") {
  fixture f;
  fact x;
  x.id = "f-1";
  x.user_id = "u";
  x.text = "Has a dog named Max";
  x.category = "relationships";
  x.status = "active";
  x.observed_at = 10;
  x.created_at = 11;
  x.updated_at = 12;
  x.source_ids = {"m-1", "m-2"};
  fact_event e;
  e.seq = 1;
  e.fact_id = "f-1";
  e.user_id = "u";
  e.kind = "add";
  e.new_text = "Has a dog named Max";
  e.cause = "extractor";
  e.extractor = "rules/1";
  e.source_ids = {"m-1"};
  e.observed_at = 10;
  e.at = 11;
  f.api->facts_result = {{x}, {e}};

  auto r = f.get("/v1/users/%2B1555/facts");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"user_id":"+1555","facts":[{"id":"f-1","text":"Has a dog named Max",)"
                  R"("category":"relationships","status":"active","observed_at":10,)"
                  R"("created_at":11,"updated_at":12,"source_ids":["m-1","m-2"]}],)"
                  R"("next_cursor":null})");
  auto h = f.get("/v1/users/u/facts?include=history");
  CHECK(h.status == 200);
  CHECK(h.body.find(R"("events":[{"seq":1,"fact_id":"f-1","new_fact_id":null,"kind":"add",)"
                    R"("old_text":null,"new_text":"Has a dog named Max","cause":"extractor",)"
                    R"("extractor":"rules/1","source_ids":["m-1"],"observed_at":10,"at":11}])") !=
        std::string::npos);
  auto q = f.api->fact_queries();
  REQUIRE(q.size() == 2);
  CHECK(q[0].user_id == "+1555");
  CHECK(q[0].limit == 1001);  // a page of 1,000 and one more: does another page follow?
  CHECK(q[0].events_limit == 0);
  CHECK(q[1].user_id == "u");
  CHECK(q[1].events_limit == 1001);
  CHECK(h.body.find(R"("events_next_cursor":null)") != std::string::npos);
}

//------------------------------------------------------------------------------
// Bearer token on /v1

namespace {

struct v1_call {
  const char* method;
  const char* target;
  const char* body;
};

const v1_call kV1Routes[] = {
    {"POST", "/v1/messages", R"({"user_id":"u","role":"user","content":"x"})"},
    {"GET", "/v1/users/u/messages", ""},
    {"GET", "/v1/users/u/facts", ""},
    {"POST", "/v1/users/u/facts", R"({"text":"Likes tea"})"},
    {"DELETE", "/v1/users/u/facts/f-1", ""},
    {"DELETE", "/v1/users/u", ""},
    {"POST", "/v1/processor/run", ""},
    {"GET", "/v1/processor/status", ""},
    {"POST", "/v1/processor/dead/retry", ""},
    // Not routes, and wrong methods: refused before anything says so.
    {"GET", "/v1/nope", ""},
    {"PUT", "/v1/users/u/facts", ""},
};

http_response call(std::uint16_t port, const v1_call& c,
                   const std::map<std::string, std::string>& headers) {
  return http_request(port, c.method, c.target, c.body, *c.body ? "application/json" : "", headers);
}

}  // namespace

TEST_CASE("server: every v1 route refuses a missing or wrong bearer token") {
  auto opts = test_options();
  opts.api_token = "s3cret-token";
  fixture f(opts);
  const std::map<std::string, std::string> wrong[] = {
      {},
      {{"Authorization", "Bearer wrong"}},
      {{"Authorization", "Bearer s3cret-tokenX"}},
      {{"Authorization", "Bearer s3cret-toke"}},
      {{"Authorization", "bearer s3cret-token"}},
      {{"Authorization", "Basic czNjcmV0LXRva2Vu"}},
      {{"Authorization", "s3cret-token"}},
      {{"Authorization", ""}},
  };
  for (const auto& c : kV1Routes) {
    for (const auto& headers : wrong) {
      INFO(c.method << " " << c.target << " "
                    << (headers.empty() ? "(none)" : headers.begin()->second));
      auto r = call(f.port, c, headers);
      check_error(r, 401, "unauthorized");
      CHECK(r.headers["www-authenticate"] == "Bearer");
    }
  }
  CHECK(f.api->calls() == 0);
  // The right token gets through to each route.
  for (const auto& c : kV1Routes) {
    INFO(c.method << " " << c.target);
    auto r = call(f.port, c, {{"Authorization", "Bearer s3cret-token"}});
    CHECK(r.status != 401);
    CHECK(r.status < 500);
  }
  CHECK(f.api->calls() == 9);
  // Outside /v1 no token is asked for.
  CHECK(f.get("/healthz").status == 200);
  CHECK(f.get("/readyz").status == 200);
  CHECK(f.get("/metrics").status == 200);
  CHECK(f.post_form("/sms", "From=%2B1555&Body=x").status == 200);
}

//------------------------------------------------------------------------------
// Facts: remember and forget

TEST_CASE("server: POST facts stores an explicit fact and answers 201") {
  fixture f;
  auto r = f.post_json("/v1/users/%2B1555/facts",
                       R"({"text":"Likes green tea","category":"preferences","extra":1})");
  CHECK(r.status == 201);
  CHECK(r.headers["content-type"] == "application/json");
  CHECK(r.body == R"({"fact":{"id":"f-new","text":"Likes green tea","category":"preferences",)"
                  R"("status":"active","observed_at":42,"created_at":42,"updated_at":42,)"
                  R"("source_ids":[]}})");
  auto d = f.post_json("/v1/users/u/facts", R"({"text":"Has a cat","category":null})");
  CHECK(d.status == 201);
  auto e = f.post_json("/v1/users/u/facts", "{\"text\":\"" + std::string(300, 'x') + "\"}");
  CHECK(e.status == 201);
  auto got = f.api->added();
  REQUIRE(got.size() == 3);
  CHECK(got[0].user_id == "+1555");
  CHECK(got[0].text == "Likes green tea");
  CHECK(got[0].category == "preferences");
  CHECK(got[1].category == "other");
  CHECK(got[2].text.size() == 300);
  for (const char* c : {"health", "relationships", "work", "interests", "location", "other"}) {
    INFO(c);
    CHECK(f.post_json("/v1/users/u/facts", std::string(R"({"text":"t","category":")") + c + "\"}")
              .status == 201);
  }
}

TEST_CASE("server: POST facts rejects bad bodies with 400 and calls nothing") {
  auto opts = test_options();
  opts.body_limit = 2048;
  fixture f(opts);
  const std::pair<std::string, const char*> cases[] = {
      {"{not json", "invalid_json"},
      {"", "invalid_json"},
      {"[]", "invalid_json"},
      {R"("text")", "invalid_json"},
      {R"({})", "missing_field"},
      {R"({"text":null})", "invalid_field"},
      {R"({"text":7})", "invalid_field"},
      {R"({"text":["a"]})", "invalid_field"},
      {R"({"text":""})", "invalid_field"},
      {R"({"text":"  \t "})", "invalid_field"},
      {"{\"text\":\"" + std::string(301, 'x') + "\"}", "invalid_field"},
      {"{\"text\":\"\xc3\x28\"}", "invalid_utf8"},
      {R"({"text":"ok","category":"food"})", "invalid_field"},
      {R"({"text":"ok","category":"Preferences"})", "invalid_field"},
      {R"({"text":"ok","category":""})", "invalid_field"},
      {R"({"text":"ok","category":3})", "invalid_field"},
  };
  for (const auto& [body, code] : cases) {
    INFO(body);
    check_error(f.post_json("/v1/users/u/facts", body), 400, code);
  }
  check_error(http_request(f.port, "POST", "/v1/users/u/facts", R"({"text":"x"})", "text/plain"),
              415, "unsupported_media_type");
  check_error(f.post_json("/v1/users/" + std::string(300, 'u') + "/facts", R"({"text":"x"})"), 400,
              "invalid_field");
  check_error(f.post_json("/v1/users/%C0%AF/facts", R"({"text":"x"})"), 400, "invalid_field");
  auto big = f.post_json("/v1/users/u/facts", "{\"text\":\"" + std::string(4096, 'x') + "\"}");
  check_error(big, 413, "payload_too_large");
  auto put =
      http_request(f.port, "PUT", "/v1/users/u/facts", R"({"text":"x"})", "application/json");
  check_error(put, 405, "method_not_allowed");
  CHECK(put.headers["allow"] == "GET, POST");
  CHECK(f.api->calls() == 0);
}

TEST_CASE("server: DELETE a fact answers deleted or 404") {
  fixture f;
  auto r = http_request(f.port, "DELETE", "/v1/users/u/facts/f-1");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"deleted":true})");
  auto unknown_fact = http_request(f.port, "DELETE", "/v1/users/u/facts/f-2");
  check_error(unknown_fact, 404, "not_found");
  CHECK(unknown_fact.body.find("no active fact") != std::string::npos);
  check_error(http_request(f.port, "DELETE", "/v1/users/someone/facts/f-1"), 404, "not_found");
  check_error(http_request(f.port, "DELETE", "/v1/users/u/facts/" + std::string(300, 'f')), 400,
              "invalid_field");
  check_error(http_request(f.port, "DELETE", "/v1/users/u/facts/%FF"), 400, "invalid_field");
  check_error(http_request(f.port, "DELETE", "/v1/users//facts/f-1"), 400, "invalid_field");
  auto got = f.api->deleted();
  REQUIRE(got.size() == 3);
  CHECK(got[0] == std::pair<std::string, std::string>{"u", "f-1"});
  CHECK(got[1] == std::pair<std::string, std::string>{"u", "f-2"});
  CHECK(got[2] == std::pair<std::string, std::string>{"someone", "f-1"});
  for (const char* m : {"GET", "POST", "PUT"}) {
    auto bad = http_request(f.port, m, "/v1/users/u/facts/f-1");
    check_error(bad, 405, "method_not_allowed");
    CHECK(bad.headers["allow"] == "DELETE");
  }
  check_error(http_request(f.port, "DELETE", "/v1/users/u/facts/f-1/extra"), 404, "not_found");
  CHECK(f.api->calls() == 3);
  // A failure status from the service passes through.
  f.api->failure = api_failure{404, "not_found", "unknown user"};
  check_error(http_request(f.port, "DELETE", "/v1/users/u/facts/f-1"), 404, "not_found");
}

//------------------------------------------------------------------------------
// Erasing a user

TEST_CASE("server: DELETE a user answers what was erased") {
  fixture f;
  auto r = http_request(f.port, "DELETE", "/v1/users/u");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"user_id":"u","erased":{"messages":3,"facts":2,"fact_events":4}})");
  auto unknown = http_request(f.port, "DELETE", "/v1/users/whatsapp%3A%2B44");
  CHECK(unknown.status == 200);
  CHECK(unknown.body ==
        R"({"user_id":"whatsapp:+44","erased":{"messages":0,"facts":0,"fact_events":0}})");
  CHECK(f.api->erased() == std::vector<std::string>{"u", "whatsapp:+44"});
  check_error(http_request(f.port, "DELETE", "/v1/users/"), 400, "invalid_field");
  check_error(http_request(f.port, "DELETE", "/v1/users/" + std::string(257, 'u')), 400,
              "invalid_field");
  auto get = f.get("/v1/users/u");
  check_error(get, 405, "method_not_allowed");
  CHECK(get.headers["allow"] == "DELETE");
  check_error(http_request(f.port, "DELETE", "/v1/users"), 404, "not_found");
  CHECK(f.api->calls() == 2);
  f.api->failure = api_failure{503, "storage_unavailable", "memory.db is busy"};
  check_error(http_request(f.port, "DELETE", "/v1/users/u"), 503, "storage_unavailable");
}

//------------------------------------------------------------------------------
// A service that implements only the original four calls

namespace {

class minimal_api : public service_api {
 public:
  void ingest(std::vector<new_message>, callback<std::vector<ingest_outcome>> done) override {
    done(outcome<std::vector<ingest_outcome>>::success({}));
  }
  void history(history_query, callback<std::vector<stored_message>> done) override {
    done(outcome<std::vector<stored_message>>::success({}));
  }
  void facts(fact_query, callback<fact_listing> done) override {
    done(outcome<fact_listing>::success({}));
  }
  void health(callback<health_report> done) override { done(outcome<health_report>::success({})); }
};

}  // namespace

TEST_CASE("server: routes the service does not implement answer 501") {
  auto api = std::make_shared<minimal_api>();
  http_server server(test_options(), api);
  auto port = server.start();
  const v1_call calls[] = {
      {"POST", "/v1/users/u/facts", R"({"text":"x"})"},
      {"DELETE", "/v1/users/u/facts/f-1", ""},
      {"DELETE", "/v1/users/u", ""},
      {"POST", "/v1/processor/run", ""},
      {"GET", "/v1/processor/status", ""},
      {"POST", "/v1/processor/dead/retry", ""},
      {"GET", "/metrics", ""},
  };
  for (const auto& c : calls) {
    INFO(c.method << " " << c.target);
    check_error(call(port, c, {}), 501, "not_implemented");
  }
  auto ready = http_request(port, "GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("not_ready") != std::string::npos);
}
