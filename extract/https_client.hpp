// A small blocking HTTP/1.1 client for the LLM backends, on Boost.Beast + OpenSSL.
//
// - http:// (local servers, tests) and https:// URLs. TLS verifies the peer against the
//   system store, or only against `ca_file` when set; SNI is sent for host names (not for IP
//   literals) and the certificate must match the host name or IP address.
// - One connection is kept alive per client and reused while scheme, host and port stay
//   the same. A kept-alive connection the server has closed is replaced before use; if a
//   write or read on a reused connection fails before any byte of the answer arrived, the
//   request is sent once more on a fresh connection.
// - Sends `Accept-Encoding: identity` and decodes a gzip or deflate Content-Encoding that
//   comes anyway (the decoded size bounded like the body); an answer whose coding cannot be
//   decoded is a protocol error.
// - `timeout` bounds a whole request (resolve + connect + TLS handshake + write + read):
//   nothing blocks longer, whatever the server does.
// Not thread-safe: one client per thread (each extractor owns one).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace memoryd {

struct http_client_options {
  std::chrono::milliseconds timeout{60000};  // total per request: connect + write + read
  std::string ca_file;                       // PEM bundle; empty: the system store
};

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;  // decoded: Content-Encoding gzip / deflate already undone
};

enum class https_error_kind : std::uint8_t {
  connect,   // bad URL host, name resolution or TCP connect failed
  timeout,   // the request's total timeout passed
  tls,       // TLS handshake failed: certificate verification, protocol mismatch
  reset,     // the connection was closed or reset before a full answer
  protocol,  // the answer is not valid HTTP/1.1, is too large, or its coding is unreadable
};

const char* to_string(https_error_kind kind);

class https_error : public std::runtime_error {
 public:
  https_error(https_error_kind kind, const std::string& what)
      : std::runtime_error(what), kind_(kind) {}
  https_error_kind kind() const { return kind_; }

 private:
  https_error_kind kind_;
};

class https_client {
 public:
  // Throws https_error (tls) when `ca_file` is set and cannot be loaded.
  explicit https_client(http_client_options opts);
  ~https_client();
  https_client(const https_client&) = delete;
  https_client& operator=(const https_client&) = delete;

  // POSTs `body` to `url` ("http[s]://host[:port]/path[?query]") with `headers` (the client
  // adds Host, User-Agent and Content-Length) and returns the answer, whatever its status.
  // Throws https_error; std::invalid_argument for a URL it cannot use.
  http_reply post(const std::string& url,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  const std::string& body);

  // TCP connections opened so far (for tests and metrics).
  std::int64_t connections_opened() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd
