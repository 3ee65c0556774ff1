#include "http/search_params.hpp"

#include "domain/fact_text.hpp"
#include "http/request_parsing.hpp"

namespace memoryd {
namespace {

api_failure bad(std::string_view name, std::string_view what) {
  return {400, "invalid_parameter", std::string(name) + ": " + std::string(what)};
}

// A blank q counts as none.
std::optional<api_failure> check_query(std::string& q, bool required) {
  if (q.find_first_not_of(" \t\r\n") == std::string::npos) q.clear();
  if (q.empty() && required) return bad("q", "required, a question or keywords");
  if (q.size() > max_query_bytes || !is_storable_text(q))
    return bad(
        "q", "must be at most " + std::to_string(max_query_bytes) + " bytes of UTF-8 without NUL");
  return std::nullopt;
}

std::optional<std::int32_t> bounded(const std::string& v, std::int64_t max) {
  auto n = parse_integer(v);
  if (!n || *n < 1 || *n > max) return std::nullopt;
  return static_cast<std::int32_t>(*n);
}

}  // namespace

parsed_search parse_search_params(const query_params& params, std::string user_id) {
  parsed_search out;
  out.request.user_id = std::move(user_id);
  for (const auto& [k, v] : params) {
    if (k == "q") {
      out.request.query = v;
    } else if (k == "limit") {
      auto n = bounded(v, max_search_limit);
      if (!n) {
        out.error = bad(k, "must be an integer from 1 to " + std::to_string(max_search_limit));
        return out;
      }
      out.request.limit = *n;
    } else if (k == "category") {
      if (!is_valid_category(v)) {
        out.error = bad(k,
                        "must be one of preferences, health, relationships, work, "
                        "interests, location, other");
        return out;
      }
      out.request.category = v;
    }
  }
  out.error = check_query(out.request.query, true);
  return out;
}

parsed_context parse_context_params(const query_params& params, std::string user_id) {
  parsed_context out;
  out.request.user_id = std::move(user_id);
  for (const auto& [k, v] : params) {
    if (k == "q") {
      out.request.query = v;
    } else if (k == "max_chars") {
      auto n = bounded(v, max_context_chars);
      if (!n) {
        out.error = bad(k, "must be an integer from 1 to " + std::to_string(max_context_chars));
        return out;
      }
      out.request.max_chars = *n;
    }
  }
  out.error = check_query(out.request.query, false);
  return out;
}

}  // namespace memoryd
