// The real memoryd binary serving HTTPS: requests over TLS, SIGHUP reloading the certificate
// (a good one is served to new connections, a broken one is logged and the old one kept), and
// TLS configuration errors exiting 2 naming the key. SQLite only: TLS is the HTTP layer's,
// the same in front of either backend.
#include <openssl/ssl.h>
#include <signal.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/memoryd_service.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certificate.hpp"

using namespace std::chrono_literals;
using namespace memoryd::testing;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> tls_env(const temp_dir& dir, const test_certificate& c) {
  auto env = env_for(dir);
  env["MEMORYD_TLS_CERT"] = c.cert_file;
  env["MEMORYD_TLS_KEY"] = c.key_file;
  return env;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Waits (bounded) until the service has logged `event` `n` times.
bool wait_for_event(service& svc, const std::string& event, std::size_t n) {
  for (int i = 0; i < 250; ++i) {  // 5 s at most
    if (count_of(svc.proc.out(), "\"event\":\"" + event + "\"") >= n) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Replaces a file the way a renewal tool would: written beside it, then renamed over it.
void replace_file(const std::string& from, const std::string& to) {
  fs::copy_file(from, to + ".new", fs::copy_options::overwrite_existing);
  fs::rename(to + ".new", to);
}

}  // namespace

TEST_CASE("the service answers over HTTPS", "[tls]") {
  temp_dir dir;
  auto cert = make_test_certificate(dir, "server");
  service svc(dir, tls_env(dir, cert));
  CHECK(svc.proc.out().find("\"tls\":true") != std::string::npos);
  const auto client = trusting(cert.cert_file);
  auto posted = https_request(svc.port, client, "POST", "/v1/messages",
                              R"({"user_id":"alice","role":"user","content":"I like tea"})",
                              "application/json");
  INFO(posted.body);
  CHECK(posted.status == 202);
  auto history = https_request(svc.port, client, "GET", "/v1/users/alice/messages");
  REQUIRE(history.status == 200);
  auto msgs = json::parse(history.body).at("messages").as_array();
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].at("content").as_string() == "I like tea");
  // Plain HTTP on the HTTPS port gets no answer; TLS 1.0 gets no handshake.
  CHECK_THROWS_AS(http_request(svc.port, "GET", "/healthz"), std::runtime_error);
  tls_options legacy;
  legacy.min_version = legacy.max_version = TLS1_VERSION;
  CHECK_FALSE(tls_handshake(svc.port, legacy).error.empty());
  CHECK(svc.stop() == 0);
}

TEST_CASE("SIGHUP reloads the certificate and a broken one keeps the old", "[tls]") {
  temp_dir dir;
  auto cert = make_test_certificate(dir, "server");
  service svc(dir, tls_env(dir, cert));
  CHECK(tls_handshake(svc.port, trusting(cert.cert_file)).fingerprint == cert.fingerprint);

  // A renewed certificate and key at the same paths, then SIGHUP: new connections get it.
  temp_dir staging;
  auto renewed = make_test_certificate(staging, "renewed");
  REQUIRE(renewed.fingerprint != cert.fingerprint);
  replace_file(renewed.cert_file, cert.cert_file);
  replace_file(renewed.key_file, cert.key_file);
  svc.proc.signal(SIGHUP);
  REQUIRE(wait_for_event(svc, "tls_reloaded", 1));
  CHECK(svc.proc.out().find(cert.cert_file) != std::string::npos);
  auto h = tls_handshake(svc.port, trusting(renewed.cert_file));
  INFO(h.error);
  CHECK(h.error.empty());
  CHECK(h.fingerprint == renewed.fingerprint);
  CHECK(h.fingerprint != cert.fingerprint);

  // A broken certificate: logged as an error, the renewed one is still served, the service up.
  std::ofstream(cert.cert_file, std::ios::trunc) << "-----BEGIN CERTIFICATE-----\ngarbage\n";
  svc.proc.signal(SIGHUP);
  REQUIRE(wait_for_event(svc, "tls_reload_failed", 1));
  CHECK(svc.proc.out().find("\"level\":\"error\",\"event\":\"tls_reload_failed\"") !=
        std::string::npos);
  CHECK(svc.proc.running());
  CHECK(tls_handshake(svc.port, trusting(renewed.cert_file)).fingerprint == renewed.fingerprint);
  CHECK(https_request(svc.port, trusting(renewed.cert_file), "GET", "/healthz").status == 200);
  CHECK(count_of(svc.proc.out(), "\"event\":\"tls_reloaded\"") == 1);
  CHECK(svc.stop() == 0);
}

TEST_CASE("SIGHUP without TLS changes nothing and the service keeps serving", "[tls]") {
  temp_dir dir;
  service svc(dir, env_for(dir));
  svc.proc.signal(SIGHUP);
  REQUIRE(wait_for_event(svc, "reload_skipped", 1));
  CHECK(svc.proc.running());
  CHECK(http_request(svc.port, "GET", "/healthz").status == 200);
  CHECK(svc.stop() == 0);
}

TEST_CASE("TLS configuration errors exit 2 naming the key", "[tls]") {
  temp_dir dir;
  auto cert = make_test_certificate(dir, "server");
  auto other = make_test_certificate(dir, "other");
  std::ofstream(dir.file("garbage.pem")) << "not a certificate\n";
  struct attempt {
    const char* what;
    std::map<std::string, std::string> env;
    std::string key;
  };
  const std::vector<attempt> attempts = {
      {"only a certificate", {{"MEMORYD_TLS_CERT", cert.cert_file}}, "server.tls_key"},
      {"only a key", {{"MEMORYD_TLS_KEY", cert.key_file}}, "server.tls_cert"},
      {"an unreadable certificate",
       {{"MEMORYD_TLS_CERT", dir.file("missing.pem")}, {"MEMORYD_TLS_KEY", cert.key_file}},
       "server.tls_cert"},
      {"a certificate that is not PEM",
       {{"MEMORYD_TLS_CERT", dir.file("garbage.pem")}, {"MEMORYD_TLS_KEY", cert.key_file}},
       "server.tls_cert"},
      {"an unreadable key",
       {{"MEMORYD_TLS_CERT", cert.cert_file}, {"MEMORYD_TLS_KEY", dir.file("missing.key")}},
       "server.tls_key"},
      {"a key of another certificate",
       {{"MEMORYD_TLS_CERT", cert.cert_file}, {"MEMORYD_TLS_KEY", other.key_file}},
       "server.tls_key"},
  };
  for (const auto& a : attempts) {
    INFO(a.what);
    auto env = env_for(dir);
    env.insert(a.env.begin(), a.env.end());
    auto r = run_command({binary, "serve"}, env, "", 20s);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("config error: " + a.key) != std::string::npos);
  }
}
