// The HTTP front door: Boost.Beast on its own io threads. Beast stays inside http/: this header
// includes none of it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "http/service_api.hpp"

namespace memoryd {

struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (see server::start's result)
  int threads = 2;
  std::size_t body_limit = 64 * 1024;
  std::size_t header_limit = 8 * 1024;
  std::chrono::milliseconds read_timeout{10000};  // whole request, slowloris bound
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive between requests
  std::size_t max_connections = 1024;
  // A request the service has not answered after this long gets 503 (a late answer is then
  // dropped), so a stuck disk cannot hold a client forever. POST /v1/processor/run is exempt:
  // a cycle may take as long as its extractions. 0: no deadline.
  std::chrono::milliseconds reply_timeout{15000};
  // When any token is set, every /v1/* request needs "Authorization: Bearer <token>" (else
  // 401) whose scope covers the route (else 403; http/auth.hpp). api_token has every scope.
  std::string api_token;
  // {scope, token}: scope is "ingest", "read", "metrics" or "admin" (server.api_tokens).
  std::vector<std::pair<std::string, std::string>> scoped_tokens;
  // GET /metrics needs a token with the metrics scope: memoryd listens beyond loopback and
  // server.metrics_public is not set.
  bool metrics_need_token = false;
  // When set, POST /webhooks/twilio and /sms need a valid X-Twilio-Signature (else 403,
  // nothing stored): HMAC-SHA1 with this token over the public URL and the form parameters.
  std::string twilio_auth_token;
  // The exact public URL Twilio posts to (as configured in the Twilio console, query string
  // included), which is what it signs. Empty: rebuilt as "https://" + Host + target, which is
  // right when memoryd terminates TLS itself (tls_cert_file) on the name Twilio uses, and
  // wrong behind a proxy or TLS terminator: set it there.
  std::string twilio_webhook_url;
  // HTTPS (docs/API.md, "TLS"): PEM files of the certificate (chain, leaf first) and of its
  // private key. Both empty: plain HTTP. Both set: every connection is TLS 1.2 or newer.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// A certificate or key that cannot be used: which of the two files, and why.
class tls_error : public std::runtime_error {
 public:
  enum class file { cert, key };
  tls_error(file f, const std::string& what) : std::runtime_error(what), file_(f) {}
  file which() const { return file_; }

 private:
  file file_;
};

// What a reload of the certificate did: on success a description of the certificate now
// served (subject, expiry, SHA-256 fingerprint), otherwise why the old one was kept.
struct tls_reload_result {
  bool ok = false;
  std::string message;
};

class http_server {
 public:
  http_server(server_options opts, std::shared_ptr<service_api> api);
  ~http_server();  // stop(0) if still running
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Loads the TLS certificate (if configured), binds, listens and starts the io threads.
  // Returns the bound port. Throws tls_error when the certificate or key cannot be used, and
  // std::runtime_error naming the address when it cannot listen.
  std::uint16_t start();

  // Loads tls_cert_file and tls_key_file again (on SIGHUP). Connections accepted from then on
  // use the new pair; open ones keep theirs. When the files cannot be used the old pair stays
  // and the result says why. Without TLS configured it changes nothing and fails. Any thread.
  tls_reload_result reload_tls();

  // Stops accepting, lets requests in flight finish for up to `grace` (responses switch
  // to Connection: close), then closes what is left and joins the io threads.
  void stop(std::chrono::milliseconds grace);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd
