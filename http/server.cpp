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
#include "core/metrics.hpp"

#include <openssl/crypto.h>

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
#include <charconv>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/json_render.hpp"
#include "http/message.hpp"
#include "http/request_parsing.hpp"
#include "http/responses.hpp"
#include "http/routes.hpp"
#include "http/twilio_signature.hpp"

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
// POST /v1/messages batch size and GET .../messages page size.
constexpr std::size_t kMaxBatchMessages = 1000;
constexpr int kDefaultHistoryLimit = 50;
constexpr int kMaxHistoryLimit = 1000;
constexpr std::size_t kMaxUserIdBytes = max_user_id_bytes;
constexpr std::size_t kMaxFactIdBytes = 256;
// An accept that fails (EMFILE, ENFILE) would fail again at once: back off instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// Connections over max_connections get a 503 (written within kRefuseTimeout); beyond this
// many refusals under way at once, further ones are closed without an answer.
constexpr std::size_t kMaxRefusing = 64;
constexpr std::chrono::seconds kRefuseTimeout{2};
// stop() waits this long for the acceptor to close on its strand.
constexpr std::chrono::seconds kAcceptorCloseWait{2};

constexpr const char* kServerName = "memoryd";
constexpr std::string_view kTwimlEmpty =
    R"(<?xml version="1.0" encoding="UTF-8"?><Response></Response>)";

//------------------------------------------------------------------------------
// Routing: a parsed request in, exactly one response out through `reply`, possibly later and
// from another thread. Nothing here touches the socket.

using reply_fn = std::function<void(response)>;

// A channel as a metrics label: user input, so only the channels memoryd itself assigns pass
// (bounded cardinality, nothing to escape); anything else counts as "other".
const char* channel_label(const std::string& channel) {
  for (const char* known : {"sms", "whatsapp", "api"})
    if (channel == known) return known;
  return "other";
}

void ingest(service_api& api, std::vector<new_message> msgs, bool twilio, reply_fn reply) {
  std::vector<const char*> channels;
  channels.reserve(msgs.size());
  for (const auto& m : msgs) channels.push_back(channel_label(m.channel));
  api.ingest(std::move(msgs), [twilio, channels = std::move(channels),
                               reply = std::move(reply)](outcome<std::vector<ingest_outcome>> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    const auto& outcomes = *o.value;
    for (std::size_t i = 0; i < outcomes.size() && i < channels.size(); ++i) {
      const std::string labels = std::string("channel=\"") + channels[i] + "\"";
      metrics::inc(outcomes[i].duplicate ? "memoryd_messages_duplicate_total"
                                         : "memoryd_messages_ingested_total",
                   labels);
    }
    // Twilio wants TwiML; an empty <Response> sends no reply SMS. Duplicates (a redelivered
    // MessageSid) are answered the same way: the message is durable either way.
    if (twilio) return reply(make_response(http::status::ok, kTextXml, std::string(kTwimlEmpty)));
    reply(make_response(http::status::accepted, kJson, render_ingest(outcomes)));
  });
}

