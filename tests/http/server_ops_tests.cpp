// Operations over loopback: health, the processor (run, status, dead-letter retry), readiness
// and metrics.
#include <catch2/catch.hpp>

#include <chrono>
#include <initializer_list>
#include <string>
#include <thread>

#include "core/metrics.hpp"
#include "tests/http/server_fixture.hpp"

using namespace memoryd;
using namespace memoryd::testing;
using namespace std::chrono_literals;

TEST_CASE("server: healthz answers ok with a Server header") {
  fixture f;
  auto r = f.get("/healthz");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ok"})");
  CHECK(r.headers["content-type"] == "application/json");
  CHECK(r.headers["server"] == "memoryd");
}

TEST_CASE("server: healthz answers 503 when the service is unhealthy") {
  fixture f;
  f.api->health_result = {false, "conversation.db not open"};
  auto r = f.get("/healthz");
  CHECK(r.status == 503);
  CHECK(r.body == R"({"status":"unavailable","detail":"conversation.db not open"})");
  f.api->health_result = {};
  f.api->failure = api_failure{503, "unavailable", "pipeline down"};
  auto r2 = f.get("/healthz");
  CHECK(r2.status == 503);
  CHECK(r2.body == R"({"status":"unavailable","detail":"pipeline down"})");
}

//------------------------------------------------------------------------------
// Processor

TEST_CASE("server: POST processor run answers the cycle result") {
  fixture f;
  cycle_result c;
  c.cycle_id = 12;
  c.users = 2;
  c.messages_processed = 5;
  c.facts_written = 3;
  c.errors = 1;
  c.retries_scheduled = 1;
  c.live_claimed = 3;
  c.backfill_claimed = 2;
  c.dead_lettered = 0;
  c.claim_ms = 1.5;
  c.extract_ms = 12.25;
  c.write_ms = 0.1234;
  c.total_ms = 14;
  f.api->run_result = c;
  auto r = http_request(f.port, "POST", "/v1/processor/run");
  CHECK(r.status == 200);
  CHECK(r.headers["content-type"] == "application/json");
  CHECK(r.body == R"({"cycle_id":12,"users":2,"messages_processed":5,"facts_written":3,)"
                  R"("errors":1,"retries_scheduled":1,"dead_lettered":0,)"
                  R"("claimed":{"live":3,"backfill":2},"claim_ms":1.5,)"
                  R"("extract_ms":12.25,"write_ms":0.123,"total_ms":14})");
  // A body is ignored.
  CHECK(f.post_json("/v1/processor/run", "{}").status == 200);
  auto get = f.get("/v1/processor/run");
  check_error(get, 405, "method_not_allowed");
  CHECK(get.headers["allow"] == "POST");
  f.api->failure = api_failure{409, "busy", "a cycle is already running"};
  check_error(http_request(f.port, "POST", "/v1/processor/run"), 409, "busy");
}

TEST_CASE("server: GET processor status renders queue and processor") {
  fixture f;
  auto empty = f.get("/v1/processor/status");
  CHECK(empty.status == 200);
  CHECK(empty.body ==
        R"({"queue":{"pending":0,"leased":0,"done":0,"dead":0,"skipped":0,"retry_scheduled":0,)"
        R"("oldest_pending_age_ms":0,"users_waiting":0,"priorities":{"live":{"users_waiting":0,)"
        R"("messages_waiting":0,"oldest_age_ms":0},"backfill":{"users_waiting":0,)"
        R"("messages_waiting":0,"oldest_age_ms":0}}},"processor":{"running":false,)"
        R"("in_flight":0,"queued":0,"pool_size":0,"concurrency_limit":0,"extractor":"",)"
        R"("model":null,"cycles":0,"messages_processed":0,"errors":0,"facts_written":0,)"
        R"("dead_lettered":0,"extractions":{"ok":0,"transient":0,"rate_limited":0,)"
        R"("permanent":0,"unparseable":0,"truncated":0,"refused":0},"success_rate":null,)"
        R"("last_cycle":null,"recent_cycles":[]},"alerts":[]})");

  status_report s;
  s.queue = {10, 2, 100, 1, 5, 3, 60000, 4, {3, 9, 1000}, {1, 3, 60000}};
  s.processor.running = true;
  s.processor.in_flight = 2;
  s.processor.queued = 1;
  s.processor.pool_size = 4;
  s.processor.cycles = 9;
  s.processor.messages_processed = 200;
  s.processor.errors = 100;
  s.processor.facts_written = 50;
  s.processor.last_cycle.cycle_id = 9;
  s.processor.last_cycle.total_ms = 2.5;
  s.extractor = "openai";
  s.model = "gpt-test";
  alert_state a;
  a.alert = "dead_letters";
  a.enabled = a.active = true;
  a.value = 2;
  a.threshold = 1;
  a.since = 1767225600000;
  s.alerts.push_back(a);
  f.api->status_result = s;
  auto r = f.get("/v1/processor/status");
  CHECK(r.status == 200);
  CHECK(r.body ==
        R"({"queue":{"pending":10,"leased":2,"done":100,"dead":1,"skipped":5,)"
        R"("retry_scheduled":3,"oldest_pending_age_ms":60000,"users_waiting":4,)"
        R"("priorities":{"live":{"users_waiting":3,"messages_waiting":9,"oldest_age_ms":1000},)"
        R"("backfill":{"users_waiting":1,"messages_waiting":3,"oldest_age_ms":60000}}},)"
        R"("processor":{"running":true,"in_flight":2,"queued":1,"pool_size":4,)"
        R"("concurrency_limit":0,"extractor":"openai","model":"gpt-test","cycles":9,)"
        R"("messages_processed":200,"errors":100,"facts_written":50,"dead_lettered":0,)"
        R"("extractions":{"ok":0,"transient":0,"rate_limited":0,"permanent":0,)"
        R"("unparseable":0,"truncated":0,"refused":0},"success_rate":0.667,)"
        R"("last_cycle":{"cycle_id":9,"users":0,"messages_processed":0,"facts_written":0,)"
        R"("errors":0,"retries_scheduled":0,"dead_lettered":0,)"
        R"("claimed":{"live":0,"backfill":0},"claim_ms":0,"extract_ms":0,)"
        R"("write_ms":0,"total_ms":2.5},"recent_cycles":[]},)"
        R"("alerts":[{"alert":"dead_letters","enabled":true,"active":true,"value":2,)"
        R"("threshold":1,"since":1767225600000}]})");
  check_error(f.post_json("/v1/processor/status", "{}"), 405, "method_not_allowed");
  check_error(f.get("/v1/processor"), 404, "not_found");
}

