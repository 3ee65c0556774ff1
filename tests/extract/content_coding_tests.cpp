// Content-Encoding decoding (extract/content_coding): the codings gateways send, and the
// bounds that keep a compressed answer from exhausting memory.
#include <catch2/catch.hpp>

#include <string>

#include "extract/content_coding.hpp"
#include "tests/support/compress.hpp"

using namespace memoryd;
using namespace memoryd::testing;

namespace {
const std::string kBody = R"({"choices": [{"message": {"content": "{\"operations\": []}"}}]})";
constexpr std::size_t kLimit = 1 << 20;
}  // namespace

TEST_CASE("content coding: gzip, x-gzip, deflate (zlib and raw), identity",
          "[extract_llm][coding]") {
  CHECK(decode_content("gzip", compress(kBody, compression::gzip), kLimit) == kBody);
  CHECK(decode_content(" X-GZIP ", compress(kBody, compression::gzip), kLimit) == kBody);
  CHECK(decode_content("deflate", compress(kBody, compression::zlib), kLimit) == kBody);
  CHECK(decode_content("Deflate", compress(kBody, compression::raw), kLimit) == kBody);
  CHECK(decode_content("identity", kBody, kLimit) == kBody);
  CHECK(decode_content("", kBody, kLimit) == kBody);
  // Codings are listed in the order applied: decoded last to first.
  const auto twice = compress(compress(kBody, compression::zlib), compression::gzip);
  CHECK(decode_content("deflate, gzip", twice, kLimit) == kBody);
}

TEST_CASE("content coding: unknown, corrupt and truncated bodies are errors",
          "[extract_llm][coding]") {
  CHECK_THROWS_WITH(decode_content("br", kBody, kLimit), Catch::Contains("unsupported"));
  CHECK_THROWS_AS(decode_content("gzip", kBody, kLimit), content_coding_error);
  // raw DEFLATE is accepted for "deflate" only, not for "gzip"
  CHECK_THROWS_AS(decode_content("gzip", compress(kBody, compression::raw), kLimit),
                  content_coding_error);
  auto gz = compress(kBody, compression::gzip);
  CHECK_THROWS_WITH(decode_content("gzip", gz.substr(0, gz.size() / 2), kLimit),
                    Catch::Contains("truncated"));
  gz[gz.size() / 2] = static_cast<char>(gz[gz.size() / 2] ^ 0x55);
  CHECK_THROWS_AS(decode_content("gzip", gz, kLimit), content_coding_error);
}

TEST_CASE("content coding: a zip bomb stops at the limit", "[extract_llm][coding]") {
  // 64 MiB of zeros compress to about 64 KiB; decoding stops at the 1 MiB limit.
  const std::string zeros(64u << 20, '\0');
  const auto bomb = compress(zeros, compression::gzip);
  CHECK(bomb.size() < 100 * 1024);
  CHECK_THROWS_WITH(decode_content("gzip", bomb, kLimit), Catch::Contains("exceeds"));
  CHECK(decode_content("gzip", compress(std::string(kLimit, 'a'), compression::gzip), kLimit)
            .size() == kLimit);
}
