#include "store/postgres/schema.hpp"

#include "store/postgres/connection.hpp"

#include <string>

namespace memoryd::pg {
namespace {

// pg_advisory_lock key of the migration step: "memoryd\x01" as a big-endian int64.
constexpr const char* kMigrationLock = "7882827048211276801";

}  // namespace

const std::vector<std::string_view>& migrations() {
  static const std::vector<std::string_view> all = {
      // 1: messages and the per-user claim queue (conversation.db on SQLite); facts, their
      // history and the applied batch keys (memory.db). Times are milliseconds since the
      // epoch, as everywhere in memoryd.
      R"sql(
CREATE TABLE messages (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  channel TEXT NOT NULL DEFAULT '',
  external_id TEXT UNIQUE,
  created_at BIGINT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  lease_until BIGINT NOT NULL DEFAULT 0,
  last_error TEXT,
  memory_processed_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX messages_user_seq ON messages (user_id, seq);
CREATE INDEX messages_waiting ON messages (user_id, seq) WHERE status IN ('pending', 'leased');
CREATE INDEX messages_dead ON messages (seq) WHERE status = 'dead';

-- One row per user with waiting (pending or leased) user messages. head_seq: the user's
-- oldest waiting message (the FIFO key); available_at: the user may be claimed from then on
-- (lease or retry gate). Claims lock these rows FOR UPDATE SKIP LOCKED.
CREATE TABLE user_queue (
  user_id TEXT PRIMARY KEY,
  head_seq BIGINT NOT NULL,
  available_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX user_queue_head ON user_queue (head_seq);

CREATE TABLE facts (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  text TEXT NOT NULL,
  norm TEXT NOT NULL,
  category TEXT NOT NULL,
  status TEXT NOT NULL,
  observed_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  source_ids TEXT NOT NULL DEFAULT '[]',
  superseded_by TEXT
);
CREATE UNIQUE INDEX facts_active_norm ON facts (user_id, norm) WHERE status = 'active';
CREATE INDEX facts_user ON facts (user_id, created_at);

CREATE TABLE fact_events (
  seq BIGSERIAL PRIMARY KEY,
  fact_id TEXT NOT NULL,
  new_fact_id TEXT,
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  old_text TEXT,
  new_text TEXT,
  cause TEXT NOT NULL,
  extractor TEXT,
  source_ids TEXT NOT NULL DEFAULT '[]',
  observed_at BIGINT NOT NULL DEFAULT 0,
  at BIGINT NOT NULL
);
CREATE INDEX fact_events_user ON fact_events (user_id, seq);

CREATE TABLE applied_batches (
  batch_key TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  added INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  unchanged INTEGER NOT NULL,
  rejected INTEGER NOT NULL,
  fact_ids TEXT NOT NULL DEFAULT '[]',
  applied_at BIGINT NOT NULL
);
CREATE INDEX applied_batches_user ON applied_batches (user_id);
)sql",
      // 2: what the stores need beyond the tables. The user's lease and retry gates are
      // found through partial indexes (O(log n) per transition, also for a user with half the
      // backlog); facts keep their insertion order (SQLite's rowid) for stable listings.
      R"sql(
CREATE INDEX messages_leased ON messages (user_id, lease_until) WHERE status = 'leased';
CREATE INDEX messages_retry ON messages (user_id, next_attempt_at)
  WHERE status = 'pending' AND next_attempt_at > 0;
ALTER TABLE facts ADD COLUMN ord BIGSERIAL;
)sql",
      // 3: fact search (store/postgres/fact_index.hpp): the analyzed text, the user's write
      // order, whether the fact was remembered through the API, and its tokens, under a GIN
      // index updated in place (fastupdate off: a pending list would be scanned by every
      // search). Facts stored before this are indexed by fact_index::build_next_user.
      R"sql(
ALTER TABLE facts ADD COLUMN terms TEXT, ADD COLUMN pos BIGINT,
  ADD COLUMN origin TEXT NOT NULL DEFAULT 'extractor', ADD COLUMN tokens tsvector;
UPDATE facts SET origin = 'api'
  WHERE id IN (SELECT fact_id FROM fact_events WHERE kind = 'add' AND cause = 'api');
CREATE TABLE search_users (
  user_id TEXT PRIMARY KEY,
  key TEXT NOT NULL,
  facts BIGINT NOT NULL DEFAULT 0,
  terms BIGINT NOT NULL DEFAULT 0,
  next_pos BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX facts_tokens ON facts USING gin (tokens) WITH (fastupdate = off)
  WHERE tokens IS NOT NULL;
CREATE INDEX facts_unindexed ON facts (user_id) WHERE status = 'active' AND terms IS NULL;
CREATE INDEX facts_user_pos ON facts (user_id, pos) WHERE status = 'active';
CREATE INDEX facts_user_remembered ON facts (user_id, pos)
  WHERE status = 'active' AND origin = 'api';
)sql",
      // 4: facts carry their nouns' broader terms (search::analyze_fact): every fact is indexed
      // again, by fact_index::build_next_user, each user under a new key.
      R"sql(
UPDATE facts SET terms = NULL, pos = NULL, tokens = NULL WHERE terms IS NOT NULL;
DELETE FROM search_users;
)sql",
      // 5: priorities and the quiet period, as SQLite's migration 4 (the reasons are there):
      // messages.priority (0 live, 1 backfill), user_queue.live_seq and the user's class
      // derived from it, and the claim's index per class in FIFO order, with available_at in
      // it so that a gated user is passed in the index. During a rolling upgrade an instance
      // of the previous version still ingests (live messages only) and writes queue rows
      // without live_seq: the default keeps those users live. This version always writes it.
      R"sql(
ALTER TABLE messages ADD COLUMN priority SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE user_queue ADD COLUMN live_seq BIGINT NOT NULL DEFAULT 0;
UPDATE user_queue SET live_seq = head_seq;
ALTER TABLE user_queue ALTER COLUMN live_seq SET DEFAULT 9223372036854775807;
ALTER TABLE user_queue ADD COLUMN priority SMALLINT
  GENERATED ALWAYS AS (CASE WHEN live_seq >= head_seq THEN 0 ELSE 1 END) STORED;
DROP INDEX user_queue_head;
CREATE INDEX user_queue_class ON user_queue (priority, head_seq, available_at);
)sql",
  };
  return all;
}

