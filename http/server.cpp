// The HTTP front door, in the style of Beast's advanced server: utilities, then the pure
// request -> response routing, then the per-connection session, then the listener, then
// http_server itself. Each class reads in protocol order (do_x starts an operation, on_x
// is its completion), and every limit is a named constant or a server_options field.
//
// Threads and lifetimes, in one place:
// - Each connection is a session on its own strand; `threads` io threads run the io_context.
// - The service answers on any thread. Answers go through a reply gate that posts them onto
//   the session's strand, and only while the io_context exists (see reply_gate).
// - A session waiting for the service has no asio operation pending, so nothing in the
//   io_context owns it: server_state::in_flight does, until its response is written. The
//   service's callback only holds a weak_ptr, so a late answer never keeps a socket (and
//   with it the io_context) alive past stop().
#include "http/server.hpp"

#include "core/log.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/handlers.hpp"
#include "http/message.hpp"
#include "http/responses.hpp"
#include "http/routes.hpp"

namespace memoryd {
namespace {

namespace asio = boost::asio;  // not "net": caf::net exists
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

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
// An accept that fails (EMFILE, ENFILE) would fail again at once: back off instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// Connections over max_connections get a 503 (written within kRefuseTimeout); beyond this
// many refusals under way at once, further ones are closed without an answer.
constexpr std::size_t kMaxRefusing = 64;
constexpr std::chrono::seconds kRefuseTimeout{2};
// stop() waits this long for the acceptor to close on its strand.
constexpr std::chrono::seconds kAcceptorCloseWait{2};

constexpr const char* kServerName = "memoryd";

//------------------------------------------------------------------------------
// State shared by the listener, the sessions and http_server.

class session;

// Closed (under the mutex) before the io_context is destroyed; replies that come later are
// dropped. Replies hold only this and a weak_ptr to their session, never the server_state:
// otherwise the last reference to the service could be dropped on the service's own thread.
struct reply_gate {
  std::mutex mutex;
  bool open = true;
};

struct server_state {
  server_state(server_options o, std::shared_ptr<service_api> a)
      : opts(std::move(o)), api(std::move(a)) {}

  const server_options opts;
  const std::shared_ptr<service_api> api;
  std::atomic<bool> stopping{false};        // responses switch to Connection: close
  std::atomic<std::size_t> connections{0};  // open sessions, checked against max_connections
  std::atomic<std::size_t> refusing{0};     // sessions writing an over-capacity 503

  // Sessions with a request read and its response not yet written. Owning them here keeps a
  // session alive while the service works on its request; stop() waits for this to empty.
  std::mutex in_flight_mutex;
  std::condition_variable in_flight_cv;
  std::unordered_map<const session*, std::shared_ptr<session>> in_flight;

  const std::shared_ptr<reply_gate> gate = std::make_shared<reply_gate>();
};

//------------------------------------------------------------------------------
// One connection: read a request, route it, write the answer, repeat while keep-alive.

class session : public std::enable_shared_from_this<session> {
  beast::tcp_stream stream_;
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

 public:
  session(tcp::socket socket, std::shared_ptr<server_state> state, bool counted)
      : stream_(std::move(socket)),
        state_(std::move(state)),
        counted_(counted),
        reply_timer_(stream_.get_executor()) {
    ++(counted_ ? state_->connections : state_->refusing);
  }

  ~session() { --(counted_ ? state_->connections : state_->refusing); }

  void run() {
    // Start on the session's strand: the socket was accepted onto it.
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->counted_) return self->do_refuse();
      self->do_read_request(false);
    });
  }

 private:
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
      stream_.expires_after(state_->opts.idle_timeout);
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
    stream_.expires_after(state_->opts.read_timeout);
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
    stream_.expires_after(timeout);
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
    std::shared_ptr<session> keep;  // destroyed outside the lock
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
  // is hit (see kLingerTimeout).
  void do_linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return do_close();
    stream_.expires_after(kLingerTimeout);
    do_discard();
  }

  void do_discard() {
    stream_.async_read_some(asio::buffer(discard_),
                            beast::bind_front_handler(&session::on_discard, shared_from_this()));
  }

  void on_discard(beast::error_code ec, std::size_t n) {
    lingered_ += n;
    if (ec || lingered_ > kLingerBytes) return do_close();
    do_discard();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }
};

//------------------------------------------------------------------------------
// Accepts connections and hands each to a session on its own strand.

class listener : public std::enable_shared_from_this<listener> {
  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::shared_ptr<server_state> state_;

 public:
  listener(asio::io_context& ioc, std::shared_ptr<server_state> state)
      : ioc_(ioc),
        acceptor_(asio::make_strand(ioc)),
        retry_timer_(acceptor_.get_executor()),
        state_(std::move(state)) {}

  // Throws std::runtime_error naming the address. Returns the bound port.
  std::uint16_t listen(const std::string& address, std::uint16_t port) {
    const std::string where = address + ":" + std::to_string(port);
    beast::error_code ec;
    auto ip = asio::ip::make_address(address, ec);
    if (ec) throw std::runtime_error("cannot listen on " + where + ": invalid address");
    tcp::endpoint endpoint{ip, port};
    auto fail = [&](const char* what) {
      throw std::runtime_error("cannot listen on " + where + ": " + what + ": " + ec.message());
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) fail("open");
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) fail("set_option");
    acceptor_.bind(endpoint, ec);
    if (ec) fail("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail("listen");
    return acceptor_.local_endpoint().port();
  }

