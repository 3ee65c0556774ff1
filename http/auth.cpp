#include "http/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <string>

namespace memoryd {
namespace {

namespace http = boost::beast::http;

using digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

digest sha256(std::string_view s) {
  digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

bool same(const digest& a, const digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

unsigned scope_of_name(std::string_view name) {
  if (name == "ingest") return scope_ingest;
  if (name == "read") return scope_read;
  if (name == "metrics") return scope_metrics;
  if (name == "admin") return scope_admin;
  return scope_none;
}

const char* scope_name(unsigned required) {
  switch (required) {
    case scope_ingest:
      return "ingest";
    case scope_read:
      return "read";
    case scope_metrics:
      return "metrics";
    default:
      return "admin";
  }
}

bool tokens_configured(const server_options& opts) {
  return !opts.api_token.empty() || !opts.scoped_tokens.empty();
}

unsigned required_scope(route r, http::verb method, bool under_v1, const server_options& opts) {
  if (!method_allowed(r, method)) {
    if (under_v1 || (r == route::metrics && opts.metrics_need_token)) return scope_any;
    return scope_none;
  }
  switch (r) {
    case route::twilio:
    case route::sms:
    case route::healthz:
    case route::readyz:
    // The dashboard's files hold no data: the page asks for a token and sends it with each
    // /v1 call it makes (a browser cannot send a bearer header when it opens a page).
    case route::root:
    case route::dashboard:
    case route::dashboard_asset:
      return scope_none;
    case route::metrics:
      return opts.metrics_need_token ? scope_metrics : scope_none;
    case route::messages:
      return scope_ingest;
    case route::user_messages:
    case route::user_facts_search:
    case route::user_fact_events:
    case route::user_context:
      return scope_read;
    case route::user_facts:
      return method == http::verb::get ? scope_read : scope_admin_only;  // POST: remember
    case route::user:                                                    // erase
    case route::user_fact:                                               // forget
    case route::processor_run:
    case route::processor_status:
    case route::processor_retry:
    case route::processor_dead:
    case route::processor_history:
      return scope_admin_only;
    case route::none:
      break;
  }
  return under_v1 ? scope_any : scope_none;
}

unsigned granted_scopes(const request& req, const server_options& opts) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return scope_none;
  std::string_view value = it->value();
  constexpr std::string_view scheme = "Bearer ";
  if (value.size() <= scheme.size() || value.substr(0, scheme.size()) != scheme) return scope_none;
  const digest presented = sha256(value.substr(scheme.size()));
  unsigned granted = scope_none;
  if (!opts.api_token.empty() && same(presented, sha256(opts.api_token))) granted |= scope_admin;
  for (const auto& [scope, token] : opts.scoped_tokens)
    if (same(presented, sha256(token))) granted |= scope_of_name(scope);
  return granted;
}

}  // namespace memoryd
