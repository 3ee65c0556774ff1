// Upgrades keep data (issue 20). A database at schema version 1, with rows shaped as that
// version wrote them, opened by the current code (which migrates it to the latest version)
// still holds every message, queue entry, fact, fact event and applied batch with the same
// values, and the stores work on it. A database a newer memoryd migrated is refused, with an
// error naming both versions, on both backends.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "store/open.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/schema.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace memoryd;
using memoryd::testing::temp_dir;

namespace {

// Schema version 1 of conversation.db and memory.db: the first entries of k_migrations in
// store/sqlite/conversation_store.cpp and store/sqlite/memory_store.cpp, copied verbatim. A
// fixture of its own, so that this test keeps upgrading what the first release wrote. (On
// PostgreSQL version 1 is pg::migrations()[0], which must never change either.)
const char* const k_sqlite_conversation_v1 = R"sql(
CREATE TABLE messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  channel TEXT NOT NULL DEFAULT '',
  external_id TEXT,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  lease_until INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  memory_processed_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX messages_external_id ON messages(external_id)
  WHERE external_id IS NOT NULL;
CREATE INDEX messages_user_seq ON messages(user_id, seq);
CREATE INDEX messages_status ON messages(status, next_attempt_at);
CREATE INDEX messages_waiting ON messages(user_id, seq)
  WHERE status IN ('pending','leased');
CREATE INDEX messages_leased ON messages(user_id, lease_until)
  WHERE status = 'leased';
CREATE INDEX messages_retry ON messages(user_id, next_attempt_at)
  WHERE status = 'pending' AND next_attempt_at > 0;

-- One row per user with waiting (pending or leased) user messages.
-- head_seq: seq of the user's oldest waiting message (FIFO key);
-- available_at: the user may be claimed from this time on (lease / retry gate).
CREATE TABLE user_queue (
  user_id TEXT PRIMARY KEY,
  head_seq INTEGER NOT NULL,
  available_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX user_queue_head ON user_queue(head_seq);
)sql";

const char* const k_sqlite_memory_v1 = R"sql(
CREATE TABLE facts (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  text TEXT NOT NULL,
  norm TEXT NOT NULL,
  category TEXT NOT NULL,
  status TEXT NOT NULL,
  observed_at INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  source_ids TEXT NOT NULL DEFAULT '[]',
  superseded_by TEXT
);
CREATE UNIQUE INDEX facts_active_norm ON facts(user_id, norm) WHERE status = 'active';
CREATE INDEX facts_user ON facts(user_id, created_at);

CREATE TABLE fact_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  fact_id TEXT NOT NULL,
  new_fact_id TEXT,
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  old_text TEXT,
  new_text TEXT,
  cause TEXT NOT NULL,
  extractor TEXT,
  source_ids TEXT NOT NULL DEFAULT '[]',
  observed_at INTEGER NOT NULL DEFAULT 0,
  at INTEGER NOT NULL
);
CREATE INDEX fact_events_user ON fact_events(user_id, seq);

CREATE TABLE applied_batches (
  batch_key TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  added INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  unchanged INTEGER NOT NULL,
  rejected INTEGER NOT NULL,
  fact_ids TEXT NOT NULL DEFAULT '[]',
  applied_at INTEGER NOT NULL
);
)sql";

// Rows as version 1 wrote them, in the columns it had (the same SQL on both backends). The
// messages get seq 1..7 in this order. u-ana: a processed user message, an assistant message
// (never mined) and a pending one; u-ben: a message waiting for its retry and one behind it;
// u-cy: a dead letter; u-dee: a message whose lease expired (the worker died).
const char* const k_messages_v1 = R"sql(
INSERT INTO messages (id, user_id, role, content, channel, external_id, created_at, status,
                      attempts, next_attempt_at, lease_until, last_error, memory_processed_at)
VALUES
('0190a1b2-c3d4-7e5f-8a9b-000000000001', 'u-ana', 'user', 'I moved to Lisbon last month',
 'sms', 'SM0001', 1717000000000, 'done', 1, 0, 0, NULL, 1717000005000),
('0190a1b2-c3d4-7e5f-8a9b-000000000002', 'u-ana', 'assistant',
 'Nice! How are you finding Lisbon?', 'sms', NULL, 1717000001000, 'skipped', 0, 0, 0, NULL, 0),
('0190a1b2-c3d4-7e5f-8a9b-000000000003', 'u-ana', 'user',
 'My sister Marta visits in June. Café com leite ☕ every morning', 'sms', 'SM0003',
 1717000060000, 'pending', 0, 0, 0, NULL, 0),
