// Compressing test bodies the way servers do (zlib): gzip, zlib-wrapped deflate (what
// "Content-Encoding: deflate" means) and raw DEFLATE (what some servers send instead).
#pragma once

#include <string>

namespace memoryd::testing {

enum class compression { gzip, zlib, raw };

std::string compress(const std::string& data, compression format);

}  // namespace memoryd::testing