TEST_CASE("server: POST dead retry takes all or a list of ids") {
  fixture f;
  auto all = http_request(f.port, "POST", "/v1/processor/dead/retry");
  CHECK(all.status == 200);
  CHECK(all.body == R"({"retried":7})");
  CHECK(f.post_json("/v1/processor/dead/retry", "{}").body == R"({"retried":7})");
  CHECK(f.post_json("/v1/processor/dead/retry", R"({"ids":null})").body == R"({"retried":7})");
  auto some = f.post_json("/v1/processor/dead/retry", R"({"ids":["m-1","m-2"]})");
  CHECK(some.status == 200);
  CHECK(some.body == R"({"retried":2})");
  auto got = f.api->retried();
  REQUIRE(got.size() == 4);
  CHECK(got[0].empty());
  CHECK(got[3] == std::vector<std::string>{"m-1", "m-2"});

  const std::pair<std::string, const char*> cases[] = {
      {"{", "invalid_json"},
      {"[]", "invalid_json"},
      {"null", "invalid_json"},
      {R"({"ids":"m-1"})", "invalid_field"},
      {R"({"ids":[1]})", "invalid_field"},
      {R"({"ids":["m-1",null]})", "invalid_field"},
      {R"({"ids":[""]})", "invalid_field"},
      {R"({"ids":[]})", "invalid_field"},
      {"{\"ids\":[\"\xff\"]}", "invalid_utf8"},
  };
  for (const auto& [body, code] : cases) {
    INFO(body);
    check_error(f.post_json("/v1/processor/dead/retry", body), 400, code);
  }
  std::string many = R"({"ids":[)";
  for (int i = 0; i < 1001; ++i) many += std::string(i ? "," : "") + "\"m\"";
  check_error(f.post_json("/v1/processor/dead/retry", many + "]}"), 400, "invalid_field");
  check_error(
      http_request(f.port, "POST", "/v1/processor/dead/retry", R"({"ids":["a"]})", "text/plain"),
      415, "unsupported_media_type");
  auto get = f.get("/v1/processor/dead/retry");
  check_error(get, 405, "method_not_allowed");
  CHECK(get.headers["allow"] == "POST");
  CHECK(f.api->calls() == 4);
}

//------------------------------------------------------------------------------
// Readiness and metrics

TEST_CASE("server: readyz answers ready or 503") {
  fixture f;
  auto r = f.get("/readyz");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ready","webhook_signed":false})");
  f.api->ready_result = {false, "pipeline not running"};
  auto n = f.get("/readyz");
  CHECK(n.status == 503);
  CHECK(n.body ==
        R"({"status":"not_ready","detail":"pipeline not running","webhook_signed":false})");
  f.api->ready_result = {};
  f.api->failure = api_failure{503, "unavailable", "memory.db not open"};
  auto e = f.get("/readyz");
  CHECK(e.status == 503);
  CHECK(e.body == R"({"status":"not_ready","detail":"memory.db not open","webhook_signed":false})");
  auto post = f.post_json("/readyz", "{}");
  check_error(post, 405, "method_not_allowed");
  CHECK(post.headers["allow"] == "GET");
}

