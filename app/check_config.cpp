// memoryd check-config: the effective configuration (secrets redacted) and every problem.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "app/ops_commands.hpp"
#include "app/storage.hpp"
#include "core/log.hpp"

namespace memoryd {
namespace {

namespace fs = std::filesystem;

// A file memoryd will read at start: it must be there and readable by this user.
void check_readable(const std::string& key, const std::string& path,
                    std::vector<config_error>& problems) {
  if (path.empty()) return;
  if (::access(path.c_str(), R_OK) != 0)
    problems.emplace_back(key, "cannot read '" + path + "': " + std::strerror(errno));
}

// A database file memoryd will create or open for writing: the file (when it exists) or the
// nearest existing directory above it must be writable by this user.
void check_writable(const std::string& key, const std::string& path,
                    std::vector<config_error>& problems) {
  if (path.empty() || path == ":memory:") return;
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (fs::exists(p, ec)) {
    if (::access(p.c_str(), R_OK | W_OK) != 0)
      problems.emplace_back(key, "cannot write '" + path + "': " + std::strerror(errno));
    return;
  }
  for (p = p.parent_path(); !p.empty(); p = p.parent_path()) {
    if (fs::exists(p, ec)) {
      if (!fs::is_directory(p, ec))
        problems.emplace_back(key, "'" + p.string() + "' is not a directory");
      else if (::access(p.c_str(), W_OK | X_OK) != 0)
        problems.emplace_back(key, "cannot create '" + path + "': '" + p.string() +
                                       "' is not writable (" + std::strerror(errno) + ")");
      return;
    }
    if (p == p.root_path()) return;
  }
}

}  // namespace

int run_check_config(const config_sources& sources) {
  std::vector<config_error> problems;
  const config cfg = load_config_collecting(sources, problems);
  std::vector<std::string> warnings;
  try {
    check_storage(cfg);
  } catch (const config_error& e) {
    problems.push_back(e);
  }
  warnings = check_exposure_collecting(cfg, problems);
  check_readable("server.tls_cert", cfg.server.tls_cert, problems);
  check_readable("server.tls_key", cfg.server.tls_key, problems);
  check_readable("llm.ca_file", cfg.llm.ca_file, problems);
  if (cfg.storage.backend == "sqlite") {
    check_writable("storage.conversation_db", cfg.storage.conversation_db, problems);
    check_writable("storage.memory_db", cfg.storage.memory_db, problems);
  }

  std::cout << "# memoryd effective configuration"
            << (sources.file ? " (" + *sources.file + ", environment, options)"
                             : " (defaults, environment, options)")
            << "\n# secrets are shown as <redacted>\n";
  std::string section;
  for (auto& [key, value, text] : effective_settings(cfg)) {
    auto dot = key.find('.');
    auto sec = key.substr(0, dot);
    if (sec != section) {
      std::cout << (section.empty() ? "" : "\n") << "[" << sec << "]\n";
      section = sec;
    }
    std::cout << key.substr(dot + 1) << " = " << (text ? log::quote(value) : value) << "\n";
  }
  for (auto& w : warnings) std::cerr << "memoryd: warning: " << w << "\n";
  for (auto& p : problems) std::cerr << "memoryd: config error: " << p.what() << "\n";
  if (!problems.empty()) {
    std::cerr << "memoryd: " << problems.size() << " problem" << (problems.size() == 1 ? "" : "s")
              << " in the configuration\n";
    return 2;
  }
  std::cerr << "memoryd: configuration ok\n";
  return 0;
}

}  // namespace memoryd
