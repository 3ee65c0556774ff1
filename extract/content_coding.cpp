#include "extract/content_coding.hpp"

#include <zlib.h>

#include <cctype>
#include <vector>

namespace memoryd {
namespace {

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Inflates with zlib's `window_bits`: 15 + 32 detects a gzip or zlib header, -15 is raw.
// Returns false when the data does not start as that format (so another can be tried).
bool inflate_into(const std::string& in, int window_bits, std::size_t limit, std::string& out) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) throw content_coding_error("zlib: out of memory");
  struct guard {
    z_stream* z;
    ~guard() { inflateEnd(z); }
  } g{&zs};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  out.clear();
  char chunk[16384];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const std::size_t produced = sizeof chunk - zs.avail_out;
    if (out.size() + produced > limit)
      throw content_coding_error("decoded body exceeds " + std::to_string(limit) + " bytes");
    out.append(chunk, produced);
    if (rc == Z_STREAM_END) return true;
    if (rc == Z_DATA_ERROR && zs.total_out == 0 && out.empty()) return false;
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0)
      throw content_coding_error("compressed body is truncated");
    throw content_coding_error(std::string("corrupt compressed body: ") +
                               (zs.msg ? zs.msg : "zlib error " + std::to_string(rc)));
  }
}

std::string decode_one(const std::string& coding, std::string body, std::size_t limit) {
  if (coding.empty() || coding == "identity") return body;
  if (coding != "gzip" && coding != "x-gzip" && coding != "deflate")
    throw content_coding_error("unsupported Content-Encoding '" + coding + "'");
  // zlib's uInt is 32 bits; a compressed body beyond that is past any limit anyway.
  if (body.size() > 0xffffffffu) throw content_coding_error("compressed body too large");
  std::string out;
  if (inflate_into(body, 15 + 32, limit, out)) return out;
  if (coding == "deflate" && inflate_into(body, -15, limit, out)) return out;
  throw content_coding_error("body is not " + coding + " data");
}

}  // namespace

std::string decode_content(std::string_view coding, std::string body, std::size_t limit) {
  std::vector<std::string> codings;
  for (std::size_t pos = 0; pos <= coding.size();) {
    const auto comma = coding.find(',', pos);
    const auto end = comma == std::string_view::npos ? coding.size() : comma;
    codings.push_back(lower_trimmed(coding.substr(pos, end - pos)));
    pos = end + 1;
  }
  for (auto it = codings.rbegin(); it != codings.rend(); ++it)
    body = decode_one(*it, std::move(body), limit);
  if (body.size() > limit)
    throw content_coding_error("decoded body exceeds " + std::to_string(limit) + " bytes");
  return body;
}

}  // namespace memoryd
