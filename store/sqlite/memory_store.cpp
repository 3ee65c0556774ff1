#include "store/sqlite/memory_store.hpp"

#include "domain/fact_text.hpp"
#include "store/fact_merge.hpp"
#include "store/sqlite/fact_columns.hpp"
#include "store/sqlite/fact_index.hpp"
#include "store/sqlite/fact_reader.hpp"
#include "store/sqlite/wal_checkpointer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <unordered_map>

namespace memoryd::sqlite {

namespace {

const std::vector<std::string_view> k_migrations = {
    // 1: facts, their change history, applied batch keys.
    R"sql(
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
)sql",
    // 2: erasing a user deletes their applied-batch records too.
    R"sql(
CREATE INDEX applied_batches_user ON applied_batches(user_id);
)sql",
    // 3: fact search (store/sqlite/fact_index.hpp).
    search_index_migration,
    // 4: index entries that carry what the ranking needs; the index is built again.
    search_index_migration_4,
};

// Facts indexed per transaction when migration 3 indexes the facts stored before it.
constexpr std::int64_t k_index_build_batch = 5000;
// FTS5 adds a segment per transaction and merges them only in steps (up to ~20 at 1M facts),
// and a search pays for each: the writer merges them into one when there are more than this,
// at most once per interval (about a second of work at 1M facts, docs/PERFORMANCE.md).
constexpr int k_max_index_segments = 4;
constexpr std::chrono::seconds k_compact_interval{60};

using use = statement_use;

}  // namespace

// A write transaction of memory.db: the index's totals are written just before it commits and
// forgotten if it does not.
class write_transaction {
 public:
  write_transaction(database& db, fact_index& index) : index_(index), tx_(db) {}
  ~write_transaction() { index_.discard(); }
  write_transaction(const write_transaction&) = delete;
  write_transaction& operator=(const write_transaction&) = delete;
  void commit() {
    index_.flush();
    tx_.commit();
  }

 private:
  fact_index& index_;
  transaction tx_;
};

struct memory_store::impl {
  database db;
  const std::chrono::milliseconds busy_budget;  // how long an erasure waits to truncate
  fact_index index{db};
  fact_reader reader{db};
  std::chrono::steady_clock::time_point next_compact{};

  std::unique_ptr<wal_checkpointer> checkpointer;  // destroyed before db

  explicit impl(const store_options& o)
      : db(o.path, o.synchronous, o.busy_timeout_ms), busy_budget(o.busy_timeout_ms) {
    db.migrate(k_migrations);
    // With synchronous=normal, WAL checkpoints of memory.db run on a background thread (as for
    // conversation.db, wal_checkpointer.hpp): SQLite's own checkpoint, inside the commit
    // that crosses the threshold, was 14% of a fact write there (bench_fact_write: 62 -> 49 us per
    // fact). Not with FULL: each commit then fsyncs the WAL, and a checkpoint's writes and fsync on
    // another thread made those commits wait (+19-37% per fact at one batch per commit), while the
    // in-commit checkpoint cost nothing measurable (docs/PERFORMANCE.md, "Fact writes").
    const bool normal = db.scalar_int("PRAGMA synchronous") == 1;  // 1: NORMAL, as set
    if (normal && o.path != ":memory:" && !o.path.empty())
      checkpointer = std::make_unique<wal_checkpointer>(db, o.path, o.synchronous,
                                                        o.busy_timeout_ms, k_checkpoint_pages);
    for (;;) {  // facts stored before the index existed (migrations 3 and 4)
      write_transaction tx(db, index);
      const auto n = index.build_pending(k_index_build_batch);
      tx.commit();
      if (n == 0) break;
    }
    maybe_compact();
  }

  void maybe_compact() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_compact) return;
    next_compact = now + k_compact_interval;
    index.compact(k_max_index_segments);
  }

  statement& stmt(const std::string& sql) { return db.cached(sql); }

  std::optional<stored_fact> one_fact(statement& q) {
    if (!q.step()) return std::nullopt;
    return stored_fact{read_fact(q), q.col_text(k_fact_column_count)};
  }
};

