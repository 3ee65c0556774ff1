// The per-connection session and what it shares with the listener and http_server.
//
// Threads and lifetimes, in one place:
// - Each connection is a session on its own strand; `threads` io threads run the io_context.
// - The service answers on any thread. Answers go through a reply gate that posts them onto
//   the session's strand, and only while the io_context exists (see reply_gate).
// - A session waiting for the service has no asio operation pending, so nothing in the
//   io_context owns it: server_state::in_flight does, until its response is written. The
//   service's callback only holds a weak_ptr, so a late answer never keeps a socket (and
//   with it the io_context) alive past stop().
//
// The session class itself lives in session.cpp, the one translation unit that needs Beast's
// parser, serializer and tcp_stream.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "http/server.hpp"
#include "http/service_api.hpp"

namespace memoryd {

class session;

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

// Starts a session on an accepted socket (whose executor is the connection's strand). It owns
// itself from here on. `counted` is false for a connection over max_connections: it is
// answered 503 without reading anything.
void run_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<server_state> state,
                 bool counted);

}  // namespace memoryd