// X-Twilio-Signature (DESIGN.md §5), checked before anything is parsed or stored. The URL is
// the configured public one: behind a proxy the Host header names the proxy's upstream, not
// what Twilio signed. Without it we rebuild https://<Host><target>, right only when memoryd is
// reached directly over TLS on the name Twilio uses.
std::optional<response> check_twilio_signature(const request& req, const server_options& opts,
                                               route r) {
  if (opts.twilio_auth_token.empty()) return std::nullopt;
  std::string url = opts.twilio_webhook_url;
  const char* url_source = "configured";
  if (url.empty()) {
    url_source = "host_header";
    auto host = req.find(http::field::host);
    if (host != req.end() && !host->value().empty())
      url = "https://" + std::string(host->value()) + std::string(req.target());
  }
  auto sig_it = req.find("X-Twilio-Signature");
  std::string_view signature;
  if (sig_it != req.end()) signature = sig_it->value();

  twilio::verdict v = twilio::verdict::mismatch;
  if (signature.empty()) {
    v = twilio::verdict::missing;
  } else if (url.empty()) {
    v = twilio::verdict::mismatch;  // no Host: nothing to check against
  } else if (!twilio::query_value(url, "bodySHA256").empty()) {
    v = twilio::validate_body(opts.twilio_auth_token, url, req.body(), signature);
  } else if (has_media_type(req, kFormUrlEncoded)) {
    // A body that is not a form cannot carry a valid signature over form parameters.
    if (auto params = parse_form(req.body()))
      v = twilio::validate(opts.twilio_auth_token, url, *params, req.body(), signature);
  }
  if (v == twilio::verdict::valid) return std::nullopt;
  // Never the signature itself, nor the URL (it may carry credentials).
  log::warn(
      "twilio_signature_rejected",
      {{"route", pattern_of(r)}, {"reason", twilio::to_string(v)}, {"url_source", url_source}});
  return error_response(http::status::forbidden, "invalid_signature",
                        v == twilio::verdict::missing ? "missing X-Twilio-Signature"
                                                      : "X-Twilio-Signature does not match");
}

void handle_twilio(const request& req, const server_options& opts, route r, service_api& api,
                   reply_fn reply) {
  if (auto refused = check_twilio_signature(req, opts, r)) return reply(std::move(*refused));
  if (!has_media_type(req, kFormUrlEncoded)) {
    return reply(error_response(http::status::unsupported_media_type, "unsupported_media_type",
                                "expected application/x-www-form-urlencoded"));
  }
  auto parsed = parse_twilio_form(req.body());
  if (parsed.error) return reply(failure_response(*parsed.error));
  ingest(api, std::move(parsed.messages), true, std::move(reply));
}

std::optional<response> require_json(const request& req) {
  if (has_media_type(req, kJson)) return std::nullopt;
  return error_response(http::status::unsupported_media_type, "unsupported_media_type",
                        "expected application/json");
}