// Row access for the shared merge rules (store/fact_merge.hpp), inside the caller's transaction.
class memory_store::rows final : public fact_rows {
 public:
  explicit rows(impl& d) : d_(d) {}

  std::optional<stored_fact> by_id(const std::string& id) override {
    use q(d_.stmt(std::string("SELECT ") + k_fact_columns + ", norm FROM facts WHERE id = ?1"));
    q->bind(1, id);
    return d_.one_fact(*q);
  }

  std::optional<stored_fact> active_by_norm(const std::string& user_id,
                                            const std::string& norm) override {
    use q(d_.stmt(std::string("SELECT ") + k_fact_columns +
                  ", norm FROM facts WHERE user_id = ?1 AND norm = ?2 AND status = 'active'"));
    q->bind(1, user_id).bind(2, norm);
    return d_.one_fact(*q);
  }

  void set_sources(const std::string& id, const std::vector<std::string>& ids,
                   millis now) override {
    use q(d_.stmt("UPDATE facts SET source_ids = ?2, updated_at = ?3 WHERE id = ?1"));
    q->bind(1, id).bind(2, encode_ids(ids)).bind(3, static_cast<std::int64_t>(now));
    q->exec();
  }

  void insert(const fact& f, const std::string& norm, const std::string& cause) override {
    auto e = d_.index.enter(f.user_id, f.text, f.category);
    use q(d_.stmt(
        "INSERT INTO facts (id, user_id, text, norm, category, status, observed_at, created_at, "
        "updated_at, source_ids, terms, pos, origin) "
        "VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?7, ?8, ?9, ?10, ?11)"));
    q->bind(1, f.id).bind(2, f.user_id).bind(3, f.text).bind(4, norm).bind(5, f.category);
    q->bind(6, static_cast<std::int64_t>(f.observed_at))
        .bind(7, static_cast<std::int64_t>(f.created_at))
        .bind(8, encode_ids(f.source_ids));
    q->bind(9, e.terms).bind(10, e.pos).bind(11, cause == "api" ? "api" : "extractor");
    q->exec();
    d_.index.post(e);
  }

  void end(const std::string& id, const char* status, const std::string& superseded_by,
           millis now) override {
    d_.index.leave(id);
    use q(
        d_.stmt("UPDATE facts SET status = ?2, superseded_by = ?3, updated_at = ?4 WHERE id = ?1"));
    q->bind(1, id).bind(2, status);
    if (superseded_by.empty())
      q->bind_null(3);
    else
      q->bind(3, superseded_by);
    q->bind(4, static_cast<std::int64_t>(now));
    q->exec();
  }

