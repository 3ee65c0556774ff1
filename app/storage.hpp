// The storage section of the config, as the store factory takes it.
#pragma once

#include "app/config.hpp"
#include "store/open.hpp"

namespace memoryd {

inline storage_options storage_options_of(const config& cfg) {
  storage_options o;
  o.conversation_db = cfg.storage.conversation_db;
  o.memory_db = cfg.storage.memory_db;
  o.synchronous = cfg.storage.synchronous;
  o.busy_timeout_ms = static_cast<int>(cfg.storage.busy_timeout_ms);
  return o;
}

}  // namespace memoryd