void handle_post_messages(const request& req, service_api& api, reply_fn reply) {
  if (auto bad = require_json(req)) return reply(std::move(*bad));
  auto parsed = parse_messages_json(req.body(), kMaxBatchMessages);
  if (parsed.error) return reply(failure_response(*parsed.error));
  ingest(api, std::move(parsed.messages), false, std::move(reply));
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

response bad_param(std::string_view name, std::string_view what) {
  return error_response(http::status::bad_request, "invalid_parameter",
                        std::string(name) + ": " + std::string(what));
}

void handle_history(const boost::urls::url_view& url, std::string user_id, service_api& api,
                    reply_fn reply) {
  history_query q;
  q.user_id = std::move(user_id);
  q.limit = kDefaultHistoryLimit;
  for (auto param : url.params()) {
    const std::string& k = param.key;
    const std::string& v = param.value;
    if (k == "limit") {
      auto n = parse_integer(v);
      if (!n || *n < 1 || *n > kMaxHistoryLimit)
        return reply(
            bad_param(k, "must be an integer from 1 to " + std::to_string(kMaxHistoryLimit)));
      q.limit = static_cast<std::int32_t>(*n);
    } else if (k == "since" || k == "until") {
      auto n = parse_integer(v);
      if (!n || *n < 0) return reply(bad_param(k, "must be a non-negative integer (ms)"));
      (k == "since" ? q.since : q.until) = *n;
    } else if (k == "role") {
      if (v != "user" && v != "assistant")
        return reply(bad_param(k, "must be \"user\" or \"assistant\""));
      q.role = v;
    } else if (k == "processed") {
      if (v != "true" && v != "false") return reply(bad_param(k, "must be true or false"));
      q.processed = v == "true" ? 1 : 0;
    }
    // Unknown parameters are ignored, like unknown JSON fields.
  }
  std::string uid = q.user_id;
  api.history(std::move(q), [uid = std::move(uid),
                             reply = std::move(reply)](outcome<std::vector<stored_message>> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    reply(make_response(http::status::ok, kJson, render_history(uid, *o.value)));
  });
}

void handle_facts(const boost::urls::url_view& url, std::string user_id, service_api& api,
                  reply_fn reply) {
  bool with_history = false;
  for (auto param : url.params()) {
    if (param.key != "include") continue;
    if (param.value != "history") return reply(bad_param("include", "must be \"history\""));
    with_history = true;
  }
  std::string uid = user_id;
  api.facts(
      std::move(user_id), with_history,
      [uid = std::move(uid), with_history, reply = std::move(reply)](outcome<fact_listing> o) {
        if (!o.ok()) return reply(failure_response(o.failure));
        reply(make_response(http::status::ok, kJson, render_facts(uid, *o.value, with_history)));
      });
}

void handle_add_fact(const request& req, std::string user_id, service_api& api, reply_fn reply) {
  if (auto bad = require_json(req)) return reply(std::move(*bad));
  auto parsed = parse_add_fact_json(req.body());
  if (parsed.error) return reply(failure_response(*parsed.error));
  api.add_fact(std::move(user_id), std::move(parsed.text), std::move(parsed.category),
               [reply = std::move(reply)](outcome<fact> o) {
                 if (!o.ok()) return reply(failure_response(o.failure));
                 reply(make_response(http::status::created, kJson, render_fact_created(*o.value)));
               });
}

void handle_delete_fact(std::string user_id, std::string fact_id, service_api& api,
                        reply_fn reply) {
  if (fact_id.empty() || fact_id.size() > kMaxFactIdBytes || !is_valid_utf8(fact_id)) {
    return reply(error_response(
        http::status::bad_request, "invalid_field",
        "fact_id: must be 1 to " + std::to_string(kMaxFactIdBytes) + " bytes of UTF-8"));
  }
  api.delete_fact(std::move(user_id), std::move(fact_id),
                  [reply = std::move(reply)](outcome<bool> o) {
                    if (!o.ok()) return reply(failure_response(o.failure));
                    if (!*o.value) {
                      return reply(error_response(http::status::not_found, "not_found",
                                                  "no active fact with this id for this user"));
                    }
                    reply(make_response(http::status::ok, kJson, render_deleted()));
                  });
}

void handle_erase_user(std::string user_id, service_api& api, reply_fn reply) {
  std::string uid = user_id;
  api.erase_user(std::move(user_id),
                 [uid = std::move(uid), reply = std::move(reply)](outcome<erase_report> o) {
                   if (!o.ok()) return reply(failure_response(o.failure));
                   reply(make_response(http::status::ok, kJson, render_erase(uid, *o.value)));
                 });
}

void handle_run_cycle(service_api& api, reply_fn reply) {
  api.run_cycle([reply = std::move(reply)](outcome<cycle_result> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    reply(make_response(http::status::ok, kJson, render_cycle(*o.value)));
  });
}

void handle_status(service_api& api, reply_fn reply) {
  api.status([reply = std::move(reply)](outcome<status_report> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    reply(make_response(http::status::ok, kJson, render_status(*o.value)));
  });
}

void handle_retry_dead(const request& req, service_api& api, reply_fn reply) {
  if (req.body().find_first_not_of(" \t\r\n") != std::string::npos) {
    if (auto bad = require_json(req)) return reply(std::move(*bad));
  }
  auto parsed = parse_retry_json(req.body());
  if (parsed.error) return reply(failure_response(*parsed.error));
  api.retry_dead(std::move(parsed.ids), [reply = std::move(reply)](outcome<std::int64_t> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    reply(make_response(http::status::ok, kJson, render_retried(*o.value)));
  });
}

void handle_health(service_api& api, reply_fn reply) {
  api.health([reply = std::move(reply)](outcome<health_report> o) {
    health_report h = o.ok() ? *o.value : health_report{false, o.failure.message};
    reply(make_response(h.ok ? http::status::ok : http::status::service_unavailable, kJson,
                        render_health(h)));
  });
}

void handle_ready(service_api& api, reply_fn reply) {
  api.ready([reply = std::move(reply)](outcome<health_report> o) {
    health_report h = o.ok() ? *o.value : health_report{false, o.failure.message};
    reply(make_response(h.ok ? http::status::ok : http::status::service_unavailable, kJson,
                        render_ready(h)));
  });
}

void handle_metrics(service_api& api, reply_fn reply) {
  api.metrics([reply = std::move(reply)](outcome<std::string> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    reply(make_response(http::status::ok, kPrometheusText, std::move(*o.value)));
  });
}

// A user id from the path: percent-decoded by Boost.URL, then held to the JSON API's rules.
std::optional<response> check_path_user_id(const std::string& user_id) {
  if (user_id.empty() || user_id.size() > kMaxUserIdBytes || !is_valid_utf8(user_id)) {
    return error_response(
        http::status::bad_request, "invalid_field",
        "user_id: must be 1 to " + std::to_string(kMaxUserIdBytes) + " bytes of UTF-8");
  }
  return std::nullopt;
}

// Constant time in the token's content, so the answer's timing does not reveal a prefix.
bool bearer_matches(const request& req, const std::string& token) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return false;
  std::string_view value = it->value();
  constexpr std::string_view scheme = "Bearer ";
  if (value.size() != scheme.size() + token.size() || value.substr(0, scheme.size()) != scheme)
    return false;
  return CRYPTO_memcmp(value.data() + scheme.size(), token.data(), token.size()) == 0;
}

