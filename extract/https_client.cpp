// Built on async operations run to completion one at a time on the client's own io_context:
// Beast's synchronous operations ignore tcp_stream deadlines, and the request's total timeout
// must hold whatever the server does. Every socket operation runs under the request's
// deadline (tcp_stream::expires_at); name resolution, which Asio cannot cancel, runs on a
// detached thread that the request stops waiting for at the deadline.
#include "extract/https_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "extract/content_coding.hpp"

namespace memoryd {
namespace {

namespace asio = boost::asio;  // not "net": caf::net exists
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

// Answers larger than this are refused (an LLM answer is a few kB), before and after
// decoding a Content-Encoding.
constexpr std::uint64_t kMaxBodyBytes = 16 * 1024 * 1024;
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct parsed_url {
  bool tls = false;
  std::string host;  // lower case, IPv6 without brackets
  bool host_is_ip = false;
  std::string port;
  std::string host_header;  // host[:port] as sent in Host
  std::string target;       // path and query, at least "/"
  std::string key() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

parsed_url parse_url(const std::string& url) {
  parsed_url u;
  const std::string l = lower(url.substr(0, 8));
  std::size_t pos = 0;
  if (l.rfind("https://", 0) == 0) {
    u.tls = true;
    pos = 8;
  } else if (l.rfind("http://", 0) == 0) {
    pos = 7;
  } else {
    throw std::invalid_argument("URL must start with http:// or https://: " + url);
  }
  const std::size_t end = url.find_first_of("/?#", pos);
  const std::string authority =
      url.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
  u.target = end == std::string::npos ? "/" : url.substr(end);
  if (auto hash = u.target.find('#'); hash != std::string::npos) u.target.erase(hash);
  if (u.target.empty() || u.target[0] != '/') u.target.insert(0, "/");
  if (authority.empty() || authority.find('@') != std::string::npos) {
    throw std::invalid_argument("URL has no usable host: " + url);
  }
  std::string port;
  if (authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) throw std::invalid_argument("bad IPv6 host in URL: " + url);
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw std::invalid_argument("bad host in URL: " + url);
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  u.host = lower(u.host);
  if (u.host.empty()) throw std::invalid_argument("URL has no host: " + url);
  const std::string default_port = u.tls ? "443" : "80";
  if (port.empty()) port = default_port;
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535) {
    throw std::invalid_argument("bad port in URL: " + url);
  }
  u.port = std::to_string(value);
  beast::error_code addr_ec;
  asio::ip::make_address(u.host, addr_ec);
  u.host_is_ip = !addr_ec;
  const bool v6 = u.host.find(':') != std::string::npos;
  u.host_header = v6 ? "[" + u.host + "]" : u.host;
  if (u.port != default_port) u.host_header += ":" + u.port;
  return u;
}

// Resolves on a detached thread: getaddrinfo cannot be cancelled, and a hanging resolver must
// not hold the request past its deadline.
std::vector<tcp::endpoint> resolve(const parsed_url& u, clock_type::time_point deadline) {
  beast::error_code ec;
  auto addr = asio::ip::make_address(u.host, ec);
  if (!ec) return {tcp::endpoint(addr, static_cast<unsigned short>(std::stoi(u.port)))};

  struct state {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::vector<tcp::endpoint> endpoints;
    std::string error;
  };
  auto st = std::make_shared<state>();
  try {
    std::thread([st, host = u.host, port = u.port] {
      asio::io_context local;
      tcp::resolver resolver(local);
      beast::error_code rec;
      auto results = resolver.resolve(host, port, rec);
      std::lock_guard lock(st->m);
      if (rec) st->error = rec.message();
      for (const auto& r : results) st->endpoints.push_back(r.endpoint());
      st->done = true;
      st->cv.notify_all();
    }).detach();
  } catch (const std::system_error& e) {
    throw https_error(https_error_kind::connect, "cannot resolve " + u.host + ": " + e.what());
  }
  std::unique_lock lock(st->m);
  if (!st->cv.wait_until(lock, deadline, [&] { return st->done; })) {
    throw https_error(https_error_kind::timeout, "timed out resolving " + u.host);
  }
  if (!st->error.empty() || st->endpoints.empty()) {
    throw https_error(https_error_kind::connect,
                      "cannot resolve " + u.host + ": " +
                          (st->error.empty() ? std::string("no addresses") : st->error));
  }
  return st->endpoints;
}

bool is_reset(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::connection_aborted || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

}  // namespace

const char* to_string(https_error_kind kind) {
  switch (kind) {
    case https_error_kind::connect:
      return "connect";
    case https_error_kind::timeout:
      return "timeout";
    case https_error_kind::tls:
      return "tls";
    case https_error_kind::reset:
      return "reset";
    case https_error_kind::protocol:
      return "protocol";
  }
  return "unknown";
}

struct https_client::impl {
  http_client_options opts;
  ssl::context tls_ctx{ssl::context::tls_client};  // outlives the streams below
  asio::io_context ioc;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  std::string conn_key;  // parsed_url::key() of the open connection
  beast::flat_buffer buffer;
  std::int64_t opened = 0;

