// One handler per route, then handle_request, which checks what every route shares and picks
// the handler.
#include "http/handlers.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/auth.hpp"
#include "http/dashboard.hpp"
#include "http/json_render.hpp"
#include "http/page_cursor.hpp"
#include "http/processor_handlers.hpp"
#include "http/request_parsing.hpp"
#include "http/responses.hpp"
#include "http/search_handlers.hpp"
#include "http/twilio_signature.hpp"

namespace memoryd {
namespace {

namespace http = boost::beast::http;

// POST /v1/messages batch size and GET .../messages page size.
constexpr std::size_t kMaxBatchMessages = 1000;
constexpr int kDefaultHistoryLimit = 50;
constexpr int kMaxHistoryLimit = 1000;
constexpr std::size_t kMaxUserIdBytes = max_user_id_bytes;
constexpr std::size_t kMaxFactIdBytes = 256;
constexpr const char* kMessagesKind = "messages";  // page_cursor kind of a user's history
// GET .../facts: a page of active facts (one page holds every fact of all but the heaviest
// users) and, with include=history, the newest events; GET .../facts/events pages the rest.
constexpr int kMaxFactsLimit = 1000;
constexpr int kDefaultEventsLimit = 50;
constexpr int kMaxEventsLimit = 1000;
constexpr const char* kFactsKind = "facts";
constexpr const char* kEventsKind = "events";

constexpr std::string_view kTwimlEmpty =
    R"(<?xml version="1.0" encoding="UTF-8"?><Response></Response>)";

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

// X-Twilio-Signature (docs/API.md), checked before anything is parsed or stored. The URL is
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

// What a history cursor is bound to: the user and every filter, so a cursor used for another
// user or with other filters is refused instead of paging a different list from a key that
// means nothing there. limit is not part of it: a keyset page may be of any size. The user id
// is length-prefixed (it may hold any character); the rest cannot hold '|'.
std::string history_scope(const history_query& q) {
  return std::to_string(q.user_id.size()) + ":" + q.user_id + "|since=" + std::to_string(q.since) +
         "|until=" + std::to_string(q.until) + "|role=" + q.role +
         "|processed=" + std::to_string(q.processed);
}

// The first page is the latest `limit` matching messages; next_cursor (the seq of the page's
// oldest row) continues toward older ones: the latest `limit` below it. New messages arrive at
// the newest end, behind the pass, so reading on until next_cursor is null returns every
// message that matched when paging started exactly once (http/page_cursor.hpp).
void handle_history(const boost::urls::url_view& url, std::string user_id, service_api& api,
                    reply_fn reply) {
  history_query q;
  q.user_id = std::move(user_id);
  q.limit = kDefaultHistoryLimit;
  std::optional<std::string> cursor;
  for (auto param : url.params()) {
    const std::string& k = param.key;
    const std::string& v = param.value;
    if (k == "limit") {
      if (auto bad = read_page_limit(v, kMaxHistoryLimit, q.limit)) return reply(std::move(*bad));
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
    } else if (k == "cursor") {
      cursor = v;  // checked once every filter is known: the scope includes them
    }
    // Unknown parameters are ignored, like unknown JSON fields.
  }
  std::string scope = history_scope(q);
  if (cursor) {
    auto key = page_cursor::decode(*cursor, kMessagesKind, scope);
    if (!key)
      return reply(bad_param("cursor",
                             "not a cursor of this user's messages with these filters (use "
                             "next_cursor as given, with the same since, until, role, processed)"));
    q.before_seq = *key;
  }
  const auto limit = static_cast<std::size_t>(q.limit);
  q.limit += 1;  // one more: is there an older page?
  std::string uid = q.user_id;
  api.history(std::move(q), [uid = std::move(uid), scope = std::move(scope), limit,
                             reply = std::move(reply)](outcome<std::vector<stored_message>> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    auto& rows = *o.value;  // oldest first: the extra row, if any, is the first
    std::string next;
    if (rows.size() > limit) {
      rows.erase(rows.begin(), rows.end() - static_cast<std::ptrdiff_t>(limit));
      next = page_cursor::encode(kMessagesKind, scope, rows.front().seq);
    }
    reply(make_response(http::status::ok, kJson, render_history(uid, rows, next)));
  });
}

// Keeps the newest `limit` of events read newest first with one more, oldest first as every
// list shows them; the cursor to older ones when there are.
std::string trim_events(std::vector<fact_event>& events, std::size_t limit,
                        const std::string& scope) {
  std::string next;
  if (events.size() > limit) {
    events.resize(limit);
    next = page_cursor::encode(kEventsKind, scope, events.back().seq);
  }
  std::reverse(events.begin(), events.end());
  return next;
}

// Active facts in written order, oldest first; next_cursor continues after the page's last
// fact. A fact written while a client pages lands after the pass's key (a later page) and an
// erased or forgotten one is simply not returned, so every fact active the whole time is
// returned exactly once. include=history adds the newest kMaxEventsLimit events and
// events_next_cursor, a cursor of GET .../facts/events for older ones.
void handle_facts(const boost::urls::url_view& url, std::string user_id, service_api& api,
                  reply_fn reply) {
  fact_query q;
  q.user_id = std::move(user_id);
  q.limit = kMaxFactsLimit;
  for (auto param : url.params()) {
    const std::string& k = param.key;
    const std::string& v = param.value;
    if (k == "include") {
      if (v != "history") return reply(bad_param("include", "must be \"history\""));
      q.events_limit = kMaxEventsLimit + 1;
    } else if (k == "limit") {
      if (auto bad = read_page_limit(v, kMaxFactsLimit, q.limit)) return reply(std::move(*bad));
    } else if (k == "cursor") {
      auto key = page_cursor::decode_pair(v, kFactsKind, q.user_id);
      if (!key)
        return reply(bad_param("cursor",
                               "not a cursor of this user's facts (use next_cursor "
                               "as given)"));
      q.after_created_at = key->first;
      q.after_seq = key->second;
    }
  }
  const auto limit = static_cast<std::size_t>(q.limit);
  q.limit += 1;  // one more: does another page follow?
  const bool with_history = q.events_limit > 0;
  std::string uid = q.user_id;
  api.facts(std::move(q), [uid = std::move(uid), limit, with_history,
                           reply = std::move(reply)](outcome<fact_listing> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    auto& l = *o.value;
    std::string next;
    if (l.facts.size() > limit) {
      l.facts.resize(limit);
      next = page_cursor::encode(
          kFactsKind, uid, page_cursor::key_pair{l.facts.back().created_at, l.facts.back().seq});
    }
    std::optional<std::string> events_next;
    if (with_history) events_next = trim_events(l.events, kMaxEventsLimit, uid);
    reply(make_response(http::status::ok, kJson, render_facts(uid, l, next, events_next)));
  });
}

// The user's fact changes, newest page first, each page oldest first (like history).
void handle_fact_events(const boost::urls::url_view& url, std::string user_id, service_api& api,
                        reply_fn reply) {
  fact_query q;
  q.user_id = std::move(user_id);
  q.events_limit = kDefaultEventsLimit;
  for (auto param : url.params()) {
    const std::string& k = param.key;
    const std::string& v = param.value;
    if (k == "limit") {
      if (auto bad = read_page_limit(v, kMaxEventsLimit, q.events_limit))
        return reply(std::move(*bad));
    } else if (k == "cursor") {
      auto key = page_cursor::decode(v, kEventsKind, q.user_id);
      if (!key)
        return reply(bad_param("cursor",
                               "not a cursor of this user's fact events (use "
                               "next_cursor as given)"));
      q.events_before = *key;
    }
  }
  const auto limit = static_cast<std::size_t>(q.events_limit);
  q.events_limit += 1;
  std::string uid = q.user_id;
  api.facts(std::move(q),
            [uid = std::move(uid), limit, reply = std::move(reply)](outcome<fact_listing> o) {
              if (!o.ok()) return reply(failure_response(o.failure));
              auto& events = o.value->events;
              const std::string next = trim_events(events, limit, uid);
              reply(make_response(http::status::ok, kJson, render_fact_events(uid, events, next)));
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
  if (fact_id.empty() || fact_id.size() > kMaxFactIdBytes || !is_storable_text(fact_id)) {
    return reply(error_response(http::status::bad_request, "invalid_field",
                                "fact_id: must be 1 to " + std::to_string(kMaxFactIdBytes) +
                                    " bytes of UTF-8 without NUL"));
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

void handle_ready(service_api& api, bool webhook_signed, reply_fn reply) {
  api.ready([webhook_signed, reply = std::move(reply)](outcome<health_report> o) {
    health_report h = o.ok() ? *o.value : health_report{false, o.failure.message};
    reply(make_response(h.ok ? http::status::ok : http::status::service_unavailable, kJson,
                        render_ready(h, webhook_signed)));
  });
}

// Every counter and histogram, plus the queue, the pool and the alerts as gauges read at this
// moment.
std::string render_metrics(const status_report& s) {
  const auto& q = s.queue;
  const auto& p = s.processor;
  std::vector<metrics::gauge_value> gauges = {
      {"memoryd_queue_messages", "status=\"pending\"", double(q.pending)},
      {"memoryd_queue_messages", "status=\"leased\"", double(q.leased)},
      {"memoryd_queue_messages", "status=\"done\"", double(q.done)},
      {"memoryd_queue_messages", "status=\"dead\"", double(q.dead)},
      {"memoryd_queue_messages", "status=\"skipped\"", double(q.skipped)},
      {"memoryd_queue_oldest_pending_age_seconds", "", q.oldest_pending_age_ms / 1000.0},
      {"memoryd_queue_retry_scheduled", "", double(q.retry_scheduled)},
      {"memoryd_queue_users_waiting", "", double(q.users_waiting)},
      {"memoryd_queue_waiting_messages", "priority=\"live\"", double(q.live.messages_waiting)},
      {"memoryd_queue_waiting_messages", "priority=\"backfill\"",
       double(q.backfill.messages_waiting)},
      {"memoryd_queue_waiting_users", "priority=\"live\"", double(q.live.users_waiting)},
      {"memoryd_queue_waiting_users", "priority=\"backfill\"", double(q.backfill.users_waiting)},
      {"memoryd_queue_oldest_waiting_age_seconds", "priority=\"live\"",
       q.live.oldest_age_ms / 1000.0},
      {"memoryd_queue_oldest_waiting_age_seconds", "priority=\"backfill\"",
       q.backfill.oldest_age_ms / 1000.0},
      {"memoryd_extractors", "state=\"busy\"", double(p.in_flight)},
      {"memoryd_extractors", "state=\"pool\"", double(p.pool_size)},
      {"memoryd_extractors", "state=\"limit\"", double(p.concurrency_limit)},
  };
  for (const auto& a : s.alerts)
    gauges.push_back({"memoryd_alert_active", "alert=\"" + a.alert + "\"", a.active ? 1.0 : 0.0});
  return metrics::render(gauges);
}

void handle_metrics(service_api& api, reply_fn reply) {
  api.status([reply = std::move(reply)](outcome<status_report> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    reply(make_response(http::status::ok, kPrometheusText, render_metrics(*o.value)));
  });
}

// A user id from the path: percent-decoded by Boost.URL, then held to the JSON API's rules.
std::optional<response> check_path_user_id(const std::string& user_id) {
  if (user_id.empty() || user_id.size() > kMaxUserIdBytes || !is_storable_text(user_id)) {
    return error_response(
        http::status::bad_request, "invalid_field",
        "user_id: must be 1 to " + std::to_string(kMaxUserIdBytes) + " bytes of UTF-8 without NUL");
  }
  return std::nullopt;
}

// 401 without a known token, 403 when the token lacks the scope (RFC 6750's error codes in
// WWW-Authenticate), nullopt when the request may go on.
std::optional<response> check_token(const request& req, const target& t,
                                    const server_options& opts) {
  if (!tokens_configured(opts)) return std::nullopt;
  const bool under_v1 = !t.seg.empty() && t.seg[0] == "v1";
  const unsigned need = required_scope(t.r, req.method(), under_v1, opts);
  if (need == scope_none) return std::nullopt;
  const unsigned granted = granted_scopes(req, opts);
  if (granted == scope_none) {
    auto res = error_response(http::status::unauthorized, "unauthorized",
                              "missing or wrong Authorization: Bearer token");
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  }
  if (need == scope_any || (granted & need) == need) return std::nullopt;
  const std::string scope = scope_name(need);
  auto res = error_response(http::status::forbidden, "insufficient_scope",
                            "this token lacks the '" + scope + "' scope");
  res.set(http::field::www_authenticate,
          "Bearer error=\"insufficient_scope\", scope=\"" + scope + "\"");
  return res;
}

}  // namespace

void handle_request(const request& req, std::optional<target>& t, const server_options& opts,
                    service_api& api, reply_fn reply) {
  if (!t) {
    return reply(error_response(http::status::bad_request, "bad_request", "malformed target"));
  }
  auto& seg = t->seg;
  if (auto refused = check_token(req, *t, opts)) return reply(std::move(*refused));
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
    case route::user_facts_search:
      return handle_search(t->url, std::move(seg[2]), api, std::move(reply));
    case route::user_fact_events:
      return handle_fact_events(t->url, std::move(seg[2]), api, std::move(reply));
    case route::user_context:
      return handle_context(t->url, std::move(seg[2]), api, std::move(reply));
    case route::processor_run:
      return handle_run_cycle(api, std::move(reply));
    case route::processor_status:
      return handle_status(api, std::move(reply));
    case route::processor_retry:
      return handle_retry_dead(req, api, std::move(reply));
    case route::processor_dead:
      return handle_dead_letters(t->url, api, std::move(reply));
    case route::processor_history:
      return handle_processor_history(t->url, api, std::move(reply));
    case route::root:
    case route::dashboard:
    case route::dashboard_asset:
      return reply(dashboard_response(r, seg, tokens_configured(opts)));
    case route::healthz:
      return handle_health(api, std::move(reply));
    case route::readyz:
      return handle_ready(api, !opts.twilio_auth_token.empty(), std::move(reply));
    case route::metrics:
      return handle_metrics(api, std::move(reply));
    case route::none:
      break;
  }
  reply(error_response(http::status::not_found, "not_found", "no such resource"));
}

void record_http_metrics(route r, unsigned status, std::chrono::steady_clock::duration took) {
  const std::string route_label = std::string("route=\"") + pattern_of(r) + "\"";
  metrics::inc("memoryd_http_requests_total",
               route_label + ",code=\"" + std::to_string(status) + "\"");
  metrics::observe("memoryd_http_request_duration_seconds", route_label,
                   std::chrono::duration<double>(took).count());
}

}  // namespace memoryd