void handle_request(const request& req, std::optional<target>& t, const server_options& opts,
                    service_api& api, reply_fn reply) {
  if (!t) {
    return reply(error_response(http::status::bad_request, "bad_request", "malformed target"));
  }
  auto& seg = t->seg;
  if (!seg.empty() && seg[0] == "v1" && !opts.api_token.empty() &&
      !bearer_matches(req, opts.api_token)) {
    auto res = error_response(http::status::unauthorized, "unauthorized",
                              "missing or wrong Authorization: Bearer token");
    res.set(http::field::www_authenticate, "Bearer");
    return reply(std::move(res));
  }
  const route r = t->r;
  if (r == route::none)
    return reply(error_response(http::status::not_found, "not_found", "no such resource"));
  if (!method_allowed(r, req.method())) return reply(method_not_allowed(allowed_methods(r)));
  if (seg.size() >= 3 && seg[0] == "v1" && seg[1] == "users") {
    if (auto bad = check_path_user_id(seg[2])) return reply(std::move(*bad));
  }

  switch (r) {
    case route::twilio:
    case route::sms:
      return handle_twilio(req, opts, r, api, std::move(reply));
    case route::messages:
      return handle_post_messages(req, api, std::move(reply));
    case route::user:
      return handle_erase_user(std::move(seg[2]), api, std::move(reply));
    case route::user_messages:
      return handle_history(t->url, std::move(seg[2]), api, std::move(reply));
    case route::user_facts:
      if (req.method() == http::verb::post)
        return handle_add_fact(req, std::move(seg[2]), api, std::move(reply));
      return handle_facts(t->url, std::move(seg[2]), api, std::move(reply));
    case route::user_fact:
      return handle_delete_fact(std::move(seg[2]), std::move(seg[4]), api, std::move(reply));
    case route::processor_run:
      return handle_run_cycle(api, std::move(reply));
    case route::processor_status:
      return handle_status(api, std::move(reply));
    case route::processor_retry:
      return handle_retry_dead(req, api, std::move(reply));
    case route::healthz:
      return handle_health(api, std::move(reply));
    case route::readyz:
      return handle_ready(api, std::move(reply));
    case route::metrics:
      return handle_metrics(api, std::move(reply));
    case route::none:
      break;
  }
  reply(error_response(http::status::not_found, "not_found", "no such resource"));
}

// After each response: requests by route pattern and status, and the time from the complete
// request (or the moment it was refused) to the written response.
void record_http_metrics(route r, unsigned status, std::chrono::steady_clock::duration took) {
  const std::string route_label = std::string("route=\"") + pattern_of(r) + "\"";
  metrics::inc("memoryd_http_requests_total",
               route_label + ",code=\"" + std::to_string(status) + "\"");
  metrics::observe("memoryd_http_request_duration_seconds", route_label,
                   std::chrono::duration<double>(took).count());
}

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
