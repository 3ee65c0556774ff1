// One io thread runs the acceptor and every session, each in protocol order (do_x starts an
// operation, on_x is its completion). A session whose answer waits (delay or hang) also
// watches its socket, so a client that gives up ends the call at once.
#include "tests/support/fault_llm.hpp"

#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <thread>

namespace memoryd::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::chrono::seconds kIdleTimeout{60};

// True when the peer has closed (EOF or an error); false while the socket is merely idle.
bool peer_gone(int fd) {
  char byte = 0;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  return false;
}

}  // namespace

struct fault_llm::impl {
  fault_llm::handler answer;
  fault_llm::key_function key_of;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::uint16_t port = 0;
  std::thread thread;

  mutable std::mutex m;
  std::vector<fault_call> calls;
  fault_llm_stats st;
  std::map<std::string, int> per_key;

  std::size_t begin_call(const std::string& key, const std::string& body, int connection, int nth) {
    std::lock_guard lock(m);
    fault_call c;
    c.connection = connection;
    c.nth_on_connection = nth;
    c.key = key;
    c.body = body;
    c.start = fault_clock::now();
    calls.push_back(std::move(c));
    st.requests++;
    st.in_flight++;
    st.max_in_flight = std::max(st.max_in_flight, st.in_flight);
    int& k = per_key[key];
    k++;
    if (k > st.max_in_flight_per_key) {
      st.max_in_flight_per_key = k;
      st.worst_key = key;
    }
    return calls.size() - 1;
  }

  void end_call(std::size_t index, int status, bool abandoned) {
    std::lock_guard lock(m);
    auto& c = calls[index];
    if (c.done) return;
    c.done = true;
    c.end = fault_clock::now();
    c.status = status;
    c.abandoned = abandoned;
    st.in_flight--;
    per_key[c.key]--;
  }

  struct session : std::enable_shared_from_this<session> {
    impl* owner;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    asio::steady_timer timer;
    std::size_t call = 0;
    int status = 0;
    int id = 0;            // connection number
    int requests = 0;      // requests read on this connection
    bool waiting = false;  // the call is open and its answer not yet started

    session(impl* o, int n, tcp::socket socket)
        : owner(o), stream(std::move(socket)), timer(o->ioc), id(n) {}

    tcp::socket& sock() { return stream.socket(); }

    void do_read() {
      req = {};
      stream.expires_after(kIdleTimeout);
      http::async_read(
          stream, buffer, req,
          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
      if (ec) return close();
      // A client that gave up on another call and came back with this one closed that
      // connection first: end those calls before counting this one.
      owner->reap();
      const std::string& body = req.body();
      const std::string key = owner->key_of(body);
      call = owner->begin_call(key, body, id, ++requests);
      fault_reply r = owner->answer(key, body);
      if (r.reset) {
        owner->end_call(call, 0, false);
        beast::error_code ignored;
        sock().set_option(asio::socket_base::linger(true, 0), ignored);
        sock().close(ignored);
        return;
      }
      res = {};
      res.version(11);
      res.result(static_cast<unsigned>(r.status));
      res.set(http::field::server, "fault_llm");
      res.set(http::field::content_type, "application/json");
      for (const auto& [name, value] : r.headers) res.set(name, value);
      res.body() = r.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      status = r.status;
      if (!r.hang && r.delay.count() <= 0) return do_write();
      waiting = true;
      owner->waiters.push_back(shared_from_this());
      watch();
      if (!r.hang) {
        timer.expires_after(r.delay);
        timer.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
          if (wait_ec || !self->waiting) return;
          self->waiting = false;
          beast::error_code ignored;
          self->sock().cancel(ignored);  // the watch
          self->do_write();
        });
      }
    }

    // Readable while waiting means the client closed (it sends nothing while it waits).
    void watch() {
      sock().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
        if (ec || !self->waiting) return;
        if (peer_gone(self->sock().native_handle())) return self->abandon();
        self->watch();
      });
    }

    void abandon() {
      if (!waiting) return;
      waiting = false;
      owner->end_call(call, 0, true);
      timer.cancel();
      close();
    }

    void do_write() {
      owner->end_call(call, status, false);
      stream.expires_after(kIdleTimeout);
      http::async_write(stream, res,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec || !self->res.keep_alive()) return self->close();
                          self->do_read();
                        });
    }

    void close() {
      beast::error_code ignored;
      sock().shutdown(tcp::socket::shutdown_send, ignored);
      sock().close(ignored);
    }
  };

  std::vector<std::weak_ptr<session>> waiters;  // io thread only
  int connections = 0;                          // io thread only

  void reap() {
    std::vector<std::shared_ptr<session>> live;
    for (auto& w : waiters) {
      if (auto s = w.lock(); s && s->waiting) live.push_back(std::move(s));
    }
    waiters.clear();
    for (auto& s : live) {
      if (peer_gone(s->sock().native_handle())) {
        s->abandon();
      } else {
        waiters.push_back(s);
      }
    }
  }

  void do_accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<session>(this, ++connections, std::move(socket))->do_read();
      do_accept();
    });
  }
};

fault_llm::fault_llm(handler answer, key_function key_of) : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.answer = std::move(answer);
  d.key_of = std::move(key_of);
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
  d.acceptor.open(ep.protocol());
  d.acceptor.set_option(asio::socket_base::reuse_address(true));
  d.acceptor.bind(ep);
  d.acceptor.listen();
  d.port = d.acceptor.local_endpoint().port();
  d.do_accept();
  d.thread = std::thread([&d] { d.ioc.run(); });
}

fault_llm::~fault_llm() {
  impl_->ioc.stop();
  impl_->thread.join();
}

std::uint16_t fault_llm::port() const { return impl_->port; }

std::string fault_llm::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

fault_llm_stats fault_llm::stats() const {
  std::lock_guard lock(impl_->m);
  return impl_->st;
}

std::vector<fault_call> fault_llm::calls() const {
  std::lock_guard lock(impl_->m);
  return impl_->calls;
}

}  // namespace memoryd::testing
