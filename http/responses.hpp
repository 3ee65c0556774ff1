// Building responses: every error is JSON, {"error":{"code":"...","message":"..."}}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"
#include "http/service_api.hpp"

namespace memoryd {

// Content types the server answers with or accepts.
inline constexpr const char* kJson = "application/json";
inline constexpr const char* kFormUrlEncoded = "application/x-www-form-urlencoded";
inline constexpr const char* kTextXml = "text/xml";
inline constexpr const char* kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

response make_response(boost::beast::http::status status, const char* content_type,
                       std::string body);

response error_response(boost::beast::http::status status, std::string_view code,
                        std::string_view message);

// The service's failure as its status (500 for anything that is not a 4xx or 5xx).
response failure_response(const api_failure& f);

// 400 invalid_parameter naming the query parameter: "name: what".
response bad_param(std::string_view name, std::string_view what);

// A list's `limit` parameter, 1..max, into `out`; otherwise the 400 that says so.
std::optional<response> read_page_limit(std::string_view value, int max, std::int32_t& out);

// 405 with the Allow header, e.g. "GET, POST".
response method_not_allowed(const char* allow);

// The media type without parameters, compared case-insensitively.
bool has_media_type(const request& req, std::string_view expected);

}  // namespace memoryd
