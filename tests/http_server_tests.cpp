// The HTTP server over loopback with a fake service: routes, status codes, limits, shutdown.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "http/server.hpp"
#include "tests/support/http_client.hpp"

using namespace memoryd;
using namespace memoryd::testing;
using namespace std::chrono_literals;

namespace {

// In-memory service_api. Answers at once on the calling thread, or after `delay` from a thread
// of its own; fails every call with `failure` when set.
class fake_api : public service_api {
 public:
  ~fake_api() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lk(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  void ingest(std::vector<new_message> msgs, callback<std::vector<ingest_outcome>> done) override {
    std::vector<ingest_outcome> out;
    {
      std::lock_guard lk(mutex_);
      ++calls_;
      for (auto& m : msgs) {
        ingest_outcome o;
        o.seq = static_cast<std::int64_t>(ingested_.size() + 1);
        o.id = "id-" + std::to_string(o.seq);
        o.duplicate = !m.external_id.empty() && m.external_id == "dup";
        out.push_back(o);
        ingested_.push_back(std::move(m));
      }
    }
    cv_.notify_all();
    answer(std::move(done), std::move(out));
  }

  void history(history_query q, callback<std::vector<stored_message>> done) override {
    {
      std::lock_guard lk(mutex_);
      ++calls_;
      histories_.push_back(q);
    }
    cv_.notify_all();
    answer(std::move(done), history_result);
  }

  void facts(std::string user_id, bool with_history, callback<fact_listing> done) override {
    {
      std::lock_guard lk(mutex_);
      ++calls_;
      fact_queries_.emplace_back(std::move(user_id), with_history);
    }
    cv_.notify_all();
    answer(std::move(done), facts_result);
  }

  void health(callback<health_report> done) override {
    {
      std::lock_guard lk(mutex_);
      ++calls_;
    }
    cv_.notify_all();
    answer(std::move(done), health_result);
  }

  // Knobs, set before requests are made.
  std::optional<api_failure> failure;
  std::chrono::milliseconds delay{0};
  std::vector<stored_message> history_result;
  fact_listing facts_result;
  health_report health_result;

  int calls() {
    std::lock_guard lk(mutex_);
    return calls_;
  }
  std::vector<new_message> ingested() {
    std::lock_guard lk(mutex_);
    return ingested_;
  }
  std::vector<history_query> histories() {
    std::lock_guard lk(mutex_);
    return histories_;
  }
  std::vector<std::pair<std::string, bool>> fact_queries() {
    std::lock_guard lk(mutex_);
    return fact_queries_;
  }
  // Waits (bounded) until the service has been called `n` times in all.
  bool wait_for_calls(int n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lk(mutex_);
    return cv_.wait_for(lk, limit, [&] { return calls_ >= n; });
  }

 private:
  template <class T>
  void answer(callback<T> done, T value) {
    auto out = failure ? outcome<T>::fail(*failure) : outcome<T>::success(std::move(value));
    if (delay.count() == 0) return done(std::move(out));
    std::lock_guard lk(mutex_);
    threads_.emplace_back([d = delay, done = std::move(done), out = std::move(out)]() mutable {
      std::this_thread::sleep_for(d);
      done(std::move(out));
    });
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  int calls_ = 0;
  std::vector<new_message> ingested_;
  std::vector<history_query> histories_;
  std::vector<std::pair<std::string, bool>> fact_queries_;
  std::vector<std::thread> threads_;
};

server_options test_options() {
  server_options o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  o.read_timeout = 3s;
  o.idle_timeout = 3s;
  return o;
}

// A started server on an ephemeral loopback port. The fake outlives the server (declared first).
struct fixture {
  explicit fixture(server_options opts = test_options())
      : api(std::make_shared<fake_api>()), server(std::make_unique<http_server>(opts, api)) {
    port = server->start();
  }
  std::shared_ptr<fake_api> api;
  std::unique_ptr<http_server> server;
  std::uint16_t port = 0;

  http_response get(const std::string& target) { return http_request(port, "GET", target); }
  http_response post_json(const std::string& target, const std::string& body) {
    return http_request(port, "POST", target, body, "application/json");
  }
  http_response post_form(const std::string& target, const std::string& body) {
    return http_request(port, "POST", target, body, "application/x-www-form-urlencoded");
  }
};

const char* kTwiml = R"(<?xml version="1.0" encoding="UTF-8"?><Response></Response>)";

// A JSON error body with this code, served as JSON.
void check_error(const http_response& r, int status, const std::string& code) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.headers.count("content-type") == 1);
  if (r.headers.count("content-type")) CHECK(r.headers.at("content-type") == "application/json");
  CHECK(r.body.rfind(R"({"error":{"code":")" + code + R"(","message":")", 0) == 0);
}

}  // namespace

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

TEST_CASE("server: a Twilio webhook is ingested and answered with empty TwiML") {
  fixture f;
  auto r = f.post_form("/webhooks/twilio",
                       "SmsSid=SM1&Body=I+live+in+Boston&From=%2B15551234567&To=%2B15550000000&"
                       "MessageSid=SMabc");
  CHECK(r.status == 200);
  CHECK(r.headers["content-type"] == "text/xml");
  CHECK(r.body == kTwiml);
  auto got = f.api->ingested();
  REQUIRE(got.size() == 1);
  CHECK(got[0].user_id == "+15551234567");
  CHECK(got[0].role == "user");
  CHECK(got[0].content == "I live in Boston");
  CHECK(got[0].channel == "sms");
  CHECK(got[0].external_id == "SMabc");
  CHECK(got[0].created_at == 0);
}

TEST_CASE("server: the sms alias takes WhatsApp senders and duplicates still answer 200") {
  fixture f;
  auto r = f.post_form("/sms", "From=whatsapp%3A%2B447700900123&Body=hello&MessageSid=dup");
  CHECK(r.status == 200);
  CHECK(r.body == kTwiml);
  auto got = f.api->ingested();
  REQUIRE(got.size() == 1);
  CHECK(got[0].user_id == "+447700900123");
  CHECK(got[0].channel == "whatsapp");
}

TEST_CASE("server: content type charset parameters are accepted") {
  fixture f;
  auto r = http_request(f.port, "POST", "/webhooks/twilio", "From=%2B1555&Body=x",
                        "Application/X-WWW-Form-Urlencoded; charset=utf-8");
  CHECK(r.status == 200);
  auto j =
      http_request(f.port, "POST", "/v1/messages", R"({"user_id":"u","role":"user","content":"x"})",
                   "application/json; charset=UTF-8");
  CHECK(j.status == 202);
}

TEST_CASE("server: malformed webhooks get a JSON 4xx and ingest nothing") {
  fixture f;
  check_error(f.post_form("/webhooks/twilio", "Body=no+sender"), 400, "missing_field");
  check_error(f.post_form("/webhooks/twilio", "From=%2B1555&Body=%C0%AF"), 400, "invalid_utf8");
  check_error(f.post_form("/webhooks/twilio", "From=%2B1555&Body=50%"), 400, "invalid_form");
  check_error(http_request(f.port, "POST", "/webhooks/twilio", "From=%2B1555", "text/plain"), 415,
              "unsupported_media_type");
  check_error(http_request(f.port, "POST", "/sms", "From=%2B1555"), 415, "unsupported_media_type");
  CHECK(f.api->calls() == 0);
}

TEST_CASE("server: POST v1 messages answers 202 with ids in request order") {
  fixture f;
  auto one = f.post_json("/v1/messages",
                         R"({"user_id":"+15551234567","role":"user","content":"I like tea"})");
  CHECK(one.status == 202);
  CHECK(one.headers["content-type"] == "application/json");
  CHECK(one.body == R"({"messages":[{"id":"id-1","duplicate":false}]})");

  auto batch = f.post_json(
      "/v1/messages",
      R"({"messages":[{"user_id":"a","role":"user","content":"one","external_id":"x1"},)"
      R"({"user_id":"a","role":"assistant","content":"two","channel":"web","created_at":9},)"
      R"({"user_id":"b","role":"user","content":"three","external_id":"dup"}]})");
  CHECK(batch.status == 202);
  CHECK(batch.body ==
        R"({"messages":[{"id":"id-2","duplicate":false},{"id":"id-3","duplicate":false},)"
        R"({"id":"id-4","duplicate":true}]})");
  auto got = f.api->ingested();
  REQUIRE(got.size() == 4);
  CHECK(got[0].channel == "api");
  CHECK(got[1].content == "one");
  CHECK(got[2].role == "assistant");
  CHECK(got[2].channel == "web");
  CHECK(got[2].created_at == 9);
  CHECK(got[3].user_id == "b");
}

TEST_CASE("server: malformed JSON messages get a JSON 400 and ingest nothing") {
  fixture f;
  check_error(f.post_json("/v1/messages", "{not json"), 400, "invalid_json");
  check_error(f.post_json("/v1/messages", R"({"user_id":"u","role":"user","content":7})"), 400,
              "invalid_field");
  check_error(f.post_json("/v1/messages", R"({"user_id":"u","role":"user"})"), 400,
              "missing_field");
  check_error(f.post_json("/v1/messages", R"({"messages":[]})"), 400, "invalid_field");
  check_error(
      f.post_json("/v1/messages", "{\"user_id\":\"u\",\"role\":\"user\",\"content\":\"\xc3\x28\"}"),
      400, "invalid_utf8");
  check_error(
      f.post_json("/v1/messages", R"({"messages":[{"user_id":"u","role":"user","content":"ok"},)"
                                  R"({"user_id":"u","role":"robot","content":"x"}]})"),
      400, "invalid_field");
  check_error(http_request(f.port, "POST", "/v1/messages", R"({"user_id":"u"})", "text/plain"), 415,
              "unsupported_media_type");
  CHECK(f.api->calls() == 0);
}

TEST_CASE("server: a body over the limit gets 413 and the connection closes") {
  auto opts = test_options();
  opts.body_limit = 1024;
  fixture f(opts);
  std::string content(4096, 'a');
  auto r = f.post_json("/v1/messages",
                       R"({"user_id":"u","role":"user","content":")" + content + R"("})");
  check_error(r, 413, "payload_too_large");
  CHECK(r.headers["connection"] == "close");
  // Chunked bodies are counted too.
  std::string chunked =
      "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "200\r\n" + std::string(512, 'b') + "\r\n";
  chunked += "0\r\n\r\n";
  auto raw = raw_exchange(f.port, chunked, 5s);
  CHECK(raw.rfind("HTTP/1.1 413", 0) == 0);
  // Just under the limit still works.
  auto ok = f.post_json("/v1/messages", R"({"user_id":"u","role":"user","content":")" +
                                            std::string(900, 'a') + R"("})");
  CHECK(ok.status == 202);
  CHECK(f.api->ingested().size() == 1);
}

