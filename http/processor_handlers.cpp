#include "http/processor_handlers.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "http/page_cursor.hpp"
#include "http/request_parsing.hpp"
#include "http/responses.hpp"

namespace memoryd {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

constexpr int kDefaultPage = 50;
constexpr int kMaxPage = 1000;
constexpr millis kDefaultWindow = 3600000;
constexpr millis kMaxWindow = 24 * 3600000;
constexpr int kDefaultPoints = 360;
constexpr int kMaxPoints = 8640;
constexpr const char* kDeadKind = "dead";

std::string render_dead_page(const std::vector<stored_message>& rows, std::size_t limit) {
  json::array a;
  const auto n = std::min(rows.size(), limit);
  a.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& m = rows[i];
    a.push_back(json::object{{"id", m.id},
                             {"user_id", m.user_id},
                             {"channel", m.channel},
                             {"created_at", m.created_at},
                             {"dead_at", m.processed_at == 0 ? json::value(nullptr)
                                                             : json::value(m.processed_at)},
                             {"attempts", m.attempts},
                             {"last_error", m.last_error.empty() ? json::value(nullptr)
                                                                 : json::value(m.last_error)}});
  }
  json::value next = nullptr;
  if (rows.size() > limit) next = page_cursor::encode(kDeadKind, "", rows[limit - 1].seq);
  return json::serialize(json::object{{"dead_letters", std::move(a)}, {"next_cursor", next}});
}

// Numbers people read: integers as such, the rest with at most 3 decimals.
void number(double d, std::string& out) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", d);
  std::string s(buf);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  out += s == "-0" ? "0" : s;
}

// One series as a JSON array: "name":[v,v,null,...].
template <class F>
void series(std::string& out, const char* name, const std::vector<history_sample>& s, F value) {
  out += '"';
  out += name;
  out += "\":[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    const double v = value(s[i]);
    if (std::isnan(v))
      out += "null";
    else
      number(v, out);
  }
  out += ']';
}

}  // namespace

std::optional<millis> parse_duration_ms(std::string_view s) {
  millis unit = 1;
  if (!s.empty() && (s.back() == 's' || s.back() == 'm' || s.back() == 'h')) {
    unit = s.back() == 's' ? 1000 : s.back() == 'm' ? 60000 : 3600000;
    s.remove_suffix(1);
  }
  auto n = parse_integer(s);
  if (!n || *n < 0 || *n > kMaxWindow || *n * unit > kMaxWindow) return std::nullopt;
  return *n * unit;
}

std::string render_history_window(const history_window& w, millis window_ms, int points) {
  const millis interval = std::max<millis>(w.interval_ms, 1);
  const auto wanted = static_cast<std::size_t>((window_ms + interval - 1) / interval);
  const std::size_t step =
      std::max<std::size_t>(1, (wanted + static_cast<std::size_t>(points) - 1) /
                                   static_cast<std::size_t>(points));
  const auto s = downsample(w.samples, step);
  const double nan = std::nan("");
  auto queue = [&](auto field) {
    return [=](const history_sample& x) { return x.queue_known ? double(x.*field) : nan; };
  };
  std::string out = "{\"now\":" + std::to_string(w.now) +
                    ",\"interval_ms\":" + std::to_string(interval) +
                    ",\"step_ms\":" + std::to_string(interval * static_cast<millis>(step)) +
                    ",\"window_ms\":" + std::to_string(window_ms) + ",\"series\":{";
  series(out, "at", s, [](const history_sample& x) { return double(x.at); });
  out += ',';
  series(out, "pending", s, queue(&history_sample::pending));
  out += ',';
  series(out, "leased", s, queue(&history_sample::leased));
  out += ',';
  series(out, "dead", s, queue(&history_sample::dead));
  out += ',';
  series(out, "retry_scheduled", s, queue(&history_sample::retry_scheduled));
  out += ',';
  series(out, "users_waiting", s, queue(&history_sample::users_waiting));
  out += ',';
  series(out, "oldest_pending_age_ms", s, queue(&history_sample::oldest_pending_age_ms));
  out += ',';
  series(out, "cycles", s, [](const history_sample& x) { return double(x.cycles); });
  out += ',';
  series(out, "processed", s, [](const history_sample& x) { return double(x.processed); });
  out += ',';
  series(out, "dead_lettered", s, [](const history_sample& x) { return double(x.dead_lettered); });
  out += ',';
  series(out, "facts_written", s, [](const history_sample& x) { return double(x.facts_written); });
  out += ',';
  series(out, "extractions", s, [](const history_sample& x) {
    double n = 0;
    for (auto c : x.extractions) n += c;
    return n;
  });
  out += ",\"results\":{";
  for (std::size_t k = 0; k < kResults; ++k) {
    if (k) out += ',';
    series(out, kResultNames[k], s, [k](const history_sample& x) { return double(x.extractions[k]); });
  }
  out += "},";
  series(out, "latency_p50_ms", s, [=](const history_sample& x) {
    const double q = latency_quantile(x.latency, 0.5);
    return q < 0 ? nan : q;
  });
  out += ',';
  series(out, "latency_p99_ms", s, [=](const history_sample& x) {
    const double q = latency_quantile(x.latency, 0.99);
    return q < 0 ? nan : q;
  });
  out += "}}";
  return out;
}

void handle_dead_letters(const boost::urls::url_view& url, service_api& api, reply_fn reply) {
  dead_letter_query q;
  std::int32_t limit = kDefaultPage;
  for (auto p : url.params()) {
    if (p.key == "limit") {
      if (auto bad = read_page_limit(p.value, kMaxPage, limit)) return reply(std::move(*bad));
    } else if (p.key == "cursor") {
      auto key = page_cursor::decode(p.value, kDeadKind, "");
      if (!key)
        return reply(bad_param("cursor", "not a cursor of this list (use next_cursor as given)"));
      q.before_seq = *key;
    }
  }
  q.limit = limit + 1;  // one more: is there a next page?
  api.dead_letters(q, [limit, reply = std::move(reply)](outcome<std::vector<stored_message>> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    reply(make_response(http::status::ok, kJson,
                        render_dead_page(*o.value, static_cast<std::size_t>(limit))));
  });
}

void handle_processor_history(const boost::urls::url_view& url, service_api& api,
                              reply_fn reply) {
  millis window = kDefaultWindow;
  int points = kDefaultPoints;
  for (auto p : url.params()) {
    if (p.key == "window") {
      auto d = parse_duration_ms(p.value);
      if (!d || *d < 1000)
        return reply(bad_param("window", "must be a duration from 1s to 24h (ms, or 90s, 15m, 6h)"));
      window = *d;
    } else if (p.key == "points") {
      auto n = parse_integer(p.value);
      if (!n || *n < 10 || *n > kMaxPoints)
        return reply(bad_param("points", "must be an integer from 10 to " + std::to_string(kMaxPoints)));
      points = static_cast<int>(*n);
    }
  }
  api.processor_history(window, [=, reply = std::move(reply)](outcome<history_window> o) {
    if (!o.ok()) return reply(failure_response(o.failure));
    reply(make_response(http::status::ok, kJson, render_history_window(*o.value, window, points)));
  });
}

}  // namespace memoryd
