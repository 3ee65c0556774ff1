#include "http/session.hpp"

#include "core/log.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "http/handlers.hpp"
#include "http/message.hpp"
#include "http/responses.hpp"
#include "http/routes.hpp"

namespace memoryd {
namespace {

namespace asio = boost::asio;  // not "net": caf::net exists
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// The two kinds of connection: the session is a template over them (see session.hpp).
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// Limits that are not (yet) configuration.
// A client that stops reading our response must not hold a session forever.
constexpr std::chrono::seconds kWriteTimeout{30};
// After a response with Connection: close we half-close and read what the client is still
// sending (e.g. the rest of a body we refused), so that closing the socket does not turn into
// a TCP reset that destroys the response before the client reads it. Bounded both ways.
constexpr std::chrono::milliseconds kLingerTimeout{2000};
constexpr std::size_t kLingerBytes = 1024 * 1024;
// How much one idle keep-alive read asks for; the parser takes it from there.
constexpr std::size_t kIdleReadBytes = 4096;
// An over-capacity 503 must be written within this (see kMaxRefusing in server.cpp).
// For TLS its handshake has the same bound: refusing must stay cheap.
constexpr std::chrono::seconds kRefuseTimeout{2};

constexpr const char* kServerName = "memoryd";

}  // namespace

// One connection: (TLS: handshake,) read a request, route it, write the answer, repeat while
// keep-alive. Stream is plain_stream or tls_stream; what differs is behind `if constexpr`.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, tls_stream>;

  // TLS only: the context this connection was accepted with. Declared before stream_, which
  // refers to it; a reload replaces the server's context, never this one.
  std::shared_ptr<ssl::context> tls_context_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<server_state> state_;
  const bool counted_;  // false for connections refused over max_connections
  // A fresh parser per request: limits are per message and a parser cannot be reused.
  std::optional<http::request_parser<http::string_body>> parser_;
  request req_;
  response res_;
  std::uint64_t generation_ = 0;  // which request a service answer belongs to
  bool awaiting_reply_ = false;
  asio::steady_timer reply_timer_;  // server_options::reply_timeout
  // For metrics: the route of the request being answered and when it was complete (or
  // refused), as of do_write.
  route route_ = route::none;
  std::chrono::steady_clock::time_point answering_since_{};
  std::size_t lingered_ = 0;
  std::array<char, 4096> discard_{};

  using std::enable_shared_from_this<session>::shared_from_this;
  using std::enable_shared_from_this<session>::weak_from_this;

