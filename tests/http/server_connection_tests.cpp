// The connection over loopback: body and header limits, 100-continue, keep-alive, malformed
// HTTP, read, idle and reply deadlines, max_connections, and starting and stopping.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "tests/http/server_fixture.hpp"

using namespace memoryd;
using namespace memoryd::testing;
using namespace std::chrono_literals;

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

//------------------------------------------------------------------------------
// Start and stop

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