('0190a1b2-c3d4-7e5f-8a9b-000000000004', 'u-ben', 'user', 'I''m allergic to peanuts', '',
 NULL, 1717000070000, 'pending', 1, 1717000200000, 0, 'llm: timeout after 30000 ms', 0),
('0190a1b2-c3d4-7e5f-8a9b-000000000005', 'u-ben', 'user', 'Switched jobs: I work at Acme now',
 '', 'ext-5', 1717000080000, 'pending', 0, 0, 0, NULL, 0),
('0190a1b2-c3d4-7e5f-8a9b-000000000006', 'u-cy', 'user', '{"not": "a message"}', 'web', NULL,
 1717000090000, 'dead', 3, 0, 0, 'parse: no JSON object in the reply', 1717000300000),
('0190a1b2-c3d4-7e5f-8a9b-000000000007', 'u-dee', 'user', 'I play the cello on Sundays', '',
 NULL, 1717000095000, 'leased', 1, 0, 1717000400000, NULL, 0);
INSERT INTO user_queue (user_id, head_seq, available_at) VALUES
('u-ana', 3, 0), ('u-ben', 4, 1717000200000), ('u-dee', 7, 1717000400000);
)sql";

// u-ana: Porto superseded by Lisbon (extractor), a fact remembered through the API, one the API
// forgot; u-ben: one fact. Events in the order they happened; one applied batch.
const char* const k_facts_v1 = R"sql(
INSERT INTO facts (id, user_id, text, norm, category, status, observed_at, created_at,
                   updated_at, source_ids, superseded_by)
VALUES
('f-porto', 'u-ana', 'Lives in Porto', 'lives in porto', 'location', 'superseded',
 1716000000000, 1716000001000, 1717000005000, '["0190a1b2-c3d4-7e5f-8a9b-000000000000"]',
 'f-lisbon'),
('f-lisbon', 'u-ana', 'Lives in Lisbon', 'lives in lisbon', 'location', 'active',
 1717000000000, 1717000005000, 1717000005000, '["0190a1b2-c3d4-7e5f-8a9b-000000000001"]', NULL),
('f-coffee', 'u-ana', 'Drinks café com leite every morning', 'drinks café com leite every morning',
 'preferences', 'active', 0, 1717000006000, 1717000006000, '[]', NULL),
('f-cat', 'u-ana', 'Has a cat named Miso', 'has a cat named miso', 'other', 'deleted', 0,
 1716500000000, 1716600000000, '[]', NULL),
('f-peanut', 'u-ben', 'Allergic to peanuts', 'allergic to peanuts', 'health', 'active',
 1717000070000, 1717000210000, 1717000210000, '["0190a1b2-c3d4-7e5f-8a9b-000000000004"]', NULL);
INSERT INTO fact_events (fact_id, new_fact_id, user_id, kind, old_text, new_text, cause,
                         extractor, source_ids, observed_at, at)
VALUES
('f-porto', NULL, 'u-ana', 'add', NULL, 'Lives in Porto', 'extractor', 'gpt-4o-mini',
 '["0190a1b2-c3d4-7e5f-8a9b-000000000000"]', 1716000000000, 1716000001000),
('f-cat', NULL, 'u-ana', 'add', NULL, 'Has a cat named Miso', 'api', NULL, '[]', 0,
 1716500000000),
('f-cat', NULL, 'u-ana', 'delete', 'Has a cat named Miso', NULL, 'api', NULL, '[]', 0,
 1716600000000),
('f-porto', 'f-lisbon', 'u-ana', 'update', 'Lives in Porto', 'Lives in Lisbon', 'extractor',
 'gpt-4o-mini', '["0190a1b2-c3d4-7e5f-8a9b-000000000001"]', 1717000000000, 1717000005000),
('f-coffee', NULL, 'u-ana', 'add', NULL, 'Drinks café com leite every morning', 'api', NULL,
 '[]', 0, 1717000006000),
('f-peanut', NULL, 'u-ben', 'add', NULL, 'Allergic to peanuts', 'extractor', 'gpt-4o-mini',
 '["0190a1b2-c3d4-7e5f-8a9b-000000000004"]', 1717000070000, 1717000210000);
INSERT INTO applied_batches (batch_key, user_id, added, updated, deleted, unchanged, rejected,
                             fact_ids, applied_at)
VALUES
('u-ana:0190a1b2-c3d4-7e5f-8a9b-000000000001', 'u-ana', 0, 1, 0, 0, 0, '["f-lisbon"]',
 1717000005000),
