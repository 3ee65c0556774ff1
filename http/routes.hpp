// Routes. Each has a pattern, which is what metrics and logs name (never the raw path: user
// ids would make one time series per user).
#pragma once

#include <boost/beast/http/verb.hpp>
#include <boost/url/url_view.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memoryd {

enum class route {
  none,
  twilio,
  sms,
  messages,
  user,
  user_messages,
  user_facts,
  user_fact,
  user_facts_search,
  user_fact_events,
  user_context,
  processor_run,
  processor_status,
  processor_retry,
  processor_dead,
  processor_history,
  healthz,
  readyz,
  metrics,
  root,             // GET / redirects to the dashboard
  dashboard,        // GET /dashboard: the page
  dashboard_asset,  // GET /dashboard/{asset}: its scripts and styles
};

// "/v1/users/{id}/facts"; "other" for route::none.
const char* pattern_of(route r);

// A request target taken apart. The url_view points into the request, which outlives it.
struct target {
  boost::urls::url_view url;
  std::vector<std::string> seg;  // percent-decoded per segment: %2F stays inside a user id
  route r = route::none;
};

route match_route(const std::vector<std::string>& seg);

// An origin-form target ("/path?query"), or nullopt when it is not one.
std::optional<target> parse_target(std::string_view request_target);

// The methods each route allows, as the Allow header lists them.
const char* allowed_methods(route r);

bool method_allowed(route r, boost::beast::http::verb method);

}  // namespace memoryd
