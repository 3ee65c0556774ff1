// The query parameters of GET /v1/users/{id}/facts/search and GET /v1/users/{id}/context, as
// pure functions (docs/API.md). A rejection is a 400 invalid_parameter naming the parameter.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/search.hpp"
#include "http/service_api.hpp"

namespace memoryd {

using query_params = std::vector<std::pair<std::string, std::string>>;  // decoded, in order

// Longest question accepted, in bytes.
inline constexpr std::size_t max_query_bytes = 1000;

// q: required, 1..max_query_bytes of UTF-8 without NUL; limit: 1..max_search_limit (default
// default_search_limit); category: one of fact_category::all. Unknown parameters are ignored.
struct parsed_search {
  search_request request;
  std::optional<api_failure> error;
};
parsed_search parse_search_params(const query_params& params, std::string user_id);

// q: optional (empty: recent and remembered facts only), as for search; max_chars:
// 1..max_context_chars (default default_context_chars).
struct parsed_context {
  context_request request;
  std::optional<api_failure> error;
};
parsed_context parse_context_params(const query_params& params, std::string user_id);

}  // namespace memoryd
