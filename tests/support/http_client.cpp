// Built on async operations run to completion one at a time, because Beast's synchronous
// operations ignore tcp_stream deadlines and a test must never hang.

#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdio>
#include <limits>
#include <memory>
#include <stdexcept>

namespace memoryd::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// Starts `op` with a completion handler that records the error, and runs the io_context
// until it completes. The tcp_stream's deadline bounds every operation.
template <class Op>
beast::error_code run(asio::io_context& ioc, Op&& op) {
  beast::error_code result;
  op([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

void connect(asio::io_context& ioc, beast::tcp_stream& stream, std::uint16_t port) {
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port};
  auto ec = run(ioc, [&](auto h) { stream.async_connect(ep, h); });
  if (ec) {
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " +
                             ec.message());
  }
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One request and its response on a connected (and, for TLS, handshaken) stream.
template <class Stream>
http_response exchange(asio::io_context& ioc, Stream& stream, std::uint16_t port,
                       const std::string& method, const std::string& target,
                       const std::string& body, const std::string& content_type,
                       const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  if (req.method() == http::verb::unknown) req.method_string(method);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::user_agent, "memoryd-tests");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();

  // A write error is not fatal yet: the server may have answered (413, 431) and stopped
  // reading before it had the whole request.
  auto write_ec = run(ioc, [&](auto h) { http::async_write(stream, req, h); });
  if (write_ec == beast::error::timeout) throw std::runtime_error("http_request: write timed out");

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit((std::numeric_limits<std::uint64_t>::max)());
  parser.header_limit((std::numeric_limits<std::uint32_t>::max)());
  auto read_ec = run(ioc, [&](auto h) { http::async_read(stream, buffer, parser, h); });
  if (read_ec) {
    throw std::runtime_error("http_request " + method + " " + target + ": " +
                             (read_ec == beast::error::timeout ? "timed out" : read_ec.message()) +
                             (write_ec ? " (write: " + write_ec.message() + ")" : ""));
  }
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);

  auto res = parser.release();
  http_response out;
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  for (const auto& field : res) {
    out.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  }
  return out;
}

ssl::context client_context(const tls_options& o) {
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX* native = ctx.native_handle();
  if (o.min_version != 0 || o.max_version != 0) {
    // Debian's default security level forbids TLS 1.0/1.1 (SHA-1 signatures) on the client
    // too; level 0 lets this client really offer them, so a refusal is the server's.
    SSL_CTX_set_security_level(native, 0);
    SSL_CTX_set_cipher_list(native, "DEFAULT:@SECLEVEL=0");
  }
  if (o.min_version != 0) SSL_CTX_set_min_proto_version(native, o.min_version);
  if (o.max_version != 0) SSL_CTX_set_max_proto_version(native, o.max_version);
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(native, o.ciphers.c_str()) != 1)
    throw std::runtime_error("tls client: bad cipher list " + o.ciphers);
  if (o.ca_file.empty()) {
    ctx.set_verify_mode(ssl::verify_none);
  } else {
    ctx.load_verify_file(o.ca_file);
    ctx.set_verify_mode(ssl::verify_peer);
  }
  return ctx;
}

// Connects and handshakes; the error of the handshake (empty: success).
std::string connect_tls(asio::io_context& ioc, tls_stream& stream, std::uint16_t port,
                        const tls_options& o) {
  connect(ioc, beast::get_lowest_layer(stream), port);
  SSL* native = stream.native_handle();
  beast::error_code not_ip;
  asio::ip::make_address(o.host, not_ip);
  if (not_ip) {
    SSL_set_tlsext_host_name(native, o.host.c_str());  // SNI carries names, never addresses
    if (!o.ca_file.empty()) SSL_set1_host(native, o.host.c_str());
  } else if (!o.ca_file.empty()) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), o.host.c_str());
  }
  auto ec = run(ioc, [&](auto h) { stream.async_handshake(ssl::stream_base::client, h); });
  if (!ec) return "";
  return ec == beast::error::timeout ? "handshake timed out" : ec.message();
}

std::string fingerprint_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1) return "";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

}  // namespace

http_response http_request(std::uint16_t port, const std::string& method, const std::string& target,
                           const std::string& body, const std::string& content_type,
                           const std::map<std::string, std::string>& headers,
                           std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);
  connect(ioc, stream, port);
  return exchange(ioc, stream, port, method, target, body, content_type, headers);
}

http_response https_request(std::uint16_t port, const tls_options& tls, const std::string& method,
                            const std::string& target, const std::string& body,
                            const std::string& content_type,
                            const std::map<std::string, std::string>& headers,
                            std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  auto ctx = client_context(tls);
  tls_stream stream(ioc, ctx);
  beast::get_lowest_layer(stream).expires_after(timeout);
  if (auto error = connect_tls(ioc, stream, port, tls); !error.empty())
    throw std::runtime_error("https_request " + method + " " + target + ": handshake: " + error);
  return exchange(ioc, stream, port, method, target, body, content_type, headers);
}

tls_handshake_result tls_handshake(std::uint16_t port, const tls_options& tls,
                                   std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  auto ctx = client_context(tls);
  tls_stream stream(ioc, ctx);
  beast::get_lowest_layer(stream).expires_after(timeout);
  tls_handshake_result r;
  r.error = connect_tls(ioc, stream, port, tls);
  if (r.error.empty()) {
    SSL* native = stream.native_handle();
    r.version = SSL_get_version(native);
    r.cipher = SSL_get_cipher_name(native);
    std::unique_ptr<X509, void (*)(X509*)> cert(SSL_get1_peer_certificate(native), &X509_free);
    r.fingerprint = fingerprint_of(cert.get());
  }
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  return r;
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);
  connect(ioc, stream, port);
  auto ec = run(ioc, [&](auto h) { asio::async_write(stream, asio::buffer(bytes), h); });
  std::string out;
  if (ec) return out;
  char chunk[4096];
  for (;;) {
    std::size_t n = 0;
    ec = run(ioc, [&](auto h) {
      stream.async_read_some(asio::buffer(chunk), [&n, h](beast::error_code e, std::size_t got) {
        n = got;
        h(e);
      });
    });
    out.append(chunk, n);
    if (ec) return out;  // EOF, reset or timeout
  }
}

}  // namespace memoryd::testing
