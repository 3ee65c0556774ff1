// Built on async operations run to completion one at a time, because Beast's synchronous
// operations ignore tcp_stream deadlines and a test must never hang.

#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <limits>
#include <stdexcept>

namespace memoryd::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

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

}  // namespace

http_response http_request(std::uint16_t port, const std::string& method, const std::string& target,
                           const std::string& body, const std::string& content_type,
                           const std::map<std::string, std::string>& headers,
                           std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);
  connect(ioc, stream, port);

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
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  auto res = parser.release();
  http_response out;
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  for (const auto& field : res) {
    out.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  }
  return out;
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
