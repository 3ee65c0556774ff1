// Decoding an HTTP answer's Content-Encoding (RFC 9110 §8.4): gzip, x-gzip and deflate, with
// zlib. memoryd asks for `identity`, but gateways and proxies in front of an LLM API compress
// anyway; an answer that is not decoded would read as a body that is not JSON.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace memoryd {

class content_coding_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `body` decoded for the Content-Encoding header value `coding` (a comma-separated list,
// applied in order, so decoded last to first; case-insensitive; "identity" and empty are
// no-ops). "deflate" is the zlib format, but raw DEFLATE (what some servers send) is accepted
// too. Throws content_coding_error for an unknown coding (br, zstd, ...), corrupt or
// truncated data, and when the decoded body would exceed `limit` bytes: a small compressed
// answer must not be able to exhaust memory.
std::string decode_content(std::string_view coding, std::string body, std::size_t limit);

}  // namespace memoryd