('u-ben:0190a1b2-c3d4-7e5f-8a9b-000000000004', 'u-ben', 1, 0, 0, 0, 1, '["f-peanut"]',
 1717000210000);
)sql";

// Every row version 1 stored, in every column it had, in key order.
const std::vector<std::string> k_v1_conversation_tables = {
    "SELECT seq, id, user_id, role, content, channel, external_id, created_at, status, attempts, "
    "next_attempt_at, lease_until, last_error, memory_processed_at FROM messages ORDER BY seq",
    "SELECT user_id, head_seq, available_at FROM user_queue ORDER BY user_id",
};
const std::vector<std::string> k_v1_memory_tables = {
    "SELECT id, user_id, text, norm, category, status, observed_at, created_at, updated_at, "
    "source_ids, superseded_by FROM facts ORDER BY id",
    "SELECT seq, fact_id, new_fact_id, user_id, kind, old_text, new_text, cause, extractor, "
    "source_ids, observed_at, at FROM fact_events ORDER BY seq",
    "SELECT batch_key, user_id, added, updated, deleted, unchanged, rejected, fact_ids, "
    "applied_at FROM applied_batches ORDER BY batch_key",
};

using table = std::vector<std::vector<std::string>>;

// A connection of the test's own to a SQLite file, beside memoryd's.
class sqlite_file {
 public:
  explicit sqlite_file(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK)
      throw std::runtime_error("open " + path);
  }
  ~sqlite_file() { sqlite3_close_v2(db_); }
  sqlite_file(const sqlite_file&) = delete;
  sqlite_file& operator=(const sqlite_file&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error("exec: " + msg);
    }
  }
  // Every row of `sql`, every column as text (NULL as "NULL").
  table rows(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db_));
    table out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* p = sqlite3_column_text(st, i);
        row.push_back(p ? reinterpret_cast<const char*>(p) : "NULL");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return out;
  }
  std::string one(const std::string& sql) { return rows(sql).at(0).at(0); }

 private:
  sqlite3* db_ = nullptr;
};

