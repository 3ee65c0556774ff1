// The HTTP server over loopback with a fake service: routes, status codes, limits, shutdown.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "core/metrics.hpp"
#include "http/server.hpp"
#include "http/twilio_signature.hpp"
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

  void add_fact(std::string user_id, std::string text, std::string category,
                callback<fact> done) override {
    fact f;
    f.id = "f-new";
    f.user_id = user_id;
    f.text = text;
    f.category = category;
    f.status = "active";
    f.observed_at = f.created_at = f.updated_at = 42;
    record([&] { added_.push_back({std::move(user_id), std::move(text), std::move(category)}); });
    answer(std::move(done), std::move(f));
  }

  // Only user "u" has an active fact, "f-1".
  void delete_fact(std::string user_id, std::string fact_id, callback<bool> done) override {
    const bool found = user_id == "u" && fact_id == "f-1";
    record([&] { deleted_.emplace_back(std::move(user_id), std::move(fact_id)); });
    answer(std::move(done), found);
  }

  void erase_user(std::string user_id, callback<erase_report> done) override {
    erase_report r = user_id == "u" ? erase_result : erase_report{};
    record([&] { erased_.push_back(std::move(user_id)); });
    answer(std::move(done), r);
  }

  void run_cycle(callback<cycle_result> done) override {
    record([] {});
    answer(std::move(done), run_result);
  }

  void status(callback<status_report> done) override {
    record([] {});
    answer(std::move(done), status_result);
  }

  // Every dead message is 7 of them.
  void retry_dead(std::vector<std::string> ids, callback<std::int64_t> done) override {
    std::int64_t n = ids.empty() ? 7 : static_cast<std::int64_t>(ids.size());
    record([&] { retried_.push_back(std::move(ids)); });
    answer(std::move(done), n);
  }

  void ready(callback<health_report> done) override {
    record([] {});
    answer(std::move(done), ready_result);
  }

  void metrics(callback<std::string> done) override {
    record([] {});
    answer(std::move(done),
           metrics::render({{"memoryd_queue_messages", R"(status="pending")", 3}}));
  }

  struct added_fact {
    std::string user_id, text, category;
  };

  // Knobs, set before requests are made.
  erase_report erase_result{3, 2, 4};
  cycle_result run_result;
  status_report status_result;
  health_report ready_result;
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
  std::vector<added_fact> added() {
    std::lock_guard lk(mutex_);
    return added_;
  }
  std::vector<std::pair<std::string, std::string>> deleted() {
    std::lock_guard lk(mutex_);
    return deleted_;
  }
  std::vector<std::string> erased() {
    std::lock_guard lk(mutex_);
    return erased_;
  }
  std::vector<std::vector<std::string>> retried() {
    std::lock_guard lk(mutex_);
    return retried_;
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

  template <class F>
  void record(F&& f) {
    {
      std::lock_guard lk(mutex_);
      ++calls_;
      f();
    }
    cv_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  int calls_ = 0;
  std::vector<new_message> ingested_;
  std::vector<history_query> histories_;
  std::vector<std::pair<std::string, bool>> fact_queries_;
  std::vector<added_fact> added_;
  std::vector<std::pair<std::string, std::string>> deleted_;
  std::vector<std::string> erased_;
  std::vector<std::vector<std::string>> retried_;
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

TEST_CASE("server: a service that does not answer in time gets the client a 503") {
  auto o = test_options();
  o.reply_timeout = 200ms;
  fixture f(o);
  f.api->delay = 1500ms;  // answers long after the deadline; that late answer is dropped
  const auto t0 = std::chrono::steady_clock::now();
  auto r = f.post_form("/webhooks/twilio", "From=%2B15551234567&Body=late&MessageSid=SM8");
  const auto took = std::chrono::steady_clock::now() - t0;
  check_error(r, 503, "unavailable");
  CHECK(took < 1400ms);
  // The connection's next request is answered normally once the service is quick again.
  f.api->delay = 0ms;
  CHECK(f.get("/healthz").status == 200);
  // A processing cycle is exempt: it may legitimately run longer than the deadline.
  f.api->delay = 500ms;
  CHECK(f.post_json("/v1/processor/run", "").status == 200);
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

//------------------------------------------------------------------------------
// Twilio signatures

namespace {

// Twilio's published vector (see http_twilio_signature_tests.cpp), as the form Twilio posts.
const char* kVectorUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
const char* kVectorForm =
    "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&"
    "To=%2B18005551212";
const char* kVectorSignature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

server_options twilio_options(std::string token = "12345", std::string url = kVectorUrl) {
  auto o = test_options();
  o.twilio_auth_token = std::move(token);
  o.twilio_webhook_url = std::move(url);
  return o;
}

http_response post_signed(std::uint16_t port, const std::string& target, const std::string& body,
                          std::optional<std::string> signature,
                          const std::string& content_type = "application/x-www-form-urlencoded") {
  std::map<std::string, std::string> headers;
  if (signature) headers["X-Twilio-Signature"] = *signature;
  return http_request(port, "POST", target, body, content_type, headers);
}

}  // namespace

TEST_CASE("server: a webhook with Twilio's published signature is stored") {
  fixture f(twilio_options());
  for (const char* target : {"/webhooks/twilio", "/sms"}) {
    INFO(target);
    auto r = post_signed(f.port, target, kVectorForm, kVectorSignature);
    CHECK(r.status == 200);
    CHECK(r.body == kTwiml);
  }
  auto got = f.api->ingested();
  REQUIRE(got.size() == 2);
  CHECK(got[0].user_id == "+14158675309");
  CHECK(got[0].content.empty());
}

TEST_CASE(
    "server: a tampered parameter a wrong token or no signature gets 403 and stores nothing") {
  fixture f(twilio_options());
  const std::string tampered =
      "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=9999&From=%2B14158675309&"
      "To=%2B18005551212";
  check_error(post_signed(f.port, "/webhooks/twilio", tampered, kVectorSignature), 403,
              "invalid_signature");
  const std::string added = std::string(kVectorForm) + "&Body=hello";
  check_error(post_signed(f.port, "/webhooks/twilio", added, kVectorSignature), 403,
              "invalid_signature");
  auto missing = post_signed(f.port, "/webhooks/twilio", kVectorForm, std::nullopt);
  check_error(missing, 403, "invalid_signature");
  CHECK(missing.body.find("missing") != std::string::npos);
  check_error(post_signed(f.port, "/sms", kVectorForm, ""), 403, "invalid_signature");
  check_error(post_signed(f.port, "/sms", kVectorForm, "not-a-signature"), 403,
              "invalid_signature");
  // Right signature, wrong content type: the form parameters are not what was sent.
  check_error(post_signed(f.port, "/sms", kVectorForm, kVectorSignature, "text/plain"), 403,
              "invalid_signature");
  // Malformed percent-encoding cannot be verified.
  check_error(post_signed(f.port, "/sms", "From=%2", kVectorSignature), 403, "invalid_signature");
  // The signature is not echoed back.
  CHECK(post_signed(f.port, "/sms", tampered, kVectorSignature).body.find(kVectorSignature) ==
        std::string::npos);
  CHECK(f.api->calls() == 0);

  fixture wrong_token(twilio_options("54321"));
  check_error(post_signed(wrong_token.port, "/webhooks/twilio", kVectorForm, kVectorSignature), 403,
              "invalid_signature");
  fixture wrong_url(twilio_options("12345", "https://mycompany.com/other.php?foo=1&bar=2"));
  check_error(post_signed(wrong_url.port, "/webhooks/twilio", kVectorForm, kVectorSignature), 403,
              "invalid_signature");
  CHECK(wrong_token.api->calls() == 0);
  CHECK(wrong_url.api->calls() == 0);
}

TEST_CASE("server: a configured URL with its default port still accepts the signature") {
  fixture f(twilio_options("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2"));
  CHECK(post_signed(f.port, "/webhooks/twilio", kVectorForm, kVectorSignature).status == 200);
  CHECK(f.api->ingested().size() == 1);
}

TEST_CASE("server: without a configured URL the signature covers https Host and target") {
  fixture f(twilio_options("secret", ""));
  const std::string host = "127.0.0.1:" + std::to_string(f.port);
  const std::string body = "From=%2B15551234567&Body=I+like+tea&MessageSid=SM1";
  twilio::form_params params = {
      {"From", "+15551234567"}, {"Body", "I like tea"}, {"MessageSid", "SM1"}};
  const auto sig = twilio::compute_signature("secret", "https://" + host + "/sms?x=1", params);
  CHECK(post_signed(f.port, "/sms?x=1", body, sig).status == 200);
  // Signed for another path, or for http: refused.
  check_error(post_signed(f.port, "/webhooks/twilio?x=1", body, sig), 403, "invalid_signature");
  const auto http_sig = twilio::compute_signature("secret", "http://" + host + "/sms", params);
  check_error(post_signed(f.port, "/sms", body, http_sig), 403, "invalid_signature");
  // The bodySHA256 variant: the URL (with the body's hash) is signed, the body is hashed.
  const std::string target = "/sms?bodySHA256=" + twilio::sha256_hex(body);
  const auto body_sig = twilio::compute_signature("secret", "https://" + host + target, {});
  CHECK(post_signed(f.port, target, body, body_sig).status == 200);
  check_error(post_signed(f.port, target, body + "&x=1", body_sig), 403, "invalid_signature");
  // Form-only: a JSON body with a valid bodySHA256 signature is refused as a media type.
  const std::string json = R"({"From":"+15551234567"})";
  const std::string json_target = "/sms?bodySHA256=" + twilio::sha256_hex(json);
  const auto json_sig = twilio::compute_signature("secret", "https://" + host + json_target, {});
  check_error(post_signed(f.port, json_target, json, json_sig, "application/json"), 415,
              "unsupported_media_type");
  CHECK(f.api->ingested().size() == 2);
}

TEST_CASE("server: without a Twilio token webhooks are not checked") {
  fixture f;
  CHECK(post_signed(f.port, "/sms", kVectorForm, "anything").status == 200);
  CHECK(post_signed(f.port, "/sms", kVectorForm, std::nullopt).status == 200);
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
                  R"("errors":1,"retries_scheduled":1,"dead_lettered":0,"claim_ms":1.5,)"
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
        R"("oldest_pending_age_ms":0,"users_waiting":0},"processor":{"running":false,)"
        R"("in_flight":0,"queued":0,"pool_size":0,"cycles":0,"messages_processed":0,"errors":0,)"
        R"("facts_written":0,"success_rate":null,"last_cycle":null}})");

  status_report s;
  s.queue = {10, 2, 100, 1, 5, 3, 60000, 4};
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
  f.api->status_result = s;
  auto r = f.get("/v1/processor/status");
  CHECK(r.status == 200);
  CHECK(r.body ==
        R"({"queue":{"pending":10,"leased":2,"done":100,"dead":1,"skipped":5,)"
        R"("retry_scheduled":3,"oldest_pending_age_ms":60000,"users_waiting":4},)"
        R"("processor":{"running":true,"in_flight":2,"queued":1,"pool_size":4,"cycles":9,)"
        R"("messages_processed":200,"errors":100,"facts_written":50,"success_rate":0.667,)"
        R"("last_cycle":{"cycle_id":9,"users":0,"messages_processed":0,"facts_written":0,)"
        R"("errors":0,"retries_scheduled":0,"dead_lettered":0,"claim_ms":0,"extract_ms":0,)"
        R"("write_ms":0,"total_ms":2.5}}})");
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
  CHECK(r.body == R"({"status":"ready"})");
  f.api->ready_result = {false, "pipeline not running"};
  auto n = f.get("/readyz");
  CHECK(n.status == 503);
  CHECK(n.body == R"({"status":"not_ready","detail":"pipeline not running"})");
  f.api->ready_result = {};
  f.api->failure = api_failure{503, "unavailable", "memory.db not open"};
  auto e = f.get("/readyz");
  CHECK(e.status == 503);
  CHECK(e.body == R"({"status":"not_ready","detail":"memory.db not open"})");
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
  auto r = f.get("/metrics");
  CHECK(r.status == 200);
  CHECK(r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body.find("# HELP memoryd_http_requests_total ") != std::string::npos);
  CHECK(r.body.find("# TYPE memoryd_http_requests_total counter\n") != std::string::npos);
  CHECK(r.body.find("# TYPE memoryd_http_request_duration_seconds histogram\n") !=
        std::string::npos);
  CHECK(r.body.find("memoryd_queue_messages{status=\"pending\"} 3\n") != std::string::npos);

  CHECK(f.get("/healthz").status == 200);
  CHECK(f.get("/v1/users/%2B15551234567/facts").status == 200);
  check_error(f.get("/v1/users/u/facts/f-1"), 405, "method_not_allowed");
  check_error(f.get("/no/such/path"), 404, "not_found");
  auto text = metrics_with(
      f, {R"(memoryd_http_requests_total{route="other",code="404"} 1)",
          R"(memoryd_http_requests_total{route="/healthz",code="200"} 1)",
          R"(memoryd_http_requests_total{route="/v1/users/{id}/facts",code="200"} 1)",
          R"(memoryd_http_requests_total{route="/v1/users/{id}/facts/{fact_id}",code="405"} 1)"});
  CHECK(text.find(R"(memoryd_http_requests_total{route="/healthz",code="200"} 1)") !=
        std::string::npos);
  CHECK(text.find(R"(memoryd_http_requests_total{route="/v1/users/{id}/facts",code="200"} 1)") !=
        std::string::npos);
  CHECK(text.find(R"(memoryd_http_requests_total{route="/v1/users/{id}/facts/{fact_id}",)"
                  R"(code="405"} 1)") != std::string::npos);
  CHECK(text.find(R"(memoryd_http_requests_total{route="other",code="404"} 1)") !=
        std::string::npos);
  CHECK(text.find(R"(memoryd_http_request_duration_seconds_count{route="/healthz"} 1)") !=
        std::string::npos);
  CHECK(
      text.find(R"(memoryd_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 1)") !=
      std::string::npos);
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
      metrics_with(f, {R"(memoryd_http_requests_total{route="/v1/messages",code="202"} 1)"});
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
  text = metrics_with(f, {R"(route="/sms",code="503"} 1)"});
  CHECK(text.find("memoryd_messages_ingested_total{channel=\"sms\"} 1\n") != std::string::npos);
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
  void facts(std::string, bool, callback<fact_listing> done) override {
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