  explicit impl(http_client_options o) : opts(std::move(o)) {
    if (opts.timeout.count() <= 0) throw std::invalid_argument("https_client: timeout must be > 0");
    tls_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ec;
    if (!opts.ca_file.empty()) {
      tls_ctx.load_verify_file(opts.ca_file, ec);
      if (ec) {
        throw https_error(https_error_kind::tls,
                          "cannot load CA file " + opts.ca_file + ": " + ec.message());
      }
      trust_loaded = true;
    }
    tls_ctx.set_verify_mode(ssl::verify_peer);
  }

  // The system's CA store is loaded on the first TLS connection, not up front: it costs
  // tens of milliseconds and ~0.8 MB per client, which a pool of 64 extractors talking plain
  // http to a local model server would pay for nothing (2.4 s at start-up, measured).
  bool trust_loaded = false;
  void ensure_trust() {
    if (trust_loaded) return;
    beast::error_code ec;
    tls_ctx.set_default_verify_paths(ec);  // an empty store fails every handshake later
    trust_loaded = true;
  }

  bool connected() const { return plain || secure; }
  beast::tcp_stream& lowest() { return secure ? secure->next_layer() : *plain; }

  // Starts `op` with a handler recording its error and runs the io_context until it is done.
  // The tcp_stream's deadline guarantees completion.
  template <class Op>
  beast::error_code run(Op&& op) {
    beast::error_code result;
    op([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  void close() {
    if (!connected()) return;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
    secure.reset();
    plain.reset();
    conn_key.clear();
    buffer.clear();
  }

  // An idle kept-alive connection that the server closed reads as EOF (or an error).
  bool peer_closed() {
    char c = 0;
    const auto n = ::recv(lowest().socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return false;  // data waiting (e.g. TLS session tickets): let the exchange find out
  }

  void open(const parsed_url& u, clock_type::time_point deadline) {
    close();
    auto endpoints = resolve(u, deadline);
    if (u.tls) {
      ensure_trust();
      secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, tls_ctx);
    } else {
      plain = std::make_unique<beast::tcp_stream>(ioc);
    }
    auto& stream = lowest();
    stream.expires_at(deadline);
    ++opened;
    auto ec = run([&](auto h) { stream.async_connect(endpoints, h); });
    if (ec) {
      close();
      if (ec == beast::error::timeout) {
        throw https_error(https_error_kind::timeout, "timed out connecting to " + u.host_header);
      }
      throw https_error(https_error_kind::connect,
                        "cannot connect to " + u.host_header + ": " + ec.message());
    }
    beast::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    if (u.tls) handshake(u);
    conn_key = u.key();
  }

  void handshake(const parsed_url& u) {
    SSL* native = secure->native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    bool ok = true;
    if (u.host_is_ip) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(param, u.host.c_str()) == 1;
    } else {
      // SNI only for names (RFC 6066 forbids IP literals), and the name must match.
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = SSL_set_tlsext_host_name(native, u.host.c_str()) == 1 &&
           X509_VERIFY_PARAM_set1_host(param, u.host.c_str(), 0) == 1;
    }
    if (!ok) {
      close();
      throw https_error(https_error_kind::tls, "cannot set up TLS for host " + u.host);
    }
    secure->set_verify_mode(ssl::verify_peer);
    auto ec = run([&](auto h) { secure->async_handshake(ssl::stream_base::client, h); });
    if (!ec) return;
    const long verify = SSL_get_verify_result(native);
    close();
    if (ec == beast::error::timeout) {
      throw https_error(https_error_kind::timeout,
                        "timed out in TLS handshake with " + u.host_header);
    }
    if (verify != X509_V_OK) {
      throw https_error(https_error_kind::tls, "TLS certificate verification failed for " +
                                                   u.host_header + ": " +
                                                   X509_verify_cert_error_string(verify));
    }
    if (is_reset(ec)) {
      throw https_error(https_error_kind::reset,
                        "connection closed in TLS handshake with " + u.host_header);
    }
    throw https_error(https_error_kind::tls,
                      "TLS handshake with " + u.host_header + " failed: " + ec.message());
  }

  struct attempt {
    beast::error_code ec;
    bool got_some = false;  // part of an answer arrived
    http_reply reply;
    std::string decode_error;  // a complete answer whose Content-Encoding failed to decode
  };

  attempt exchange(const http::request<http::string_body>& req, clock_type::time_point deadline) {
    attempt out;
    lowest().expires_at(deadline);
    out.ec = secure ? run([&](auto h) { http::async_write(*secure, req, h); })
                    : run([&](auto h) { http::async_write(*plain, req, h); });
    if (out.ec) return out;
    buffer.clear();
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    parser.header_limit(kMaxHeaderBytes);
    out.ec = secure ? run([&](auto h) { http::async_read(*secure, buffer, parser, h); })
                    : run([&](auto h) { http::async_read(*plain, buffer, parser, h); });
    out.got_some = parser.got_some();
    if (out.ec) return out;
    auto res = parser.release();
    out.reply.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.reply.headers[lower(std::string(field.name_string()))] = std::string(field.value());
    }
    out.reply.body = std::move(res.body());
    // Only a complete, cleanly framed answer leaves the connection reusable.
    if (!res.keep_alive() || buffer.size() != 0) close();
    if (auto it = out.reply.headers.find("content-encoding"); it != out.reply.headers.end()) {
      try {
        out.reply.body = decode_content(it->second, std::move(out.reply.body), kMaxBodyBytes);
      } catch (const content_coding_error& e) {
        out.decode_error = e.what();
      }
    }
    return out;
  }

  http_reply post(const std::string& url,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  const std::string& body) {
    const parsed_url u = parse_url(url);
    const auto deadline = clock_type::now() + opts.timeout;

    http::request<http::string_body> req{http::verb::post, u.target, 11};
    req.set(http::field::host, u.host_header);
    req.set(http::field::user_agent, "memoryd");
    // RFC 9110 §12.5.3: without Accept-Encoding any coding is acceptable. Ask for none;
    // exchange() still decodes gzip and deflate from servers that compress regardless.
    req.set(http::field::accept_encoding, "identity");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();

    bool reused = connected() && conn_key == u.key() && !peer_closed();
    if (!reused) open(u, deadline);
    for (int tries = 0;; ++tries) {
      auto result = exchange(req, deadline);
      if (!result.ec && !result.decode_error.empty()) {
        throw https_error(https_error_kind::protocol, "POST " + u.key() + u.target + ": HTTP " +
                                                          std::to_string(result.reply.status) +
                                                          " answer: " + result.decode_error);
      }
      if (!result.ec) return std::move(result.reply);
      close();
      const bool timed_out = result.ec == beast::error::timeout;
      if (reused && tries == 0 && !timed_out && !result.got_some) {
        // The kept-alive connection went stale under us: once more on a fresh one.
        reused = false;
        open(u, deadline);
        continue;
      }
      const std::string where = "POST " + u.key() + u.target;
      if (timed_out) {
        throw https_error(
            https_error_kind::timeout,
            where + ": timed out after " + std::to_string(opts.timeout.count()) + " ms");
      }
      if (result.ec.category() == http::make_error_code(http::error::bad_version).category() &&
          !is_reset(result.ec)) {
        throw https_error(https_error_kind::protocol,
                          where + ": bad HTTP answer: " + result.ec.message());
      }
      throw https_error(https_error_kind::reset,
                        where + ": connection failed: " + result.ec.message());
    }
  }
};

https_client::https_client(http_client_options opts)
    : impl_(std::make_unique<impl>(std::move(opts))) {}

https_client::~https_client() = default;

http_reply https_client::post(const std::string& url,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              const std::string& body) {
  return impl_->post(url, headers, body);
}

std::int64_t https_client::connections_opened() const { return impl_->opened; }

}  // namespace memoryd
