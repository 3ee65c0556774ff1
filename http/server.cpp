// The listener and http_server's start and stop, in the style of Beast's advanced server: the
// listener accepts each connection onto its own strand and hands it to a session
// (http/session.hpp, which also tells how threads and lifetimes fit together). Each class reads
// in protocol order (do_x starts an operation, on_x is its completion), and every limit is a
// named constant or a server_options field. The TLS context (make_tls_context) is built here
// too: the policy in one place, next to the listener that hands it to sessions.
#include "http/server.hpp"

#include "core/log.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "http/session.hpp"

namespace memoryd {
namespace {

namespace asio = boost::asio;  // not "net": caf::net exists
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Limits that are not (yet) configuration.
// An accept that fails (EMFILE, ENFILE) would fail again at once: back off instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// Connections over max_connections get a 503 (written within the session's kRefuseTimeout);
// beyond this many refusals under way at once, further ones are closed without an answer.
constexpr std::size_t kMaxRefusing = 64;
// stop() waits this long for the acceptor to close on its strand.
constexpr std::chrono::seconds kAcceptorCloseWait{2};

//------------------------------------------------------------------------------
// TLS policy (docs/API.md, "TLS"). TLS 1.3 has only AEAD suites with forward secrecy and
// OpenSSL's default list of them is kept; for TLS 1.2 the list is Mozilla's "intermediate"
// minus finite-field DHE: ECDHE key exchange (forward secrecy) and AEAD ciphers (no CBC, no
// SHA-1 MACs), for ECDSA and RSA certificates alike.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The most recent OpenSSL error as text ("" if none), and the queue cleared.
std::string openssl_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;  // the last one is the most specific
  }
  return out;
}

// Fails with the OS's reason when the file cannot be opened, before OpenSSL says "system lib".
void check_readable(const std::string& path, tls_error::file which, const char* what) {
  if (path.empty()) throw tls_error(which, std::string("no ") + what + " file given");
  std::ifstream in(path);
  if (!in) {
    throw tls_error(
        which, std::string("cannot read ") + what + " file " + path + ": " + std::strerror(errno));
  }
}

// Never prompt for a passphrase: OpenSSL's default callback would read the terminal, and a
// service must fail instead. An encrypted key therefore does not load.
int no_passphrase(char*, int, int, void*) { return 0; }

// "subject=CN=localhost not_after=Dec  3 04:55:00 2026 GMT sha256=AB:CD:..." for the log.
std::string describe_certificate(X509* cert) {
  if (!cert) return "";
  std::string out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    BIO_puts(bio, "subject=");
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    BIO_puts(bio, " not_after=");
    ASN1_TIME_print(bio, X509_get0_notAfter(cert));
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<std::size_t>(n));
    BIO_free(bio);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) == 1) {
    out += " sha256=";
    for (unsigned int i = 0; i < len; ++i) {
      char hex[4];
      std::snprintf(hex, sizeof hex, i + 1 < len ? "%02X:" : "%02X", md[i]);
      out += hex;
    }
  }
  return out;
}

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
      run_session(std::move(socket), state_, counted);
    }  // else: the socket closes here, unanswered
    do_accept();
  }
};

}  // namespace

//------------------------------------------------------------------------------

std::shared_ptr<ssl::context> make_tls_context(const std::string& cert_file,
                                               const std::string& key_file,
                                               std::string* description) {
  using file = tls_error::file;
  check_readable(cert_file, file::cert, "certificate");
  check_readable(key_file, file::key, "key");
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  // Versions: TLS 1.0 and 1.1 are deprecated (RFC 8996); SSLv3 and older are not built in.
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
    throw tls_error(file::cert, "cannot set the minimum TLS version: " + openssl_error());
  // Compression: CRIME. Renegotiation: client-initiated renegotiation costs the server a
  // handshake per request (a cheap DoS) and has had its own attacks; TLS 1.3 has none.
  // Server preference: the order of kTls12Ciphers wins over the client's.
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)
    throw tls_error(file::cert, "cannot set the TLS 1.2 cipher list: " + openssl_error());
  SSL_CTX_set_default_passwd_cb(native, no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1) {
    throw tls_error(file::cert,
                    "cannot use certificate file " + cert_file + ": " + openssl_error());
  }
  // OpenSSL checks the key against the certificate while loading it.
  if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(native) != 1) {
    const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    const std::string why = openssl_error();
    if (mismatch) {
      throw tls_error(file::key,
                      "key file " + key_file + " does not match certificate " + cert_file);
    }
    throw tls_error(file::key, "cannot use key file " + key_file + ": " + why);
  }
  if (description) *description = describe_certificate(SSL_CTX_get0_certificate(native));
  return ctx;
}

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
  std::string certificate;
  if (impl_->state->tls) {
    impl_->state->set_tls_context(
        make_tls_context(opts.tls_cert_file, opts.tls_key_file, &certificate));
  }
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
                               {"max_connections", opts.max_connections},
                               {"tls", impl_->state->tls},
                               {"certificate", certificate}});
  return port;
}

// Not under control_mutex: loading files must not wait for (nor hold up) a stop(). The swap is
// atomic under server_state's own lock, and an accept takes the context once.
tls_reload_result http_server::reload_tls() {
  auto& state = *impl_->state;
  if (!state.tls) return {false, "TLS is not configured"};
  try {
    std::string certificate;
    state.set_tls_context(
        make_tls_context(state.opts.tls_cert_file, state.opts.tls_key_file, &certificate));
    return {true, certificate};
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
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
  decltype(state.in_flight) left;
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
