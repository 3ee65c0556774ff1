// A small synchronous HTTP/1.1 client for tests, plain and over TLS: one connection per call,
// 127.0.0.1 only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

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

// TLS for the client side. By default it verifies the server's certificate against `ca_file`
// (a test's self-signed certificate is its own CA) and `host`; versions and ciphers can be
// forced, so that a test can offer what the server must refuse.
struct tls_options {
  std::string ca_file;             // PEM trust anchors; empty: the certificate is not verified
  std::string host = "localhost";  // the name checked against the certificate, sent as SNI
  // TLS1_VERSION ... TLS1_3_VERSION; 0: OpenSSL's default. Forcing either also lowers the
  // client's security level to 0, so that it can really offer TLS 1.0 and 1.1.
  int min_version = 0;
  int max_version = 0;
  std::string ciphers;  // TLS 1.2 and older cipher list; empty: OpenSSL's default
};

// The default client: verifies against `ca_file` and the name localhost.
inline tls_options trusting(std::string ca_file) {
  tls_options o;
  o.ca_file = std::move(ca_file);
  return o;
}

// http_request over TLS. Throws std::runtime_error also when the handshake fails.
http_response https_request(std::uint16_t port, const tls_options& tls, const std::string& method,
                            const std::string& target, const std::string& body = "",
                            const std::string& content_type = "",
                            const std::map<std::string, std::string>& headers = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(5));

struct tls_handshake_result {
  std::string error;        // empty: the handshake succeeded
  std::string version;      // e.g. "TLSv1.3"
  std::string cipher;       // e.g. "TLS_AES_256_GCM_SHA384"
  std::string fingerprint;  // SHA-256 of the server's certificate, lower-case hex
};

// Connects and completes a TLS handshake only, then closes. Throws only when it cannot connect.
tls_handshake_result tls_handshake(std::uint16_t port, const tls_options& tls,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace memoryd::testing
