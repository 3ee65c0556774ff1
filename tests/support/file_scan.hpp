// Reads files as bytes, the way someone holding a copy of memoryd's data directory would: for
// the erasure tests, which must see WAL frames, free pages and index files, not rows.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace memoryd::testing {

// "file name: needle" -> how often the needle's bytes occur in that file, for every regular
// file under `dir` (recursively) and every needle that occurs at least once.
inline std::map<std::string, int> occurrences_in_files(const std::string& dir,
                                                       const std::vector<std::string>& needles) {
  std::map<std::string, int> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), {}};
    for (const auto& n : needles) {
      for (auto pos = bytes.find(n); pos != std::string::npos; pos = bytes.find(n, pos + 1))
        ++found[entry.path().filename().string() + ": " + n];
    }
  }
  return found;
}

}  // namespace memoryd::testing
