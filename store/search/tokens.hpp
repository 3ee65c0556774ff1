// What the index stores for a user's analyzed text: opaque tokens, a keyed hash (SipHash-2-4)
// of each index key under a random key of that user (docs/ARCHITECTURE.md, "Search"). Every
// token is therefore private to one user (a posting list holds only that user's facts), and
// once an erasure has removed the user's key, entries the index has not yet compacted away
// cannot be linked to any word.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memoryd::search {

inline constexpr std::size_t user_key_bytes = 16;

// A new random key (the system's random source), as 32 hex digits: how the stores keep it.
std::string new_user_key();

std::uint64_t siphash24(std::string_view key16, std::string_view data);

// 12 characters of [a-z2-7]: 60 bits of the keyed hash of `index_key` under the key (32 hex
// digits, as new_user_key makes it).
std::string token(std::string_view key_hex, std::string_view index_key);

// The tokens a fact with these stems and broader stems is indexed under: one per index key
// (search::index_keys).
std::vector<std::string> index_tokens(std::string_view key_hex,
                                      const std::vector<std::string>& stems,
                                      const std::vector<std::string>& broader = {});

}  // namespace memoryd::search
