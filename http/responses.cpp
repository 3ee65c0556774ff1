#include "http/responses.hpp"

#include <boost/beast/core/string.hpp>

#include <utility>

#include "http/json_render.hpp"
#include "http/request_parsing.hpp"

namespace memoryd {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

}  // namespace

response make_response(http::status status, const char* content_type, std::string body) {
  response res{status, 11};
  res.set(http::field::content_type, content_type);
  // Nothing memoryd answers is meant to be sniffed into HTML or cached on the way: the bodies
  // carry users' text (docs/SECURITY.md).
  res.set("X-Content-Type-Options", "nosniff");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

response error_response(http::status status, std::string_view code, std::string_view message) {
  return make_response(status, kJson, render_error(code, message));
}

response bad_param(std::string_view name, std::string_view what) {
  return error_response(http::status::bad_request, "invalid_parameter",
                        std::string(name) + ": " + std::string(what));
}

std::optional<response> read_page_limit(std::string_view value, int max, std::int32_t& out) {
  auto n = parse_integer(value);
  if (!n || *n < 1 || *n > max)
    return bad_param("limit", "must be an integer from 1 to " + std::to_string(max));
  out = static_cast<std::int32_t>(*n);
  return std::nullopt;
}

response failure_response(const api_failure& f) {
  int code = f.http_status;
  if (code < 400 || code > 599) code = 500;  // a failure must not render as success
  return error_response(static_cast<http::status>(code), f.code, f.message);
}

response method_not_allowed(const char* allow) {
  auto res = error_response(http::status::method_not_allowed, "method_not_allowed",
                            std::string("allowed: ") + allow);
  res.set(http::field::allow, allow);
  return res;
}

bool has_media_type(const request& req, std::string_view expected) {
  auto it = req.find(http::field::content_type);
  if (it == req.end()) return false;
  std::string_view v = it->value();
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return beast::iequals(v, expected);
}

}  // namespace memoryd
