// The per-connection session and what it shares with the listener and http_server.
//
// Threads and lifetimes, in one place:
// - Each connection is a session on its own strand; `threads` io threads run the io_context.
// - The service answers on any thread. Answers go through a reply gate that posts them onto
//   the session's strand, and only while the io_context exists (see reply_gate).
// - TLS (server_options::tls_cert_file): the session template is instantiated for a plain TCP
//   stream and for Beast's ssl_stream, so plain connections pay nothing for TLS. A TLS session
//   holds the ssl::context it was accepted with; a reload swaps server_state's context, which
//   only connections accepted later see.
// - A session waiting for the service has no asio operation pending, so nothing in the
//   io_context owns it: server_state::in_flight does, until its response is written. The
//   service's callback only holds a weak_ptr, so a late answer never keeps a socket (and
//   with it the io_context) alive past stop().
//
// The session class itself lives in session.cpp, the one translation unit that needs Beast's
// parser, serializer, tcp_stream and ssl_stream.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "http/server.hpp"
#include "http/service_api.hpp"

namespace memoryd {

// Closed (under the mutex) before the io_context is destroyed; replies that come later are
// dropped. Replies hold only this and a weak_ptr to their session, never the server_state:
// otherwise the last reference to the service could be dropped on the service's own thread.
struct reply_gate {
  std::mutex mutex;
  bool open = true;
};

// State shared by the listener, the sessions and http_server.
struct server_state {
  server_state(server_options o, std::shared_ptr<service_api> a)
      : opts(std::move(o)), api(std::move(a)), tls(!opts.tls_cert_file.empty()) {}

  const server_options opts;
  const std::shared_ptr<service_api> api;
  const bool tls;  // fixed for the server's life: a plain server never looks at the context
  std::atomic<bool> stopping{false};        // responses switch to Connection: close
  std::atomic<std::size_t> connections{0};  // open sessions, checked against max_connections
  std::atomic<std::size_t> refusing{0};     // sessions writing an over-capacity 503

  // Sessions with a request read and its response not yet written. Owning them here keeps a
  // session alive while the service works on its request; stop() waits for this to empty.
  // Type-erased: sessions are of two types (plain and TLS), and only their lifetime matters here.
  std::mutex in_flight_mutex;
  std::condition_variable in_flight_cv;
  std::unordered_map<const void*, std::shared_ptr<void>> in_flight;

  const std::shared_ptr<reply_gate> gate = std::make_shared<reply_gate>();

  // The TLS context new connections are accepted with (null until start() loads it). Taken
  // once per accepted connection, replaced by http_server::reload_tls().
  std::shared_ptr<boost::asio::ssl::context> tls_context() const {
    std::lock_guard lk(tls_mutex_);
    return tls_context_;
  }
  void set_tls_context(std::shared_ptr<boost::asio::ssl::context> ctx) {
    std::lock_guard lk(tls_mutex_);
    tls_context_.swap(ctx);
  }  // the old context goes when its last session does (outside the lock: ctx here)

 private:
  mutable std::mutex tls_mutex_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
};

// A server-side TLS context from PEM files: TLS 1.2 or newer, ECDHE with AEAD ciphers only for
// TLS 1.2, the server's cipher preference, no compression, no renegotiation. Throws tls_error
// naming the file at fault. `description` (if given) receives the certificate's subject, expiry
// and SHA-256 fingerprint, for the log. Defined in server.cpp.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_file,
                                                            const std::string& key_file,
                                                            std::string* description = nullptr);

// Starts a session on an accepted socket (whose executor is the connection's strand): TLS when
// state->tls, with the current context. It owns itself from here on. `counted` is false for a
// connection over max_connections: it is answered 503 without reading a request (a TLS one
// after its handshake, bounded like the answer).
void run_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<server_state> state,
                 bool counted);

}  // namespace memoryd
