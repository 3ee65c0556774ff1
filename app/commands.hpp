// The CLI commands that work on the databases directly, without the service.
#pragma once

#include <string>

#include "app/config.hpp"
#include "domain/message.hpp"

namespace memoryd {

// Streams a JSONL file (one message per line, as POST /v1/messages takes it) into
// conversation.db, 1,000 lines per transaction. Idempotent on external_id. Bad lines are
// reported on stderr by line number and skipped. "-" reads stdin. Exit 0 when every line
// was good, 1 otherwise (the good lines are imported either way).
// Every message is stored with `priority`.
int run_import(const config& cfg, const std::string& file, message_priority priority);

// A user's active facts (and their history with `history`), as text or JSON.
int run_facts(const config& cfg, const std::string& user_id, bool json, bool history);

// The user's facts ranked by relevance to `query` (the search the API runs), as text
// ("score  text (category)" lines) or the API's JSON. `limit` is "" (10) or 1..100; anything
// else is a usage error (exit 2).
int run_search(const config& cfg, const std::string& user_id, const std::string& query,
               const std::string& limit, bool json);

// Queue counts by status and the number of facts, as text or JSON.
int run_stats(const config& cfg, bool json);

// Applies the schema migrations and prints {"backend", "applied", "version"} (SQLite:
// opening the files migrates them; applied and version are PostgreSQL's). Exit 0.
int run_migrate(const config& cfg);

}  // namespace memoryd
