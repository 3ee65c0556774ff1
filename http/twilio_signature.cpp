#include "http/twilio_signature.hpp"

#include "http/request_parsing.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace memoryd::twilio {
namespace {

std::string base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  // The lengths are public (a signature is always 28 characters, a SHA-256 always 64).
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Where the authority ("user@host:port") of an absolute URL starts and ends; npos when `url`
// has no "scheme://".
struct authority_span {
  std::size_t begin = std::string_view::npos, end = std::string_view::npos;
};

authority_span find_authority(std::string_view url) {
  authority_span a;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return a;
  a.begin = sep + 3;
  a.end = url.find_first_of("/?#", a.begin);
  if (a.end == std::string_view::npos) a.end = url.size();
  return a;
}

std::string hmac_sha1_base64(std::string_view auth_token, std::string_view url,
                             const form_params& sorted_params) {
  std::string data(url);
  for (const auto& [name, value] : sorted_params) {
    data += name;
    data += value;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
           &mac_len) == nullptr) {
    throw std::runtime_error("HMAC-SHA1 failed");
  }
  return base64(mac, mac_len);
}

// Any of the signatures Twilio may have computed over `url` (see url_variants) and `params`
// (sorted; see compute_signature) equals `signature`.
bool any_variant_matches(std::string_view auth_token, std::string_view url,
                         const form_params& sorted_params, std::string_view signature) {
  bool ok = false;
  for (const auto& u : url_variants(url))
    ok |= equal_constant_time(hmac_sha1_base64(auth_token, u, sorted_params), signature);
  return ok;
}

}  // namespace

std::string compute_signature(std::string_view auth_token, std::string_view url,
                              form_params params) {
  std::sort(params.begin(), params.end());
  params.erase(std::unique(params.begin(), params.end()), params.end());
  return hmac_sha1_base64(auth_token, url, params);
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &md_len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(md_len * 2);
  for (unsigned int i = 0; i < md_len; ++i) {
    out.push_back(digits[md[i] >> 4]);
    out.push_back(digits[md[i] & 0xF]);
  }
  return out;
}

std::vector<std::string> url_variants(std::string_view url) {
  std::vector<std::string> out{std::string(url)};
  const auto a = find_authority(url);
  if (a.begin == std::string_view::npos) return out;
  const std::string scheme = lower(url.substr(0, a.begin - 3));
  std::string_view default_port;
  if (scheme == "https") default_port = "443";
  if (scheme == "http") default_port = "80";
  if (default_port.empty()) return out;

  std::string_view authority = url.substr(a.begin, a.end - a.begin);
  auto at = authority.rfind('@');
  std::size_t host_begin = at == std::string_view::npos ? 0 : at + 1;
  auto colon = authority.rfind(':');
  auto bracket = authority.rfind(']');  // IPv6 literal: its colons are not a port
  bool has_port = colon != std::string_view::npos && colon >= host_begin &&
                  (bracket == std::string_view::npos || colon > bracket);
  std::string variant;
  if (!has_port) {
    variant = std::string(url.substr(0, a.end)) + ":" + std::string(default_port) +
              std::string(url.substr(a.end));
  } else if (authority.substr(colon + 1) == default_port) {
    variant = std::string(url.substr(0, a.begin + colon)) + std::string(url.substr(a.end));
  }
  if (!variant.empty() && variant != out.front()) out.push_back(std::move(variant));
  return out;
}

std::string query_value(std::string_view url, std::string_view name) {
  auto q = url.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = url.substr(q + 1);
  // A query is decoded like a form body; a malformed one carries no value.
  auto params = parse_form(query.substr(0, query.find('#')));
  if (!params) return {};
  for (auto& [key, value] : *params)
    if (key == name) return value;
  return {};
}

verdict validate_body(std::string_view auth_token, std::string_view url, std::string_view body,
                      std::string_view signature) {
  if (signature.empty()) return verdict::missing;
  if (!any_variant_matches(auth_token, url, {}, signature)) return verdict::mismatch;
  const std::string expected = lower(query_value(url, "bodySHA256"));
  if (expected.empty() || !equal_constant_time(sha256_hex(body), expected))
    return verdict::body_hash_mismatch;
  return verdict::valid;
}

verdict validate(std::string_view auth_token, std::string_view url, const form_params& params,
                 std::string_view raw_body, std::string_view signature) {
  if (signature.empty()) return verdict::missing;
  if (!query_value(url, "bodySHA256").empty())
    return validate_body(auth_token, url, raw_body, signature);
  form_params sorted = params;
  std::sort(sorted.begin(), sorted.end());
  bool ok = false;
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    // Twilio's libraries sign repeated identical pairs once; accept them counted each time too.
    ok = any_variant_matches(auth_token, url, sorted, signature);
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  }
  ok |= any_variant_matches(auth_token, url, sorted, signature);
  return ok ? verdict::valid : verdict::mismatch;
}

const char* to_string(verdict v) {
  switch (v) {
    case verdict::valid:
      return "valid";
    case verdict::missing:
      return "missing";
    case verdict::mismatch:
      return "mismatch";
    case verdict::body_hash_mismatch:
      return "body_hash_mismatch";
  }
  return "unknown";
}

}  // namespace memoryd::twilio