table pg_rows(pg::connection& c, const std::string& sql) {
  auto r = c.exec(sql);
  table out;
  for (int i = 0; i < r.rows(); ++i) {
    std::vector<std::string> row;
    for (int j = 0; j < r.columns(); ++j)
      row.push_back(r.is_null(i, j) ? "NULL" : std::string(r.get(i, j)));
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<std::string> ids_of(const std::vector<fact>& facts) {
  std::vector<std::string> ids;
  for (const auto& f : facts) ids.push_back(f.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// What the upgraded stores must still do with the version-1 rows, the same on both backends.
void check_stores_work(const storage_options& o) {
  auto s = open_stores(o);
  CHECK(s.conversations->count_messages() == 7);
  CHECK(s.memory->count_facts() == 5);

  history_query h;
  h.user_id = "u-ana";
  const auto ana = s.conversations->history(h);
  REQUIRE(ana.size() == 3);

  // Every waiting user is claimed, FIFO by their oldest waiting message; the expired lease is
  // taken again with its attempt counted.
  claim_request req;
  req.now = 1717001000000;
  const auto claimed = s.conversations->claim(req);
  REQUIRE(claimed.users.size() == 3);
  CHECK(claimed.users[0].user_id == "u-ana");
  REQUIRE(claimed.users[0].messages.size() == 1);
  CHECK(claimed.users[0].messages[0].id == "0190a1b2-c3d4-7e5f-8a9b-000000000003");
  CHECK(claimed.users[0].messages[0].content ==
        "My sister Marta visits in June. Café com leite ☕ every morning");
  CHECK(claimed.users[1].user_id == "u-ben");
  CHECK(claimed.users[1].messages.size() == 2);
  CHECK(claimed.users[2].user_id == "u-dee");
  REQUIRE(claimed.users[2].messages.size() == 1);
  CHECK(claimed.users[2].messages[0].attempts == 2);
  s.conversations->mark_done("u-ana", {"0190a1b2-c3d4-7e5f-8a9b-000000000003"}, req.now, {},
                             claimed.users[0].lease_until);

  dead_letter_query d;
  const auto dead = s.conversations->dead_letters(d);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].last_error == "parse: no JSON object in the reply");

  CHECK(ids_of(s.memory->active_facts("u-ana")) ==
        std::vector<std::string>{"f-coffee", "f-lisbon"});
  CHECK(ids_of(s.memory->all_facts("u-ana")) ==
        std::vector<std::string>{"f-cat", "f-coffee", "f-lisbon", "f-porto"});
  CHECK(s.memory->events("u-ana").size() == 5);
  CHECK(s.memory->events("u-ben").size() == 1);

  // The facts stored before search existed were indexed at open, the API's as remembered.
  auto search = open_fact_search(o);
  search_request q;
  q.user_id = "u-ana";
  q.query = "where does she live, Lisbon?";
  const auto found = search->search(q);
  REQUIRE_FALSE(found.empty());
  CHECK(found[0].f.id == "f-lisbon");
  CHECK(ids_of(search->recent_facts("u-ana", 10, true)) == std::vector<std::string>{"f-coffee"});

  // New writes go on after the old rows.
  const auto remembered = s.memory->remember("u-ben", "Works at Acme", "work", 1717002000000);
  REQUIRE(remembered);
  CHECK(ids_of(s.memory->active_facts("u-ben")).size() == 2);
  new_message m;
  m.user_id = "u-ana";
  m.role = "user";
  m.content = "Marta arrived today";
  m.created_at = 1717003000000;
  const auto in = s.conversations->ingest({m}, 1717003000000);
  REQUIRE(in.size() == 1);
  CHECK(s.conversations->count_messages() == 8);
}

}  // namespace

TEST_CASE("sqlite: a version-1 database upgrades with every row kept", "[store][sqlite][upgrade]") {
  temp_dir dir;
  storage_options o;
  o.conversation_db = dir.file("conversation.db");
  o.memory_db = dir.file("memory.db");

  // The latest versions, from a database the current code creates.
  std::int64_t latest_conversation = 0, latest_memory = 0;
  {
    storage_options fresh = o;
    fresh.conversation_db = dir.file("fresh-conversation.db");
    fresh.memory_db = dir.file("fresh-memory.db");
    open_stores(fresh);
    latest_conversation = std::stoll(sqlite_file(fresh.conversation_db).one("PRAGMA user_version"));
    latest_memory = std::stoll(sqlite_file(fresh.memory_db).one("PRAGMA user_version"));
  }
  REQUIRE(latest_conversation > 1);
  REQUIRE(latest_memory > 1);

  std::vector<table> before_conversation, before_memory;
  {
    sqlite_file c(o.conversation_db), m(o.memory_db);
    c.exec(k_sqlite_conversation_v1);
    c.exec("PRAGMA user_version=1");
    c.exec(k_messages_v1);
    m.exec(k_sqlite_memory_v1);
    m.exec("PRAGMA user_version=1");
    m.exec(k_facts_v1);
    for (const auto& sql : k_v1_conversation_tables) before_conversation.push_back(c.rows(sql));
    for (const auto& sql : k_v1_memory_tables) before_memory.push_back(m.rows(sql));
  }
  REQUIRE(before_conversation[0].size() == 7);
  REQUIRE(before_memory[0].size() == 5);
  REQUIRE(before_memory[1].size() == 6);
  REQUIRE(before_memory[2].size() == 2);

  open_stores(o);  // migrates both files to the latest version

  {
    sqlite_file c(o.conversation_db), m(o.memory_db);
    CHECK(std::stoll(c.one("PRAGMA user_version")) == latest_conversation);
    CHECK(std::stoll(m.one("PRAGMA user_version")) == latest_memory);
    CHECK(c.one("PRAGMA integrity_check") == "ok");
    CHECK(m.one("PRAGMA integrity_check") == "ok");
    for (std::size_t i = 0; i < k_v1_conversation_tables.size(); ++i) {
      INFO(k_v1_conversation_tables[i]);
      CHECK(c.rows(k_v1_conversation_tables[i]) == before_conversation[i]);
    }
    for (std::size_t i = 0; i < k_v1_memory_tables.size(); ++i) {
      INFO(k_v1_memory_tables[i]);
      CHECK(m.rows(k_v1_memory_tables[i]) == before_memory[i]);
    }
    // What the later migrations derived from the old rows.
    CHECK(m.rows("SELECT id, origin FROM facts ORDER BY id") == table{{"f-cat", "api"},
                                                                      {"f-coffee", "api"},
                                                                      {"f-lisbon", "extractor"},
                                                                      {"f-peanut", "extractor"},
                                                                      {"f-porto", "extractor"}});
    CHECK(m.one("SELECT count(*) FROM facts WHERE status = 'active' AND terms IS NULL") == "0");
  }

  check_stores_work(o);
}

TEST_CASE("pg: a version-1 database upgrades with every row kept", "[pg][upgrade]") {
  const std::string url = testing::fresh_pg_database();
  struct dropper {
    std::string url;
    ~dropper() { testing::drop_pg_database(url); }
  } drop{url};
  storage_options o;
  o.backend = "postgres";
  o.database_url = url;

  pg::connection c(url);
  // Version 1 as the migration runner applied it then.
  c.exec(
      "CREATE TABLE memoryd_migrations (version INTEGER PRIMARY KEY, "
      "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
  c.exec(std::string(pg::migrations().at(0)));
  c.exec("INSERT INTO memoryd_migrations (version) VALUES (1)");
  REQUIRE(pg::schema_version(c) == 1);
  c.exec(k_messages_v1);
  c.exec(k_facts_v1);
  std::vector<table> before;
  for (const auto& sql : k_v1_conversation_tables) before.push_back(pg_rows(c, sql));
  for (const auto& sql : k_v1_memory_tables) before.push_back(pg_rows(c, sql));
  REQUIRE(before[0].size() == 7);
  REQUIRE(before[2].size() == 5);

  const auto report = migrate_stores(o);
  const int latest = static_cast<int>(pg::migrations().size());
  CHECK(report.applied == latest - 1);
  CHECK(report.version == latest);
  CHECK(pg::schema_version(c) == latest);

  std::size_t i = 0;
  for (const auto& sql : k_v1_conversation_tables) {
    INFO(sql);
    CHECK(pg_rows(c, sql) == before[i++]);
  }
  for (const auto& sql : k_v1_memory_tables) {
    INFO(sql);
    CHECK(pg_rows(c, sql) == before[i++]);
  }
  CHECK(pg_rows(c, "SELECT id, origin FROM facts ORDER BY id") == table{{"f-cat", "api"},
                                                                        {"f-coffee", "api"},
                                                                        {"f-lisbon", "extractor"},
                                                                        {"f-peanut", "extractor"},
                                                                        {"f-porto", "extractor"}});

  check_stores_work(o);
  CHECK(pg_rows(c, "SELECT count(*) FROM facts WHERE status = 'active' AND terms IS NULL") ==
        table{{"0"}});
}

TEST_CASE("sqlite: a database from a newer memoryd is refused, naming both versions",
          "[store][sqlite][upgrade]") {
  temp_dir dir;
  storage_options o;
  o.conversation_db = dir.file("conversation.db");
  o.memory_db = dir.file("memory.db");
  open_stores(o);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"storage.conversation_db", o.conversation_db}, {"storage.memory_db", o.memory_db}};
  for (const auto& [key, path] : files) {
    INFO(key);
    std::int64_t latest = 0;
    {
      sqlite_file f(path);
      latest = std::stoll(f.one("PRAGMA user_version"));
      f.exec("PRAGMA user_version=" + std::to_string(latest + 2));
    }
    const std::string expected = "database schema version " + std::to_string(latest + 2) +
                                 " is newer than this memoryd (" + std::to_string(latest) +
                                 "): upgrade memoryd or restore a backup";
    try {
      if (key == "storage.memory_db")
        open_memory_store(o);
      else
        open_conversation_store(o);
      FAIL("opened");
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find("cannot open " + key) != std::string::npos);
      CHECK(what.find(expected) != std::string::npos);
    }
    CHECK(std::stoll(sqlite_file(path).one("PRAGMA user_version")) == latest + 2);
  }
}