int schema_version(connection& c) {
  if (c.exec("SELECT to_regclass('memoryd_migrations') IS NULL").get(0, 0) == "t") return 0;
  return static_cast<int>(
      c.exec("SELECT coalesce(max(version), 0) FROM memoryd_migrations").integer(0, 0));
}

int migrate(connection& c) {
  c.exec(std::string("SELECT pg_advisory_lock(") + kMigrationLock + ")");
  int applied = 0;
  try {
    c.exec(
        "CREATE TABLE IF NOT EXISTS memoryd_migrations (version INTEGER PRIMARY KEY, "
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    const int have = schema_version(c);
    const auto& all = migrations();
    // A database a newer memoryd migrated: its code may rely on what this one does not know.
    if (have > static_cast<int>(all.size()))
      throw error("migrate: database schema version " + std::to_string(have) +
                      " is newer than this memoryd (" + std::to_string(all.size()) +
                      "): upgrade memoryd or restore a backup",
                  "", false);
    for (int v = have + 1; v <= static_cast<int>(all.size()); ++v) {
      transaction tx(c);
      c.exec(std::string(all[v - 1]));
      c.exec("INSERT INTO memoryd_migrations (version) VALUES ($1)", {std::to_string(v)});
      tx.commit();
      ++applied;
    }
  } catch (...) {
    try {
      c.exec(std::string("SELECT pg_advisory_unlock(") + kMigrationLock + ")");
    } catch (...) {  // the session is gone, and its lock with it
    }
    throw;
  }
  c.exec(std::string("SELECT pg_advisory_unlock(") + kMigrationLock + ")");
  return applied;
}

}  // namespace memoryd::pg
