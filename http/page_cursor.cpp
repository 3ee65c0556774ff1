#include "http/page_cursor.hpp"

#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <vector>

namespace memoryd::page_cursor {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kVersion = "c1";

// FNV-1a, 64 bits: a check that the cursor was made for this list and these filters. Not a
// secret: a client that forges one only reads its own permitted list from another key.
std::uint64_t digest(std::string_view kind, std::string_view scope) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // separator: ("ab","c") and ("a","bc") differ
    h *= 1099511628211ull;
  };
  mix(kind);
  mix(scope);
  return h;
}

std::string base64url(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    auto pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// The payload is "c1.<kind>.<keys>.<check>", the keys positive integers joined by '_'.
std::string encode_keys(std::string_view kind, std::string_view scope,
                        std::initializer_list<std::int64_t> keys) {
  char check[17];
  std::snprintf(check, sizeof check, "%016llx",
                static_cast<unsigned long long>(digest(kind, scope)));
  std::string text;
  for (auto k : keys) text += (text.empty() ? "" : "_") + std::to_string(k);
  return base64url(std::string(kVersion) + "." + std::string(kind) + "." + text + "." + check);
}

// Exactly `n` keys, each > 0, or nothing.
std::optional<std::vector<std::int64_t>> decode_keys(std::string_view cursor, std::string_view kind,
                                                     std::string_view scope, std::size_t n) {
  if (cursor.empty() || cursor.size() > 200) return std::nullopt;
  auto payload = unbase64url(cursor);
  if (!payload) return std::nullopt;
  // The one encoding of the payload: anything else (a changed character that still decodes)
  // is refused.
  if (base64url(*payload) != cursor) return std::nullopt;
  const std::string prefix = std::string(kVersion) + "." + std::string(kind) + ".";
  std::string_view p = *payload;
  if (p.substr(0, prefix.size()) != prefix) return std::nullopt;
  p.remove_prefix(prefix.size());
  auto dot = p.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::vector<std::int64_t> keys;
  for (auto text = p.substr(0, dot); keys.size() < n;) {
    auto sep = text.find('_');
    auto num = text.substr(0, sep);
    std::int64_t key = 0;
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), key);
    if (ec != std::errc{} || end != num.data() + num.size() || key <= 0) return std::nullopt;
    keys.push_back(key);
    if ((sep == std::string_view::npos) != (keys.size() == n)) return std::nullopt;
    if (sep != std::string_view::npos) text.remove_prefix(sep + 1);
  }
  char check[17];
  std::snprintf(check, sizeof check, "%016llx",
                static_cast<unsigned long long>(digest(kind, scope)));
  if (p.substr(dot + 1) != check) return std::nullopt;
  return keys;
}

}  // namespace

std::string encode(std::string_view kind, std::string_view scope, std::int64_t key) {
  return encode_keys(kind, scope, {key});
}

std::optional<std::int64_t> decode(std::string_view cursor, std::string_view kind,
                                   std::string_view scope) {
  auto keys = decode_keys(cursor, kind, scope, 1);
  if (!keys) return std::nullopt;
  return keys->front();
}

std::string encode(std::string_view kind, std::string_view scope, key_pair key) {
  return encode_keys(kind, scope, {key.first, key.second});
}

std::optional<key_pair> decode_pair(std::string_view cursor, std::string_view kind,
                                    std::string_view scope) {
  auto keys = decode_keys(cursor, kind, scope, 2);
  if (!keys) return std::nullopt;
  return key_pair{(*keys)[0], (*keys)[1]};
}

}  // namespace memoryd::page_cursor