TEST_CASE("pg: a database from a newer memoryd is refused, naming both versions", "[pg][upgrade]") {
  const std::string url = testing::fresh_pg_database();
  struct dropper {
    std::string url;
    ~dropper() { testing::drop_pg_database(url); }
  } drop{url};
  pg::connection c(url);
  pg::migrate(c);
  const int latest = static_cast<int>(pg::migrations().size());
  c.exec("INSERT INTO memoryd_migrations (version) VALUES (" + std::to_string(latest + 2) + ")");
  const std::string expected = "database schema version " + std::to_string(latest + 2) +
                               " is newer than this memoryd (" + std::to_string(latest) +
                               "): upgrade memoryd or restore a backup";
  try {
    pg::migrate(c);
    FAIL("migrated");
  } catch (const pg::error& e) {
    CHECK(std::string(e.what()).find(expected) != std::string::npos);
  }
  // The advisory lock is not left behind, and nothing was applied or recorded.
  CHECK(
      c.exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
          .integer(0, 0) == 0);
  CHECK(c.exec("SELECT count(*) FROM memoryd_migrations").integer(0, 0) == latest + 1);

  storage_options o;
  o.backend = "postgres";
  o.database_url = url;
  try {
    open_stores(o);
    FAIL("opened");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find(expected) != std::string::npos);
  }
}