TEST_CASE("server: Expect 100-continue is honoured") {
  fixture f;
  std::string body = R"({"user_id":"u","role":"user","content":"hello"})";
  std::string head =
      "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nConnection: close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  auto raw = raw_exchange(f.port, head + body, 5s);
  CHECK(raw.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted", 0) == 0);
}

TEST_CASE("server: huge headers get 431") {
  fixture f;
  auto r =
      http_request(f.port, "GET", "/healthz", "", "", {{"X-Padding", std::string(16384, 'p')}});
  check_error(r, 431, "headers_too_large");
  CHECK(f.api->calls() == 0);
}

TEST_CASE("server: unknown paths get 404 and wrong methods 405 with Allow") {
  fixture f;
  check_error(f.get("/nope"), 404, "not_found");
  check_error(f.get("/"), 404, "not_found");
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

TEST_CASE("server: an answer from another thread after a delay is delivered") {
  fixture f;
  f.api->delay = 300ms;
  auto r = f.post_form("/webhooks/twilio", "From=%2B15551234567&Body=later&MessageSid=SM7");
  CHECK(r.status == 200);
  CHECK(r.body == kTwiml);
  auto h = f.get("/healthz");
  CHECK(h.status == 200);
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
        R"("processed_at":2000},)"
        R"({"id":"m-4","seq":4,"role":"assistant","content":"Nice","channel":"sms",)"
        R"("external_id":null,"created_at":1000,"status":"skipped","attempts":0,)"
        R"("last_error":null,"processed_at":null}]})");
  auto qs = f.api->histories();
  REQUIRE(qs.size() == 1);
  CHECK(qs[0].user_id == "+15551234567");
  CHECK(qs[0].limit == 10);
  CHECK(qs[0].since == 5);
  CHECK(qs[0].until == 99);
  CHECK(qs[0].role == "user");
  CHECK(qs[0].processed == 1);

  auto d = f.get("/v1/users/a%2Fb/messages?processed=false");
  CHECK(d.status == 200);
  qs = f.api->histories();
  REQUIRE(qs.size() == 2);
  CHECK(qs[1].user_id == "a/b");
  CHECK(qs[1].limit == 50);
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
                  R"("created_at":11,"updated_at":12,"source_ids":["m-1","m-2"]}]})");
  auto h = f.get("/v1/users/u/facts?include=history");
  CHECK(h.status == 200);
  CHECK(h.body.find(R"("events":[{"seq":1,"fact_id":"f-1","new_fact_id":null,"kind":"add",)"
                    R"("old_text":null,"new_text":"Has a dog named Max","cause":"extractor",)"
                    R"("extractor":"rules/1","source_ids":["m-1"],"observed_at":10,"at":11}])") !=
        std::string::npos);
  auto q = f.api->fact_queries();
  REQUIRE(q.size() == 2);
  CHECK(q[0] == std::pair<std::string, bool>{"+1555", false});
  CHECK(q[1] == std::pair<std::string, bool>{"u", true});
}

