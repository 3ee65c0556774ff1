// The web dashboard's pages (DESIGN §7a): GET /dashboard and its files, and GET / redirecting
// there. Static files compiled into the binary; the page reads only the public /v1 API.
#pragma once

#include <string>
#include <vector>

#include "http/message.hpp"
#include "http/routes.hpp"

namespace memoryd {

// The Content-Security-Policy of every dashboard answer: only memoryd's own scripts, styles,
// images and API; no inline script or style, no framing, no forms posting anywhere.
inline constexpr const char* kDashboardCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// route::root, route::dashboard or route::dashboard_asset (`seg` the path's segments). The page
// says whether a token is needed (token_required), so that it asks for one before its first
// call instead of after a 401.
response dashboard_response(route r, const std::vector<std::string>& seg, bool token_required);

}  // namespace memoryd
