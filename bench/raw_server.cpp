// bench_raw_server: the "no storage" baseline for the ingest benchmark (DESIGN.md §8).
//
// A minimal Boost.Beast HTTP/1.1 server in the same shape as memoryd's http/session.cpp
// (async, one strand per connection, keep-alive, `--threads` io threads, default 2 like
// server.io_threads) that answers every request with 200 and a tiny body and stores nothing.
// Measured in the same run as memoryd, it makes the ratio honest on a noisy machine.
//
//   bench_raw_server [--port N] [--threads N]      (listens on 127.0.0.1 only)
//
// Prints {"bench":"raw_server","port":N,"threads":T} once listening, then runs until
// SIGTERM or SIGINT.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::chrono::seconds kIdleTimeout{60};

class session : public std::enable_shared_from_this<session> {
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;

 public:
  explicit session(tcp::socket socket) : stream_(std::move(socket)) {}

  void run() { do_read(); }

 private:
  void do_read() {
    req_ = {};
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, req_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return do_close();
    res_ = {http::status::ok, req_.version()};
    res_.set(http::field::server, "raw");
    res_.set(http::field::content_type, "text/plain");
    res_.body() = "ok";
    res_.keep_alive(req_.keep_alive());
    res_.prepare_payload();
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return do_close();
    if (!res_.keep_alive()) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  }
};

class listener : public std::enable_shared_from_this<listener> {
  asio::io_context& ioc_;
  tcp::acceptor acceptor_;

 public:
  listener(asio::io_context& ioc, const tcp::endpoint& ep)
      : ioc_(ioc), acceptor_(asio::make_strand(ioc)) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void do_accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<session>(std::move(socket))->run();
    do_accept();
  }
};

int usage() {
  std::cerr << "usage: bench_raw_server [--port N] [--threads N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  int threads = 2;  // memoryd's server.io_threads default
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--port" || a == "--threads") && i + 1 < argc) {
      int v = std::atoi(argv[++i]);
      (a == "--port" ? port : threads) = v;
    } else {
      return usage();
    }
  }
  if (port < 0 || port > 65535 || threads < 1 || threads > 64) return usage();

  asio::io_context ioc{threads};
  std::shared_ptr<listener> l;
  try {
    l = std::make_shared<listener>(
        ioc, tcp::endpoint{asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port)});
  } catch (const std::exception& e) {
    std::cerr << "bench_raw_server: cannot listen: " << e.what() << "\n";
    return 1;
  }
  l->do_accept();
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
  std::cout << "{\"bench\":\"raw_server\",\"port\":" << l->port() << ",\"threads\":" << threads
            << "}" << std::endl;

  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  return 0;
}