  void record_event(const fact_event& e) override {
    use q(
        d_.stmt("INSERT INTO fact_events (fact_id, new_fact_id, user_id, kind, old_text, new_text, "
                "cause, extractor, source_ids, observed_at, at) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
    auto text_or_null = [&](int i, const std::string& v) {
      if (v.empty())
        q->bind_null(i);
      else
        q->bind(i, v);
    };
    q->bind(1, e.fact_id);
    text_or_null(2, e.new_fact_id);
    q->bind(3, e.user_id).bind(4, e.kind);
    text_or_null(5, e.old_text);
    text_or_null(6, e.new_text);
    q->bind(7, e.cause);
    text_or_null(8, e.extractor);
    q->bind(9, encode_ids(e.source_ids))
        .bind(10, static_cast<std::int64_t>(e.observed_at))
        .bind(11, static_cast<std::int64_t>(e.at));
    q->exec();
  }

  std::optional<apply_result> applied(const std::string& batch_key) override {
    use q(d_.stmt(
        "SELECT added, updated, deleted, unchanged, rejected, fact_ids FROM applied_batches "
        "WHERE batch_key = ?1"));
    q->bind(1, batch_key);
    if (!q->step()) return std::nullopt;
    apply_result r;
    r.added = static_cast<std::int32_t>(q->col_int(0));
    r.updated = static_cast<std::int32_t>(q->col_int(1));
    r.deleted = static_cast<std::int32_t>(q->col_int(2));
    r.unchanged = static_cast<std::int32_t>(q->col_int(3));
    r.rejected = static_cast<std::int32_t>(q->col_int(4));
    r.fact_ids = decode_ids(q->col_text(5));
    return r;
  }

  void record_applied(const fact_batch& b, const apply_result& r) override {
    use q(d_.stmt(
        "INSERT INTO applied_batches (batch_key, user_id, added, updated, deleted, unchanged, "
        "rejected, fact_ids, applied_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    q->bind(1, b.batch_key)
        .bind(2, b.user_id)
        .bind(3, r.added)
        .bind(4, r.updated)
        .bind(5, r.deleted)
        .bind(6, r.unchanged)
        .bind(7, r.rejected)
        .bind(8, encode_ids(r.fact_ids))
        .bind(9, static_cast<std::int64_t>(b.now));
    q->exec();
  }

 private:
  impl& d_;
};

memory_store::memory_store(const store_options& opts) : impl_(std::make_unique<impl>(opts)) {}

memory_store::~memory_store() = default;

database& memory_store::db() { return impl_->db; }

std::int64_t memory_store::background_checkpoints() const {
  return impl_->checkpointer ? impl_->checkpointer->checkpoints() : 0;
}

std::vector<apply_result> memory_store::apply_group(const std::vector<fact_batch>& batches) {
  write_transaction tx(impl_->db, impl_->index);
  rows r(*impl_);
  std::vector<apply_result> out;
  out.reserve(batches.size());
  for (auto& b : batches) out.push_back(apply_fact_batch(r, b));
  tx.commit();
  try {
    impl_->maybe_compact();
  } catch (const error&) {  // busy: the batches are committed; the next interval retries
  }
  return out;
}

std::vector<fact> memory_store::active_facts(const std::string& user_id) {
  use q(impl_->stmt(std::string("SELECT ") + k_fact_columns +
                    " FROM facts WHERE user_id = ?1 AND status = 'active' "
                    "ORDER BY created_at, rowid"));
  q->bind(1, user_id);
  std::vector<fact> out;
  while (q->step()) out.push_back(read_fact(*q));
  return out;
}

std::vector<fact> memory_store::all_facts(const std::string& user_id) {
  use q(impl_->stmt(std::string("SELECT ") + k_fact_columns +
                    " FROM facts WHERE user_id = ?1 ORDER BY created_at, rowid"));
  q->bind(1, user_id);
  std::vector<fact> out;
  while (q->step()) out.push_back(read_fact(*q));
  return out;
}

namespace {
constexpr const char* k_event_columns =
    "seq, fact_id, new_fact_id, user_id, kind, old_text, new_text, cause, extractor, "
    "source_ids, observed_at, at";

fact_event read_event(statement& q) {
  fact_event e;
  e.seq = q.col_int(0);
  e.fact_id = q.col_text(1);
  e.new_fact_id = q.col_text(2);
  e.user_id = q.col_text(3);
  e.kind = q.col_text(4);
  e.old_text = q.col_text(5);
  e.new_text = q.col_text(6);
  e.cause = q.col_text(7);
  e.extractor = q.col_text(8);
  e.source_ids = decode_ids(q.col_text(9));
  e.observed_at = q.col_int(10);
  e.at = q.col_int(11);
  return e;
}
}  // namespace

std::vector<fact_event> memory_store::events(const std::string& user_id) {
  use q(impl_->stmt(std::string("SELECT ") + k_event_columns +
                    " FROM fact_events WHERE user_id = ?1 ORDER BY seq"));
  q->bind(1, user_id);
  std::vector<fact_event> out;
  while (q->step()) out.push_back(read_event(*q));
  return out;
}

std::vector<fact> memory_store::active_facts_page(const std::string& user_id,
                                                  millis after_created_at, std::int64_t after_seq,
                                                  std::int32_t limit) {
  // created_at >= ?2 bounds the facts_user range; the row value drops the key's own ties.
  use q(impl_->stmt(std::string("SELECT ") + k_fact_columns +
                    " FROM facts WHERE user_id = ?1 AND status = 'active' AND created_at >= ?2 "
                    "AND (created_at, rowid) > (?2, ?3) ORDER BY created_at, rowid LIMIT ?4"));
  q->bind(1, user_id);
  q->bind(2, after_created_at);
  q->bind(3, after_seq);
  q->bind(4, static_cast<std::int64_t>(limit));
  std::vector<fact> out;
  while (q->step()) out.push_back(read_fact(*q));
  return out;
}

std::vector<fact_event> memory_store::events_page(const std::string& user_id,
                                                  std::int64_t before_seq, std::int32_t limit) {
  use q(impl_->stmt(std::string("SELECT ") + k_event_columns +
                    " FROM fact_events WHERE user_id = ?1 AND seq < ?2 ORDER BY seq DESC "
                    "LIMIT ?3"));
  q->bind(1, user_id);
  q->bind(2, before_seq > 0 ? before_seq : std::numeric_limits<std::int64_t>::max());
  q->bind(3, static_cast<std::int64_t>(limit));
  std::vector<fact_event> out;
  while (q->step()) out.push_back(read_event(*q));
  return out;
}

erase_report memory_store::erase_user(const std::string& user_id) {
  auto& d = *impl_;
  write_transaction tx(d.db, d.index);
  erase_report r;
  auto run = [&](const char* sql) {
    use q(d.stmt(sql));
    q->bind(1, user_id);
    q->exec();
    return static_cast<std::int64_t>(d.db.changes());
  };
  d.index.erase_user(user_id);
  r.facts = run("DELETE FROM facts WHERE user_id = ?1");
  r.fact_events = run("DELETE FROM fact_events WHERE user_id = ?1");
  run("DELETE FROM applied_batches WHERE user_id = ?1");
  tx.commit();
  d.db.truncate_wal(d.busy_budget);  // as in conversation_store::erase_user
  return r;
}

std::optional<fact> memory_store::remember(const std::string& user_id, const std::string& text,
                                           const std::string& category, millis now) {
  const std::string cleaned = storable_fact_text(text);
  if (user_id.empty() || cleaned.empty()) return std::nullopt;
  fact_batch b;
  b.user_id = user_id;
  b.cause = "api";
  b.now = now;
  b.ops.push_back({"add", "", cleaned, category, now, {}});
  write_transaction tx(impl_->db, impl_->index);
  rows r(*impl_);
  apply_fact_batch(r, b);
  auto stored = r.active_by_norm(user_id, normalize_fact_text(cleaned));
  if (!stored) throw std::logic_error("remember: the fact just stored is not active");
  tx.commit();
  return stored->f;
}

bool memory_store::forget(const std::string& user_id, const std::string& fact_id, millis now) {
  fact_batch b;
  b.user_id = user_id;
  b.cause = "api";
  b.now = now;
  b.ops.push_back({"delete", fact_id, "", "", now, {}});
  return apply_group({b}).front().deleted == 1;
}

std::vector<scored_fact> memory_store::search(const search_request& r) {
  return impl_->reader.search(r);
}

std::vector<fact> memory_store::recent_facts(const std::string& user_id, std::int32_t limit,
                                             bool remembered_only) {
  return impl_->reader.recent_facts(user_id, limit, remembered_only);
}

void memory_store::ping() {
  use q(impl_->stmt("SELECT 1"));
  q->step();
}

std::int64_t memory_store::count_facts() {
  use q(impl_->stmt("SELECT count(*) FROM facts"));
  return q->step() ? q->col_int(0) : 0;
}

}  // namespace memoryd::sqlite