TEST_CASE("server: keep-alive serves pipelined requests on one connection") {
  fixture f;
  auto raw = raw_exchange(f.port,
                          "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                          5s);
  auto first = raw.find("HTTP/1.1 200 OK");
  auto second = raw.find("HTTP/1.1 404 Not Found");
  auto third = raw.rfind("HTTP/1.1 200 OK");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(third != first);
  CHECK(first < second);
  CHECK(second < third);
}

TEST_CASE("server: malformed HTTP gets 400 and a close") {
  fixture f;
  auto raw = raw_exchange(f.port, "THIS IS NOT HTTP\r\n\r\n", 5s);
  CHECK(raw.rfind("HTTP/1.1 400 Bad Request", 0) == 0);
  CHECK(raw.find(R"({"error":{"code":"bad_request")") != std::string::npos);
  auto bad_length = raw_exchange(
      f.port, "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 5s);
  CHECK(bad_length.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(f.api->calls() == 0);
}

TEST_CASE("server: a half-sent request is closed by the read deadline") {
  auto opts = test_options();
  opts.read_timeout = 300ms;
  fixture f(opts);
  auto start = std::chrono::steady_clock::now();
  auto raw =
      raw_exchange(f.port,
                   "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: 100\r\n\r\n{\"user_id\":",
                   10s);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(raw.find("HTTP/1.1 2") == std::string::npos);
  CHECK(took < 8s);  // closed by the server, long before the client gives up
  // Headers that never end are bounded the same way.
  auto raw2 = raw_exchange(f.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 10s);
  CHECK(raw2.find("HTTP/1.1 2") == std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start < 16s);
  CHECK(f.api->calls() == 0);
  // The server still serves.
  CHECK(f.get("/healthz").status == 200);
}

TEST_CASE("server: an idle keep-alive connection is closed after idle_timeout") {
  auto opts = test_options();
  opts.idle_timeout = 300ms;
  fixture f(opts);
  auto start = std::chrono::steady_clock::now();
  auto raw = raw_exchange(f.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 10s);
  CHECK(raw.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - start < 8s);
}

TEST_CASE("server: connections over max_connections get 503") {
  auto opts = test_options();
  opts.max_connections = 1;
  opts.read_timeout = 2s;
  fixture f(opts);
  // Holds the only slot with an unfinished request until the read deadline closes it. It may
  // itself be refused while a probe's session is still closing: then it tries again.
  std::thread holder([port = f.port] {
    for (int i = 0; i < 20; ++i) {
      auto raw = raw_exchange(port, "GET /healthz HTTP/1.1\r\n", 10s);
      if (raw.rfind("HTTP/1.1 503", 0) != 0) return;
    }
  });
  std::this_thread::sleep_for(200ms);  // let the holder in first
  int refused = 0;
  for (int i = 0; i < 50 && refused == 0; ++i) {
    auto r = f.get("/healthz");
    if (r.status == 503) {
      ++refused;
      check_error(r, 503, "overloaded");
      CHECK(r.headers["retry-after"] == "1");
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  CHECK(refused == 1);
  holder.join();
  // The slot is free again.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = f.get("/healthz").status == 200;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  CHECK(served);
}

TEST_CASE("server: stop answers a request in flight before closing") {
  fixture f;
  f.api->delay = 500ms;
  std::optional<http_response> answer;
  std::string error;
  std::thread client([&] {
    try {
      answer = f.post_json("/v1/messages", R"({"user_id":"u","role":"user","content":"x"})");
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  REQUIRE(f.api->wait_for_calls(1));
  f.server->stop(5s);
  client.join();
  INFO(error);
  REQUIRE(answer.has_value());
  CHECK(answer->status == 202);
  CHECK(answer->headers["connection"] == "close");
  // Stopped: no longer listening, and stopping again is harmless.
  CHECK_THROWS_AS(f.get("/healthz"), std::runtime_error);
  f.server->stop(0ms);
  f.server.reset();
}

TEST_CASE("server: stop with a short grace drops a late answer safely") {
  fixture f;
  f.api->delay = 400ms;
  std::thread client([&] {
    try {
      f.post_json("/v1/messages", R"({"user_id":"u","role":"user","content":"x"})");
    } catch (const std::exception&) {
      // expected: the server closed before the answer came
    }
  });
  REQUIRE(f.api->wait_for_calls(1));
  f.server->stop(0ms);
  client.join();
  f.server.reset();
  // The fake answers after the server is gone; its destructor joins that thread.
  f.api.reset();
}

TEST_CASE("server: start reports an address it cannot listen on") {
  fixture f;
  auto opts = test_options();
  opts.port = f.port;
  http_server second(opts, std::make_shared<fake_api>());
  CHECK_THROWS_AS(second.start(), std::runtime_error);
  opts.address = "not an address";
  http_server third(opts, std::make_shared<fake_api>());
  CHECK_THROWS_WITH(third.start(), Catch::Contains("not an address"));
}

TEST_CASE("server: destroying a server that never started or already stopped is fine") {
  { http_server never(test_options(), std::make_shared<fake_api>()); }
  fixture f;
  f.server->stop(100ms);
  f.server->stop(100ms);
}
