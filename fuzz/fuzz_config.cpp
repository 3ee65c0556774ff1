// libFuzzer: the TOML configuration file through load_config (written to a temp file, since
// load_config reads a path). Any input must either load or throw config_error; nothing else.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "app/config.hpp"

namespace {

const std::string& temp_path() {
  static const std::string path = [] {
    char templ[] = "/tmp/memoryd_fuzz_config_XXXXXX";
    int fd = mkstemp(templ);
    if (fd < 0) std::abort();
    close(fd);
    return std::string(templ);
  }();
  return path;
}

struct cleanup {
  ~cleanup() { std::remove(temp_path().c_str()); }
} at_exit;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = temp_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  memoryd::config_sources src;
  src.file = path;
  src.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  try {
    auto cfg = memoryd::load_config(src);
    cfg.listen_host();
    cfg.listen_port();
    memoryd::config_keys(cfg);
  } catch (const memoryd::config_error&) {
  }
  return 0;
}