namespace {

// The metrics text once `line` is in it: the server records a request's metrics just after
// writing its response, so the next request may come a moment before that.
// Requests are counted after their response is written, and each test request has its own
// connection: wait (bounded) until every expected line is there, not just the last one.
std::string metrics_with(fixture& f, std::initializer_list<std::string> lines) {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text = f.get("/metrics").body;
    bool all = true;
    for (auto& line : lines) all = all && text.find(line) != std::string::npos;
    if (all) break;
    std::this_thread::sleep_for(10ms);
  }
  return text;
}

}  // namespace

TEST_CASE("server: metrics are Prometheus text and count requests by route pattern") {
  metrics::reset_for_tests();
  fixture f;
  f.api->status_result.queue.pending = 3;
  f.api->status_result.processor.pool_size = 4;
  auto r = f.get("/metrics");
  CHECK(r.status == 200);
  CHECK(r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body.find("memoryd_queue_messages{status=\"pending\"} 3\n") != std::string::npos);
  CHECK(r.body.find("memoryd_extractors{state=\"pool\"} 4\n") != std::string::npos);

  CHECK(f.get("/healthz").status == 200);
  CHECK(f.get("/v1/users/%2B15551234567/facts").status == 200);
  check_error(f.get("/v1/users/u/facts/f-1"), 405, "method_not_allowed");
  check_error(f.get("/no/such/path"), 404, "not_found");
  auto text = metrics_with(
      f, {R"(memoryd_http_requests_total{code="404",route="other"} 1)",
          R"(memoryd_http_requests_total{code="200",route="/healthz"} 1)",
          R"(memoryd_http_requests_total{code="200",route="/v1/users/{id}/facts"} 1)",
          R"(memoryd_http_requests_total{code="405",route="/v1/users/{id}/facts/{fact_id}"} 1)"});
  CHECK(text.find(R"(memoryd_http_requests_total{code="200",route="/healthz"} 1)") !=
        std::string::npos);
  CHECK(text.find(R"(memoryd_http_requests_total{code="200",route="/v1/users/{id}/facts"} 1)") !=
        std::string::npos);
  CHECK(text.find(R"(memoryd_http_requests_total{code="405",)"
                  R"(route="/v1/users/{id}/facts/{fact_id}"} 1)") != std::string::npos);
  CHECK(text.find(R"(memoryd_http_requests_total{code="404",route="other"} 1)") !=
        std::string::npos);
  CHECK(text.find(R"(memoryd_http_request_duration_seconds_count{route="/healthz"} 1)") !=
        std::string::npos);
  CHECK(
      text.find(R"(memoryd_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 1)") !=
      std::string::npos);
  // A family is exposed with HELP and TYPE once it has a series (prometheus-cpp leaves out
  // families with none).
  CHECK(text.find("# HELP memoryd_http_requests_total ") != std::string::npos);
  CHECK(text.find("# TYPE memoryd_http_requests_total counter\n") != std::string::npos);
  CHECK(text.find("# TYPE memoryd_http_request_duration_seconds histogram\n") != std::string::npos);
  // Raw paths never become labels.
  CHECK(text.find("15551234567") == std::string::npos);
  CHECK(text.find("no/such") == std::string::npos);
  auto post = f.post_json("/metrics", "{}");
  check_error(post, 405, "method_not_allowed");
  CHECK(post.headers["allow"] == "GET");
}

TEST_CASE("server: ingested and duplicate messages are counted by channel") {
  metrics::reset_for_tests();
  fixture f;
  CHECK(f.post_form("/sms", "From=%2B1555&Body=x&MessageSid=SM1").status == 200);
  CHECK(f.post_form("/sms", "From=whatsapp%3A%2B1555&Body=x&MessageSid=dup").status == 200);
  CHECK(f.post_json("/v1/messages",
                    R"({"messages":[{"user_id":"u","role":"user","content":"a"},)"
                    R"({"user_id":"u","role":"user","content":"b","channel":"web\"x"}]})")
            .status == 202);
  auto text =
      metrics_with(f, {R"(memoryd_http_requests_total{code="202",route="/v1/messages"} 1)"});
  CHECK(text.find("memoryd_messages_ingested_total{channel=\"sms\"} 1\n") != std::string::npos);
  CHECK(text.find("memoryd_messages_ingested_total{channel=\"api\"} 1\n") != std::string::npos);
  CHECK(text.find("memoryd_messages_ingested_total{channel=\"other\"} 1\n") != std::string::npos);
  CHECK(text.find("memoryd_messages_duplicate_total{channel=\"whatsapp\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("memoryd_messages_ingested_total{channel=\"whatsapp\"}") == std::string::npos);
  // A failed ingest counts nothing.
  f.api->failure = api_failure{503, "storage_unavailable", "busy"};
  check_error(f.post_form("/sms", "From=%2B1555&Body=y"), 503, "storage_unavailable");
  f.api->failure.reset();
  text = metrics_with(f, {R"(code="503",route="/sms"} 1)"});
  CHECK(text.find("memoryd_messages_ingested_total{channel=\"sms\"} 1\n") != std::string::npos);
}
