#include "store/search/tokens.hpp"

#include "store/search/analyzer.hpp"

#include <random>
#include <stdexcept>

namespace memoryd::search {
namespace {

std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

std::uint64_t load64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::string new_user_key() {
  static constexpr char hex[] = "0123456789abcdef";
  std::random_device rd;  // getrandom(2) on Linux
  std::string key;
  for (std::size_t i = 0; i < user_key_bytes; i += 4) {
    std::uint32_t r = rd();
    for (int j = 0; j < 8; ++j, r >>= 4) key += hex[r & 15];
  }
  return key;
}

// SipHash-2-4 (Aumasson & Bernstein), 64-bit output.
std::uint64_t siphash24(std::string_view key16, std::string_view data) {
  if (key16.size() != user_key_bytes) throw std::invalid_argument("siphash24: key of 16 bytes");
  const auto* k = reinterpret_cast<const unsigned char*>(key16.data());
  const std::uint64_t k0 = load64(k), k1 = load64(k + 8);
  std::uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
  std::uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  auto round = [&] {
    v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
    v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
    v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
    v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
  };
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t n = data.size(), whole = n - n % 8;
  for (std::size_t i = 0; i < whole; i += 8) {
    const std::uint64_t m = load64(in + i);
    v3 ^= m, round(), round(), v0 ^= m;
  }
  std::uint64_t b = static_cast<std::uint64_t>(n) << 56;
  for (std::size_t i = 0; i < n % 8; ++i) b |= static_cast<std::uint64_t>(in[whole + i]) << (8 * i);
  v3 ^= b, round(), round(), v0 ^= b;
  v2 ^= 0xff;
  round(), round(), round(), round();
  return v0 ^ v1 ^ v2 ^ v3;
}

std::string token(std::string_view key_hex, std::string_view index_key) {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  if (key_hex.size() != 2 * user_key_bytes) throw std::invalid_argument("token: key of 32 hex");
  char key[user_key_bytes];
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i < user_key_bytes; ++i)
    key[i] = static_cast<char>(nibble(key_hex[2 * i]) << 4 | nibble(key_hex[2 * i + 1]));
  std::uint64_t h = siphash24(std::string_view(key, user_key_bytes), index_key);
  std::string out(12, 'a');
  for (auto& c : out) {
    c = alphabet[h & 31];
    h >>= 5;
  }
  return out;
}

std::vector<std::string> index_tokens(std::string_view key_hex,
                                      const std::vector<std::string>& stems,
                                      const std::vector<std::string>& broader) {
  std::vector<std::string> out;
  for (const auto& k : index_keys(stems, broader)) out.push_back(token(key_hex, k));
  return out;
}

}  // namespace memoryd::search
