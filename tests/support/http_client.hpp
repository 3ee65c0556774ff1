// A small synchronous HTTP/1.1 client for tests: one connection per call, 127.0.0.1 only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace memoryd::testing {

struct http_response {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
};

// Sends one request and reads one response. Throws std::runtime_error when it cannot
// connect, times out, or gets no parseable response. If the server answers before taking the
// whole body (413), the response is still returned.
http_response http_request(std::uint16_t port, const std::string& method, const std::string& target,
                           const std::string& body = "", const std::string& content_type = "",
                           const std::map<std::string, std::string>& headers = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Writes `bytes` as they are and returns everything read until the server closes the
// connection or `timeout` passes (then: what was read so far). Throws only when it cannot
// connect. For malformed and slow requests.
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout);

}  // namespace memoryd::testing
