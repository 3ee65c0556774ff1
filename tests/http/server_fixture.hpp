// A started http_server with a fake_api on an ephemeral loopback port, and the checks the
// loopback tests share.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "http/server.hpp"
#include "tests/http/fake_service.hpp"
#include "tests/support/http_client.hpp"

namespace memoryd::testing {

inline server_options test_options() {
  server_options o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  o.read_timeout = std::chrono::seconds(3);
  o.idle_timeout = std::chrono::seconds(3);
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

inline constexpr const char* kTwiml =
    R"(<?xml version="1.0" encoding="UTF-8"?><Response></Response>)";

// A JSON error body with this code, served as JSON.
inline void check_error(const http_response& r, int status, const std::string& code) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.headers.count("content-type") == 1);
  if (r.headers.count("content-type")) CHECK(r.headers.at("content-type") == "application/json");
  CHECK(r.body.rfind(R"({"error":{"code":")" + code + R"(","message":")", 0) == 0);
}

}  // namespace memoryd::testing