  void run() {
    asio::dispatch(acceptor_.get_executor(),
                   beast::bind_front_handler(&listener::do_accept, shared_from_this()));
  }

  // Runs on the acceptor's strand (see http_server::stop).
  void close() {
    beast::error_code ec;
    retry_timer_.cancel();
    acceptor_.close(ec);
  }

  asio::any_io_executor executor() { return acceptor_.get_executor(); }

 private:
  void do_accept() {
    // Each connection gets its own strand: its handlers never run concurrently.
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;  // closed
    if (ec) {
      log::warn("http_accept_error", {{"error", ec.message()}});
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec && self->acceptor_.is_open()) self->do_accept();
      });
      return;
    }
    // Over the limit we still accept, answer 503 and close: a client that gets a clear
    // answer backs off, one left in the backlog just waits.
    const bool counted = state_->connections.load() < state_->opts.max_connections;
    if (counted || state_->refusing.load() < kMaxRefusing) {
      std::make_shared<session>(std::move(socket), state_, counted)->run();
    }  // else: the socket closes here, unanswered
    do_accept();
  }
};

}  // namespace

//------------------------------------------------------------------------------

struct http_server::impl {
  enum class phase { idle, running, stopped };

  std::mutex control_mutex;  // start/stop
  phase current = phase::idle;
  std::shared_ptr<server_state> state;
  // Destroyed in stop(), in this order: listener, then the io_context (which destroys every
  // session still queued in it). Nothing may outlive the io_context and touch a socket.
  std::unique_ptr<asio::io_context> ioc;
  // Keeps run() from returning when nothing is pending in the io_context: a session waiting
  // for the service has no operation in it, and after the acceptor closes neither may anyone.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::shared_ptr<listener> accept;
  std::vector<std::thread> threads;
  std::string where;
};

http_server::http_server(server_options opts, std::shared_ptr<service_api> api)
    : impl_(std::make_unique<impl>()) {
  if (!api) throw std::invalid_argument("http_server: no service_api");
  impl_->state = std::make_shared<server_state>(std::move(opts), std::move(api));
}

http_server::~http_server() { stop(0ms); }

std::uint16_t http_server::start() {
  std::lock_guard lk(impl_->control_mutex);
  if (impl_->current != impl::phase::idle) throw std::logic_error("http_server: start() twice");
  const auto& opts = impl_->state->opts;
  const int threads = std::max(1, opts.threads);
  impl_->ioc = std::make_unique<asio::io_context>(threads);
  impl_->accept = std::make_shared<listener>(*impl_->ioc, impl_->state);
  std::uint16_t port = 0;
  try {
    port = impl_->accept->listen(opts.address, opts.port);
  } catch (...) {
    impl_->accept.reset();
    impl_->ioc.reset();
    throw;
  }
  impl_->work.emplace(impl_->ioc->get_executor());
  impl_->accept->run();
  impl_->where = opts.address + ":" + std::to_string(port);
  for (int i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([ioc = impl_->ioc.get()] {
      // A handler that throws must not take the io thread (and the server) down with it.
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          log::warn("http_io_error", {{"error", e.what()}});
        }
      }
    });
  }
  impl_->current = impl::phase::running;
  log::info("http_listening", {{"address", impl_->where},
                               {"threads", threads},
                               {"body_limit", opts.body_limit},
                               {"max_connections", opts.max_connections}});
  return port;
}

// Precondition: not called from an io thread (it joins them) nor from a service callback
// that runs synchronously inside a request.
void http_server::stop(std::chrono::milliseconds grace) {
  std::lock_guard lk(impl_->control_mutex);
  if (impl_->current != impl::phase::running) return;
  impl_->current = impl::phase::stopped;
  auto& state = *impl_->state;
  state.stopping = true;

  // 1. Stop accepting. The acceptor belongs to its strand, so close it there.
  auto closed = std::make_shared<std::promise<void>>();
  asio::post(impl_->accept->executor(), [l = impl_->accept, closed] {
    l->close();
    closed->set_value();
  });
  closed->get_future().wait_for(kAcceptorCloseWait);

  // 2. Let requests in flight finish; their responses carry Connection: close.
  {
    std::unique_lock in(state.in_flight_mutex);
    const bool drained =
        state.in_flight_cv.wait_for(in, grace, [&] { return state.in_flight.empty(); });
    if (!drained) {
      log::warn("http_stop_timeout",
                {{"in_flight", state.in_flight.size()}, {"grace_ms", grace.count()}});
    }
  }

  // 3. Cut what is left (idle keep-alives, slow clients) and join the io threads.
  impl_->work.reset();
  impl_->ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();

  // 4. From here on late service answers are dropped, then everything asio goes away.
  {
    std::lock_guard gate(state.gate->mutex);
    state.gate->open = false;
  }
  std::unordered_map<const session*, std::shared_ptr<session>> left;
  {
    std::lock_guard in(state.in_flight_mutex);
    left.swap(state.in_flight);
  }
  left.clear();
  impl_->accept.reset();
  impl_->ioc.reset();
  log::info("http_stopped", {{"address", impl_->where}});
}

}  // namespace memoryd
