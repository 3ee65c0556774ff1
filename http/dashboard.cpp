#include "http/dashboard.hpp"

#include "http/dashboard_assets.hpp"
#include "http/responses.hpp"

namespace memoryd {
namespace {

namespace http = boost::beast::http;

void harden(response& res) {
  res.set("Content-Security-Policy", kDashboardCsp);
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
}

}  // namespace

response dashboard_response(route r, const std::vector<std::string>& seg, bool token_required) {
  if (r == route::root) {
    auto res = make_response(http::status::found, "text/plain; charset=utf-8", "see /dashboard\n");
    res.set(http::field::location, "/dashboard");
    harden(res);
    return res;
  }
  const std::string name = r == route::dashboard ? "index.html" : seg.at(1);
  const auto* a = dashboard::find_asset(name);
  if (!a || (name == "index.html" && r != route::dashboard)) {
    auto res = error_response(http::status::not_found, "not_found", "no such resource");
    harden(res);
    return res;
  }
  std::string body(a->body);
  if (r == route::dashboard) {
    constexpr std::string_view marker = "{{auth}}";
    if (auto at = body.find(marker); at != std::string::npos)
      body.replace(at, marker.size(), token_required ? "required" : "none");
  }
  auto res = make_response(http::status::ok, std::string(a->content_type).c_str(), std::move(body));
  harden(res);
  return res;
}

}  // namespace memoryd
