// The storage section of the config, as the store factory takes it.
#pragma once

#include "app/config.hpp"
#include "store/open.hpp"
#include "store/postgres/connection.hpp"

namespace memoryd {

// The storage keys beyond what load_config checks: a database URL libpq cannot parse is a
// config error (exit 2) before any connection is tried.
inline void check_storage(const config& cfg) {
  if (cfg.storage.backend != "postgres") return;
  if (auto problem = pg::url_problem(cfg.storage.database_url); !problem.empty())
    throw config_error("storage.database_url", problem + " (env DATABASE_URL)");
}

inline storage_options storage_options_of(const config& cfg) {
  storage_options o;
  o.backend = cfg.storage.backend;
  o.database_url = cfg.storage.database_url;
  o.conversation_db = cfg.storage.conversation_db;
  o.memory_db = cfg.storage.memory_db;
  o.synchronous = cfg.storage.synchronous;
  o.busy_timeout_ms = static_cast<int>(cfg.storage.busy_timeout_ms);
  return o;
}

}  // namespace memoryd
