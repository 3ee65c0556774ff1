// HTTPS over loopback: answers over TLS, what the server refuses (plain HTTP, TLS 1.0 and 1.1,
// TLS 1.2 ciphers without ECDHE or AEAD), the handshake deadline, the limits on TLS sessions,
// certificate reloads, certificates that cannot be used, and stopping with TLS in flight.
// Certificates are made at test time (tests/support/test_certificate.hpp).
#include <openssl/ssl.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "http/twilio_signature.hpp"
#include "tests/http/server_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certificate.hpp"

using namespace memoryd;
using namespace memoryd::testing;
using namespace std::chrono_literals;

namespace {

server_options tls_server_options(const test_certificate& c, server_options o = test_options()) {
  o.tls_cert_file = c.cert_file;
  o.tls_key_file = c.key_file;
  return o;
}

// A started TLS server with its own throwaway certificate; clients trust exactly that one.
struct tls_fixture {
  explicit tls_fixture(server_options o = test_options())
      : cert(make_test_certificate(dir, "server")), f(tls_server_options(cert, o)) {}
  temp_dir dir;
  test_certificate cert;
  fixture f;

  tls_options client() const { return trusting(cert.cert_file); }
  http_response get(const std::string& target) {
    return https_request(f.port, client(), "GET", target);
  }
  http_response post_json(const std::string& target, const std::string& body) {
    return https_request(f.port, client(), "POST", target, body, "application/json");
  }
};

tls_options pinned(int version) {
  tls_options o;  // no verification: the protocol version alone must make it fail
  o.min_version = version;
  o.max_version = version;
  return o;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("server tls: a request over TLS gets the right answer", "[tls]") {
  tls_fixture t;
  auto posted = t.post_json("/v1/messages", R"({"user_id":"u1","role":"user","content":"hi"})");
  INFO(posted.body);
  CHECK(posted.status == 202);
  REQUIRE(t.f.api->ingested().size() == 1);
  CHECK(t.f.api->ingested()[0].content == "hi");
  auto history = t.get("/v1/users/u1/messages");
  CHECK(history.status == 200);
  CHECK(history.body.find(R"("messages":)") != std::string::npos);
  REQUIRE(t.f.api->histories().size() == 1);
  CHECK(t.f.api->histories()[0].user_id == "u1");
  // The certificate is the one configured, verified against itself by name and address.
  auto h = tls_handshake(t.f.port, t.client());
  CHECK(h.error.empty());
  CHECK(h.fingerprint == t.cert.fingerprint);
  CHECK(h.version == "TLSv1.3");
  auto by_ip = t.client();
  by_ip.host = "127.0.0.1";
  CHECK(tls_handshake(t.f.port, by_ip).error.empty());
  // A client that trusts another certificate refuses this one.
  auto other = make_test_certificate(t.dir, "other");
  auto h2 = tls_handshake(t.f.port, trusting(other.cert_file));
  CHECK(h2.error.find("certificate verify failed") != std::string::npos);
}

TEST_CASE("server tls: TLS 1.2 gets ECDHE with AEAD in the server's order", "[tls]") {
  tls_fixture t;
  auto o = t.client();
  o.max_version = TLS1_2_VERSION;
  auto h = tls_handshake(t.f.port, o);
  INFO(h.error);
  CHECK(h.error.empty());
  CHECK(h.version == "TLSv1.2");
  CHECK(h.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256");
  // The client prefers ChaCha20; the server's preference (AES-GCM first) wins.
  o.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384";
  h = tls_handshake(t.f.port, o);
  CHECK(h.error.empty());
  CHECK(h.cipher == "ECDHE-ECDSA-AES256-GCM-SHA384");
  CHECK(https_request(t.f.port, o, "GET", "/healthz").status == 200);
}

TEST_CASE("server tls: TLS 1.0 and 1.1 handshakes fail", "[tls]") {
  tls_fixture t;
  for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    INFO("version " << std::hex << version);
    auto h = tls_handshake(t.f.port, pinned(version));
    CHECK_FALSE(h.error.empty());
    CHECK(h.version.empty());
  }
  // The same client, allowed TLS 1.2, gets through: the refusal was the version.
  auto ok = pinned(TLS1_2_VERSION);
  CHECK(tls_handshake(t.f.port, ok).error.empty());
  ok.min_version = TLS1_VERSION;
  CHECK(tls_handshake(t.f.port, ok).version == "TLSv1.2");
  CHECK(t.f.api->calls() == 0);
}

TEST_CASE("server tls: TLS 1.2 ciphers without ECDHE and AEAD are refused", "[tls]") {
  tls_fixture t;
  auto o = pinned(TLS1_2_VERSION);
  // CBC with SHA-2 and SHA-1 MACs (ECDHE, so only the AEAD rule refuses them).
  o.ciphers = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA";
  CHECK_FALSE(tls_handshake(t.f.port, o).error.empty());
  // No forward secrecy: static-key and anonymous suites.
  o.ciphers = "AES128-GCM-SHA256:AES256-GCM-SHA384:AECDH-AES128-SHA";
  CHECK_FALSE(tls_handshake(t.f.port, o).error.empty());
  o.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  CHECK(tls_handshake(t.f.port, o).error.empty());
}

TEST_CASE("server tls: plain HTTP to the TLS port gets no HTTP answer", "[tls]") {
  tls_fixture t;
  const auto t0 = std::chrono::steady_clock::now();
  auto raw = raw_exchange(t.f.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 5s);
  CHECK(raw.find("HTTP/1.") == std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);  // closed by the server, not our timeout
  CHECK_THROWS_AS(http_request(t.f.port, "GET", "/healthz"), std::runtime_error);
  CHECK(t.f.api->calls() == 0);
  CHECK(t.get("/healthz").status == 200);
}

TEST_CASE("server tls: a stalled handshake is closed by the read deadline", "[tls]") {
  auto o = test_options();
  o.read_timeout = 300ms;
  tls_fixture t(o);
  // Connects and sends nothing.
  auto t0 = std::chrono::steady_clock::now();
  auto raw = raw_exchange(t.f.port, "", 10s);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(raw.empty());
  CHECK(took >= 250ms);
  CHECK(took < 2s);
  // Starts a ClientHello record and never finishes it.
  t0 = std::chrono::steady_clock::now();
  raw =
      raw_exchange(t.f.port, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 10s);
  took = std::chrono::steady_clock::now() - t0;
  CHECK(took < 2s);
  CHECK(t.get("/healthz").status == 200);
}

TEST_CASE("server tls: body limits, deadlines and max_connections hold for TLS", "[tls]") {
  SECTION("a body over the limit gets 413") {
    auto o = test_options();
    o.body_limit = 1024;
    tls_fixture t(o);
    auto r = t.post_json("/v1/messages", R"({"user_id":"u","role":"user","content":")" +
                                             std::string(4096, 'a') + R"("})");
    check_error(r, 413, "payload_too_large");
    CHECK(r.headers["connection"] == "close");
    CHECK(t.f.api->calls() == 0);
  }
  SECTION("connections over max_connections get 503 after their handshake") {
    auto o = test_options();
    o.max_connections = 1;
    o.read_timeout = 2s;
    tls_fixture t(o);
    // Holds the only slot with a handshake that never starts, until the read deadline.
    std::thread holder([port = t.f.port] { raw_exchange(port, "", 10s); });
    std::this_thread::sleep_for(200ms);
    int refused = 0;
    for (int i = 0; i < 50 && refused == 0; ++i) {
      auto r = t.get("/healthz");
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
    bool served = false;
    for (int i = 0; i < 50 && !served; ++i) {
      served = t.get("/healthz").status == 200;
      if (!served) std::this_thread::sleep_for(20ms);
    }
    CHECK(served);
  }
}

TEST_CASE("server tls: reload_tls serves a new certificate and keeps the old on failure", "[tls]") {
  tls_fixture t;
  const auto first = t.cert.fingerprint;
  CHECK(tls_handshake(t.f.port, t.client()).fingerprint == first);

  // New files at the same paths (as a certificate renewal writes them).
  temp_dir staging;
  auto renewed = make_test_certificate(staging, "renewed");
  std::filesystem::copy_file(renewed.cert_file, t.cert.cert_file,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(renewed.key_file, t.cert.key_file,
                             std::filesystem::copy_options::overwrite_existing);
  CHECK(tls_handshake(t.f.port, tls_options{}).fingerprint == first);  // not yet reloaded
  auto r = t.f.server->reload_tls();
  INFO(r.message);
  REQUIRE(r.ok);
  CHECK(r.message.find("CN=localhost") != std::string::npos);
  auto h = tls_handshake(t.f.port, trusting(renewed.cert_file));
  CHECK(h.error.empty());
  CHECK(h.fingerprint == renewed.fingerprint);

  // A broken certificate: the reload fails saying why, the renewed one is still served.
  write_file(t.cert.cert_file, "-----BEGIN CERTIFICATE-----\nnot base64\n");
  r = t.f.server->reload_tls();
  CHECK_FALSE(r.ok);
  CHECK(r.message.find(t.cert.cert_file) != std::string::npos);
  CHECK(tls_handshake(t.f.port, trusting(renewed.cert_file)).fingerprint == renewed.fingerprint);
  // A key that does not belong to the certificate: refused as well.
  std::filesystem::copy_file(renewed.cert_file, t.cert.cert_file,
                             std::filesystem::copy_options::overwrite_existing);
  auto stranger = make_test_certificate(staging, "stranger");
  std::filesystem::copy_file(stranger.key_file, t.cert.key_file,
                             std::filesystem::copy_options::overwrite_existing);
  r = t.f.server->reload_tls();
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("does not match") != std::string::npos);
  CHECK(https_request(t.f.port, trusting(renewed.cert_file), "GET", "/healthz").status == 200);

  // Without TLS there is nothing to reload.
  fixture plain;
  auto none = plain.server->reload_tls();
  CHECK_FALSE(none.ok);
  CHECK(none.message == "TLS is not configured");
}

TEST_CASE("server tls: a certificate or key that cannot be used stops start naming the file",
          "[tls]") {
  temp_dir dir;
  auto good = make_test_certificate(dir, "good");
  auto other = make_test_certificate(dir, "other");
  write_file(dir.file("garbage.pem"), "not a certificate\n");
  // An encrypted key would need a passphrase: it must fail, not prompt on a terminal.
  auto enc = run_command({"/usr/bin/openssl", "pkey", "-in", good.key_file, "-aes256", "-passout",
                          "pass:secret", "-out", dir.file("encrypted.key")},
                         {});
  REQUIRE(enc.exit_code == 0);
  struct attempt {
    std::string cert, key;
    tls_error::file which;
    std::string says;
  };
  const std::vector<attempt> attempts = {
      {dir.file("missing.pem"), good.key_file, tls_error::file::cert, "cannot read"},
      {good.cert_file, dir.file("missing.key"), tls_error::file::key, "cannot read"},
      {dir.file("garbage.pem"), good.key_file, tls_error::file::cert, "garbage.pem"},
      {good.cert_file, dir.file("garbage.pem"), tls_error::file::key, "garbage.pem"},
      {good.key_file, good.key_file, tls_error::file::cert, "good.key"},
      {good.cert_file, other.key_file, tls_error::file::key, "does not match"},
      {good.cert_file, dir.file("encrypted.key"), tls_error::file::key, "encrypted.key"},
  };
  for (const auto& a : attempts) {
    INFO(a.cert << " + " << a.key);
    auto o = test_options();
    o.tls_cert_file = a.cert;
    o.tls_key_file = a.key;
    http_server server(o, std::make_shared<fake_api>());
    try {
      server.start();
      FAIL("started");
    } catch (const tls_error& e) {
      INFO(e.what());
      CHECK(e.which() == a.which);
      CHECK(std::string(e.what()).find(a.says) != std::string::npos);
    }
  }
}

TEST_CASE("server tls: without a configured URL the Twilio signature covers https Host", "[tls]") {
  auto o = test_options();
  o.twilio_auth_token = "secret";
  tls_fixture t(o);
  const std::string host = "127.0.0.1:" + std::to_string(t.f.port);
  const std::string body = "From=%2B15551234567&Body=I+like+tea&MessageSid=SM1";
  twilio::form_params params = {
      {"From", "+15551234567"}, {"Body", "I like tea"}, {"MessageSid", "SM1"}};
  auto post = [&](const std::string& url) {
    return https_request(
        t.f.port, t.client(), "POST", "/sms", body, "application/x-www-form-urlencoded",
        {{"X-Twilio-Signature", twilio::compute_signature("secret", url, params)}});
  };
  // What Twilio signs when it posts to memoryd's own HTTPS address.
  CHECK(post("https://" + host + "/sms").status == 200);
  check_error(post("http://" + host + "/sms"), 403, "invalid_signature");
  CHECK(t.f.api->ingested().size() == 1);
}

TEST_CASE("server tls: stop answers a TLS request in flight before closing", "[tls]") {
  tls_fixture t;
  t.f.api->delay = 500ms;
  std::optional<http_response> answer;
  std::string error;
  std::thread client([&] {
    try {
      answer = t.post_json("/v1/messages", R"({"user_id":"u","role":"user","content":"x"})");
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  REQUIRE(t.f.api->wait_for_calls(1));
  const auto t0 = std::chrono::steady_clock::now();
  t.f.server->stop(5s);
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);
  client.join();
  INFO(error);
  REQUIRE(answer.has_value());
  CHECK(answer->status == 202);
  CHECK(answer->headers["connection"] == "close");
  CHECK_THROWS_AS(t.get("/healthz"), std::runtime_error);
}
