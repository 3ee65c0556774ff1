// The commands for operating memoryd as a service: checking its configuration, backing up
// and restoring its SQLite databases (docs/OPERATIONS.md).
#pragma once

#include <string>

#include "app/config.hpp"

namespace memoryd {

// Prints the effective configuration (every key, secrets redacted) on stdout and every
// problem on stderr (bad values, missing keys, exposure refusals, unreadable TLS files,
// database paths that cannot be written). Exit 0 when there is none, 2 otherwise.
int run_check_config(const config_sources& sources);

// Copies both SQLite databases into DIR (created; it must not hold a backup already) with
// SQLite's online backup API while memoryd may run, then writes DIR/manifest.json (schema
// versions, row counts, sizes, sha256). On PostgreSQL: exit 2 saying to use pg_dump.
int run_backup(const config& cfg, const std::string& dir);

// Verifies DIR's manifest (sha256, sizes, integrity_check, counts) and puts its databases
// at the configured paths, moving the files there aside. Refuses (exit 1) while a memoryd
// has them open (its lock, see instance_lock.hpp).
int run_restore(const config& cfg, const std::string& dir);

}  // namespace memoryd