  static Stream make_stream(tcp::socket socket, ssl::context* ctx) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *ctx);
    } else {
      (void)ctx;
      return Stream(std::move(socket));
    }
  }

  // The TCP stream under TLS (or the stream itself): deadlines and the socket live there.
  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

 public:
  session(tcp::socket socket, std::shared_ptr<ssl::context> tls_context,
          std::shared_ptr<server_state> state, bool counted)
      : tls_context_(std::move(tls_context)),
        stream_(make_stream(std::move(socket), tls_context_.get())),
        state_(std::move(state)),
        counted_(counted),
        reply_timer_(stream_.get_executor()) {
    ++(counted_ ? state_->connections : state_->refusing);
  }

  ~session() { --(counted_ ? state_->connections : state_->refusing); }

  void run() {
    // Start on the session's strand: the socket was accepted onto it.
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if constexpr (kTls) return self->do_handshake();
      self->on_connected();
    });
  }

 private:
  void on_connected() {
    if (!counted_) return do_refuse();
    do_read_request(false);
  }

  //--- TLS: the handshake comes first

  // Bounded like a request (read_timeout): a client that connects and sends nothing, or
  // trickles its hello, is closed then. A refused connection gets kRefuseTimeout.
  void do_handshake() {
    tcp_layer().expires_after(counted_ ? state_->opts.read_timeout
                                       : std::chrono::milliseconds(kRefuseTimeout));
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&session::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    // Scanners, plain HTTP on the TLS port, old protocol versions, timeouts: nothing to
    // answer in a protocol the client understands. Debug only: anyone can cause these.
    if (ec) {
      log::debug("tls_handshake_failed", {{"error", ec.message()}});
      return do_close();
    }
    on_connected();
  }

  //--- over max_connections: 503 without reading anything

  void do_refuse() {
    route_ = route::none;
    answering_since_ = std::chrono::steady_clock::now();
    res_ = error_response(http::status::service_unavailable, "overloaded",
                          "too many connections, retry later");
    res_.set(http::field::retry_after, "1");
    do_write(false, kRefuseTimeout);
  }

  //--- reading a request

  // A new request. On a kept-alive connection with nothing buffered we first wait up to
  // idle_timeout for its first byte; from then on (and from accept) the whole request must
  // arrive within read_timeout, which bounds slowloris clients.
  void do_read_request(bool keep_alive_wait) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        state_->opts.header_limit, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(state_->opts.body_limit);
    if (keep_alive_wait && buffer_.size() == 0) {
      tcp_layer().expires_after(state_->opts.idle_timeout);
      stream_.async_read_some(
          buffer_.prepare(kIdleReadBytes),
          beast::bind_front_handler(&session::on_idle_read, shared_from_this()));
      return;
    }
    do_read_header();
  }

  void on_idle_read(beast::error_code ec, std::size_t n) {
    if (ec) return do_close();  // idle timeout (socket already closed), EOF, reset
    buffer_.commit(n);
    do_read_header();
  }

  void do_read_header() {
    tcp_layer().expires_after(state_->opts.read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_read_header, shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    // curl sends Expect: 100-continue for bodies over 1 KiB and waits a second for this. The
    // parser has already checked Content-Length against body_limit, so we only invite bodies
    // we are going to accept.
    auto expect = parser_->get().find(http::field::expect);
    if (expect != parser_->get().end() && beast::iequals(expect->value(), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        beast::bind_front_handler(&session::on_continue, shared_from_this()));
      return;
    }
    do_read_body();
  }

  void on_continue(beast::error_code ec, std::size_t) {
    if (ec) return do_close();
    do_read_body();
  }

  void do_read_body() {
    // The read_timeout deadline set for the header still runs: it covers the whole request.
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    answering_since_ = std::chrono::steady_clock::now();
    req_ = parser_->release();
    parser_.reset();
    do_handle();
  }

  void on_read_error(beast::error_code ec) {
    // Clean end between requests, timeout (the stream has closed the socket already), or a
    // transport error: nothing to answer.
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == beast::error::timeout ||
        ec.category() != http::make_error_code(http::error::bad_method).category()) {
      return do_close();
    }
    // The bytes were not HTTP we accept: answer and close, the stream is out of sync.
    route_ = route::none;
    answering_since_ = std::chrono::steady_clock::now();
    if (ec == http::error::body_limit) {
      res_ = error_response(
          http::status::payload_too_large, "payload_too_large",
          "request body exceeds " + std::to_string(state_->opts.body_limit) + " bytes");
    } else if (ec == http::error::header_limit) {
      res_ = error_response(
          http::status::request_header_fields_too_large, "headers_too_large",
          "request headers exceed " + std::to_string(state_->opts.header_limit) + " bytes");
    } else {
      res_ = error_response(http::status::bad_request, "bad_request",
                            "malformed HTTP request: " + ec.message());
    }
    do_write(false);
  }

  //--- handling: the service may answer on any thread, so answers are posted back here

  void do_handle() {
    {
      std::lock_guard lk(state_->in_flight_mutex);
      state_->in_flight.emplace(this, shared_from_this());
    }
    awaiting_reply_ = true;
    const std::uint64_t gen = ++generation_;
    reply_fn reply = [weak = weak_from_this(), gate = state_->gate, gen](response res) {
      std::lock_guard lk(gate->mutex);
      if (!gate->open) return;  // the io_context is gone
      auto self = weak.lock();
      if (!self) return;
      asio::post(self->stream_.get_executor(), [self, gen, res = std::move(res)]() mutable {
        self->on_reply(gen, std::move(res));
      });
    };
    try {
      auto t = parse_target(req_.target());
      route_ = t ? t->r : route::none;
      do_reply_deadline(gen);
      handle_request(req_, t, state_->opts, *state_->api, std::move(reply));
    } catch (const std::exception& e) {
      log::warn("http_handler_error", {{"error", e.what()}});
      on_reply(gen,
               error_response(http::status::internal_server_error, "internal", "internal error"));
    }
  }

  void do_reply_deadline(std::uint64_t gen) {
    if (state_->opts.reply_timeout.count() <= 0 || route_ == route::processor_run) return;
    reply_timer_.expires_after(state_->opts.reply_timeout);
    reply_timer_.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      if (ec) return;  // cancelled: the answer came first
      log::warn("http_reply_timeout", {{"route", pattern_of(self->route_)}});
      self->on_reply(gen, error_response(http::status::service_unavailable, "unavailable",
                                         "the service did not answer in time"));
    });
  }

  void on_reply(std::uint64_t gen, response res) {
    if (!awaiting_reply_ || gen != generation_) return;  // the service answered twice
    awaiting_reply_ = false;
    reply_timer_.cancel();
    res_ = std::move(res);
    do_write(req_.keep_alive());
  }

  //--- writing the response

  void do_write(bool keep_alive, std::chrono::steady_clock::duration timeout = kWriteTimeout) {
    res_.version(11);
    res_.set(http::field::server, kServerName);
    res_.keep_alive(keep_alive && !state_->stopping.load());
    res_.prepare_payload();
    tcp_layer().expires_after(timeout);
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    const bool keep_alive = res_.keep_alive();
    record_http_metrics(route_, res_.result_int(),
                        std::chrono::steady_clock::now() - answering_since_);
    res_ = {};
    finish_request();
    if (ec) return do_close();
    if (!keep_alive) return do_linger();
    do_read_request(true);
  }

  void finish_request() {
    std::shared_ptr<void> keep;  // destroyed outside the lock
    {
      std::lock_guard lk(state_->in_flight_mutex);
      auto it = state_->in_flight.find(this);
      if (it == state_->in_flight.end()) return;
      keep = std::move(it->second);
      state_->in_flight.erase(it);
    }
    state_->in_flight_cv.notify_all();
  }

  //--- closing

  // Half-close, then discard whatever the client still sends, until it closes too or a bound
  // is hit (see kLingerTimeout). TLS sends its close_notify first, within the same bound; the
  // bytes discarded after it are read below TLS, as nothing in them matters any more.
  void do_linger() {
    tcp_layer().expires_after(kLingerTimeout);
    if constexpr (kTls) {
      stream_.async_shutdown(
          beast::bind_front_handler(&session::on_tls_shutdown, shared_from_this()));
    } else {
      do_half_close();
    }
  }

  // Whatever the peer did (its close_notify, a close, more data): ours has been sent unless
  // the deadline cut it.
  void on_tls_shutdown(beast::error_code ec) {
    if (ec == beast::error::timeout) return do_close();
    do_half_close();
  }

  void do_half_close() {
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return do_close();
    do_discard();
  }

  void do_discard() {
    tcp_layer().async_read_some(
        asio::buffer(discard_),
        beast::bind_front_handler(&session::on_discard, shared_from_this()));
  }

  void on_discard(beast::error_code ec, std::size_t n) {
    lingered_ += n;
    if (ec || lingered_ > kLingerBytes) return do_close();
    do_discard();
  }

  void do_close() {
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_layer().close();
  }
};

void run_session(tcp::socket socket, std::shared_ptr<server_state> state, bool counted) {
  if (!state->tls) {
    std::make_shared<session<plain_stream>>(std::move(socket), nullptr, std::move(state), counted)
        ->run();
    return;
  }
  auto ctx = state->tls_context();
  if (!ctx) return;  // not started: cannot happen once start() has loaded it
  std::make_shared<session<tls_stream>>(std::move(socket), std::move(ctx), std::move(state),
                                        counted)
      ->run();
}

}  // namespace memoryd
