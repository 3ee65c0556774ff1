#include "http/routes.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <initializer_list>
#include <utility>

namespace memoryd {
namespace {

namespace http = boost::beast::http;

}  // namespace

const char* pattern_of(route r) {
  switch (r) {
    case route::none:
      return "other";
    case route::twilio:
      return "/webhooks/twilio";
    case route::sms:
      return "/sms";
    case route::messages:
      return "/v1/messages";
    case route::user:
      return "/v1/users/{id}";
    case route::user_messages:
      return "/v1/users/{id}/messages";
    case route::user_facts:
      return "/v1/users/{id}/facts";
    case route::user_fact:
      return "/v1/users/{id}/facts/{fact_id}";
    case route::user_facts_search:
      return "/v1/users/{id}/facts/search";
    case route::user_fact_events:
      return "/v1/users/{id}/facts/events";
    case route::user_context:
      return "/v1/users/{id}/context";
    case route::processor_run:
      return "/v1/processor/run";
    case route::processor_status:
      return "/v1/processor/status";
    case route::processor_retry:
      return "/v1/processor/dead/retry";
    case route::processor_dead:
      return "/v1/processor/dead";
    case route::processor_history:
      return "/v1/processor/history";
    case route::root:
      return "/";
    case route::dashboard:
      return "/dashboard";
    case route::dashboard_asset:
      return "/dashboard/{asset}";
    case route::healthz:
      return "/healthz";
    case route::readyz:
      return "/readyz";
    case route::metrics:
      return "/metrics";
  }
  return "other";
}

route match_route(const std::vector<std::string>& seg) {
  auto is = [&](std::initializer_list<std::string_view> want) {
    return std::equal(seg.begin(), seg.end(), want.begin(), want.end());
  };
  if (is({"webhooks", "twilio"})) return route::twilio;
  if (is({"sms"})) return route::sms;
  if (is({"healthz"})) return route::healthz;
  if (is({"readyz"})) return route::readyz;
  if (is({"metrics"})) return route::metrics;
  if (seg.empty() || is({""})) return route::root;
  if (is({"dashboard"}) || is({"dashboard", ""})) return route::dashboard;
  if (seg.size() == 2 && seg[0] == "dashboard") return route::dashboard_asset;
  if (seg.empty() || seg[0] != "v1") return route::none;
  if (is({"v1", "messages"})) return route::messages;
  if (is({"v1", "processor", "run"})) return route::processor_run;
  if (is({"v1", "processor", "status"})) return route::processor_status;
  if (is({"v1", "processor", "dead", "retry"})) return route::processor_retry;
  if (is({"v1", "processor", "dead"})) return route::processor_dead;
  if (is({"v1", "processor", "history"})) return route::processor_history;
  if (seg.size() >= 3 && seg[1] == "users") {
    if (seg.size() == 3) return route::user;
    if (seg.size() == 4 && seg[3] == "messages") return route::user_messages;
    if (seg.size() == 4 && seg[3] == "facts") return route::user_facts;
    if (seg.size() == 4 && seg[3] == "context") return route::user_context;
    // Fact ids are UUIDs: "search" and "events" are never one.
    if (seg.size() == 5 && seg[3] == "facts" && seg[4] == "search") return route::user_facts_search;
    if (seg.size() == 5 && seg[3] == "facts" && seg[4] == "events") return route::user_fact_events;
    if (seg.size() == 5 && seg[3] == "facts") return route::user_fact;
  }
  return route::none;
}

std::optional<target> parse_target(std::string_view request_target) {
  auto parsed = boost::urls::parse_origin_form(request_target);
  if (parsed.has_error()) return std::nullopt;
  target t;
  t.url = parsed.value();
  for (auto s : t.url.segments()) t.seg.push_back(std::move(s));
  t.r = match_route(t.seg);
  return t;
}

const char* allowed_methods(route r) {
  switch (r) {
    case route::twilio:
    case route::sms:
    case route::messages:
    case route::processor_run:
    case route::processor_retry:
      return "POST";
    case route::user_messages:
    case route::user_facts_search:
    case route::user_fact_events:
    case route::user_context:
    case route::processor_status:
    case route::processor_dead:
    case route::processor_history:
    case route::root:
    case route::dashboard:
    case route::dashboard_asset:
    case route::healthz:
    case route::readyz:
    case route::metrics:
      return "GET";
    case route::user_facts:
      return "GET, POST";
    case route::user:
    case route::user_fact:
      return "DELETE";
    case route::none:
      break;
  }
  return "";
}

bool method_allowed(route r, http::verb method) {
  std::string_view allow = allowed_methods(r);
  std::string_view name = http::to_string(method);
  for (std::size_t pos = 0; pos < allow.size();) {
    auto comma = allow.find(", ", pos);
    if (allow.substr(pos, comma == std::string_view::npos ? allow.npos : comma - pos) == name)
      return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 2;
  }
  return false;
}

}  // namespace memoryd
