// Configuration sources for tests: the environment a test gives, nothing from the process.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "app/config.hpp"

namespace memoryd::testing {

inline config_sources with_env(std::map<std::string, std::string> env) {
  config_sources s;
  s.getenv = [env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return s;
}

inline config_sources no_env() { return with_env({}); }

// The key of the error load_config stops at, "(no error)" when it loads.
inline std::string error_key(const config_sources& s) {
  try {
    load_config(s);
  } catch (const config_error& e) {
    return e.key();
  }
  return "(no error)";
}

}  // namespace memoryd::testing
