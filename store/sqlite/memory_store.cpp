#include "store/sqlite/memory_store.hpp"

#include "domain/fact_text.hpp"

#include <algorithm>
#include <cstdio>
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
};

constexpr std::size_t k_max_fact_bytes = 500;

constexpr const char* k_fact_columns =
    "id, user_id, text, category, status, observed_at, created_at, updated_at, source_ids";

// source_ids are stored as a JSON array of strings.
std::string encode_ids(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (unsigned char c : ids[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
  }
  out += ']';
  return out;
}

std::vector<std::string> decode_ids(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '"') {
      ++i;
      continue;
    }
    std::string cur;
    for (++i; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        ++i;
        if (s[i] == 'u' && i + 4 < s.size()) {
          cur += static_cast<char>(std::stoi(s.substr(i + 1, 4), nullptr, 16));
          i += 4;
        } else {
          cur += s[i];
        }
      } else {
        cur += s[i];
      }
    }
    ++i;  // closing quote
    out.push_back(std::move(cur));
  }
  return out;
}

// Appends the ids not yet present, keeping order. Returns whether anything was added.
bool merge_ids(std::vector<std::string>& into, const std::vector<std::string>& more) {
  bool changed = false;
  for (const auto& id : more) {
    if (std::find(into.begin(), into.end(), id) == into.end()) {
      into.push_back(id);
      changed = true;
    }
  }
  return changed;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

using use = statement_use;

}  // namespace

struct memory_store::impl {
  database db;
  const std::chrono::milliseconds busy_budget;  // how long an erasure waits to truncate

  explicit impl(const store_options& o)
      : db(o.path, o.synchronous, o.busy_timeout_ms), busy_budget(o.busy_timeout_ms) {
    db.migrate(k_migrations);
  }

  statement& stmt(const std::string& sql) { return db.cached(sql); }

  static fact read_fact(statement& s) {
    fact f;
    f.id = s.col_text(0);
    f.user_id = s.col_text(1);
    f.text = s.col_text(2);
    f.category = s.col_text(3);
    f.status = s.col_text(4);
    f.observed_at = s.col_int(5);
    f.created_at = s.col_int(6);
    f.updated_at = s.col_int(7);
    f.source_ids = decode_ids(s.col_text(8));
    return f;
  }

  struct stored_fact {
    fact f;
    std::string norm;
  };

  bool fact_by_id(const std::string& id, stored_fact& out) {
    use q(stmt(std::string("SELECT ") + k_fact_columns + ", norm FROM facts WHERE id = ?1"));
    q->bind(1, id);
    if (!q->step()) return false;
    out.f = read_fact(*q);
    out.norm = q->col_text(9);
    return true;
  }

  bool active_by_norm(const std::string& user_id, const std::string& norm, stored_fact& out) {
    use q(stmt(std::string("SELECT ") + k_fact_columns +
               ", norm FROM facts WHERE user_id = ?1 AND norm = ?2 AND status = 'active'"));
    q->bind(1, user_id).bind(2, norm);
    if (!q->step()) return false;
    out.f = read_fact(*q);
    out.norm = q->col_text(9);
    return true;
  }

  void set_sources(const std::string& id, const std::vector<std::string>& ids, millis now) {
    use q(stmt("UPDATE facts SET source_ids = ?2, updated_at = ?3 WHERE id = ?1"));
    q->bind(1, id).bind(2, encode_ids(ids)).bind(3, static_cast<std::int64_t>(now));
    q->exec();
  }

  void insert_fact(const fact& f, const std::string& norm) {
    use q(stmt(
        "INSERT INTO facts (id, user_id, text, norm, category, status, observed_at, created_at, "
        "updated_at, source_ids) VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?7, ?8)"));
    q->bind(1, f.id).bind(2, f.user_id).bind(3, f.text).bind(4, norm).bind(5, f.category);
    q->bind(6, static_cast<std::int64_t>(f.observed_at))
        .bind(7, static_cast<std::int64_t>(f.created_at))
        .bind(8, encode_ids(f.source_ids));
    q->exec();
  }

  void end_fact(const std::string& id, const char* status, const std::string& superseded_by,
                millis now) {
    use q(stmt("UPDATE facts SET status = ?2, superseded_by = ?3, updated_at = ?4 WHERE id = ?1"));
    q->bind(1, id).bind(2, status);
    if (superseded_by.empty())
      q->bind_null(3);
    else
      q->bind(3, superseded_by);
    q->bind(4, static_cast<std::int64_t>(now));
    q->exec();
  }

  void insert_event(const fact_batch& b, const char* kind, const std::string& fact_id,
                    const std::string& new_fact_id, const std::string& old_text,
                    const std::string& new_text, const fact_op& op) {
    use q(
        stmt("INSERT INTO fact_events (fact_id, new_fact_id, user_id, kind, old_text, new_text, "
             "cause, extractor, source_ids, observed_at, at) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
    q->bind(1, fact_id);
    auto text_or_null = [&](int i, const std::string& v) {
      if (v.empty())
        q->bind_null(i);
      else
        q->bind(i, v);
    };
    text_or_null(2, new_fact_id);
    q->bind(3, b.user_id).bind(4, kind);
    text_or_null(5, old_text);
    text_or_null(6, new_text);
    q->bind(7, b.cause);
    text_or_null(8, b.extractor);
    q->bind(9, encode_ids(op.source_ids))
        .bind(10, static_cast<std::int64_t>(op.observed_at != 0 ? op.observed_at : b.now))
        .bind(11, static_cast<std::int64_t>(b.now));
    q->exec();
  }

  // Validates and trims the text; empty result means rejected.
  static std::string clean_text(const std::string& text) {
    std::string t = trim(text);
    if (t.size() > k_max_fact_bytes) return {};
    if (normalize_fact_text(t).empty()) return {};
    return t;
  }

  void apply_op(const fact_batch& b, const fact_op& op, apply_result& r) {
    const millis observed = op.observed_at != 0 ? op.observed_at : b.now;
    if (op.kind == "add") {
      const std::string text = clean_text(op.text);
      if (text.empty()) {
        ++r.rejected;
        return;
      }
      const std::string norm = normalize_fact_text(text);
      stored_fact existing;
      if (active_by_norm(b.user_id, norm, existing)) {
        ++r.unchanged;
        if (merge_ids(existing.f.source_ids, op.source_ids))
          set_sources(existing.f.id, existing.f.source_ids, b.now);
        return;
      }
      fact f;
      f.id = new_uuid();
      f.user_id = b.user_id;
      f.text = text;
      f.category = is_valid_category(op.category) ? op.category : "other";
      f.observed_at = observed;
      f.created_at = b.now;
      f.source_ids = op.source_ids;
      insert_fact(f, norm);
      insert_event(b, "add", f.id, {}, {}, text, op);
      ++r.added;
      r.fact_ids.push_back(f.id);
      return;
    }
    if (op.kind == "update") {
      stored_fact old;
      if (op.fact_id.empty() || !fact_by_id(op.fact_id, old) || old.f.user_id != b.user_id ||
          old.f.status != "active" || observed < old.f.observed_at) {
        ++r.rejected;
        return;
      }
      const std::string text = clean_text(op.text);
      if (text.empty()) {
        ++r.rejected;
        return;
      }
      const std::string norm = normalize_fact_text(text);
      if (norm == old.norm) {
        ++r.unchanged;
        if (merge_ids(old.f.source_ids, op.source_ids))
          set_sources(old.f.id, old.f.source_ids, b.now);
        return;
      }
      stored_fact same;
      if (active_by_norm(b.user_id, norm, same)) {
        // The new text is already another active fact: the old one is superseded by it.
        end_fact(old.f.id, "superseded", same.f.id, b.now);
        if (merge_ids(same.f.source_ids, op.source_ids))
          set_sources(same.f.id, same.f.source_ids, b.now);
        insert_event(b, "update", old.f.id, same.f.id, old.f.text, same.f.text, op);
        ++r.updated;
        return;
      }
      fact f;
      f.id = new_uuid();
      f.user_id = b.user_id;
      f.text = text;
      f.category = op.category.empty()              ? old.f.category
                   : is_valid_category(op.category) ? op.category
                                                    : "other";
      f.observed_at = observed;
      f.created_at = b.now;
      f.source_ids = op.source_ids;
      end_fact(old.f.id, "superseded", f.id, b.now);
      insert_fact(f, norm);
      insert_event(b, "update", old.f.id, f.id, old.f.text, text, op);
      ++r.updated;
      r.fact_ids.push_back(f.id);
      return;
    }
    if (op.kind == "delete") {
      stored_fact old;
      if (op.fact_id.empty() || !fact_by_id(op.fact_id, old)) {
        ++r.unchanged;
        return;
      }
      if (old.f.user_id != b.user_id) {
        ++r.rejected;
        return;
      }
      if (old.f.status != "active") {
        ++r.unchanged;
        return;
      }
      end_fact(old.f.id, "deleted", {}, b.now);
      insert_event(b, "delete", old.f.id, {}, old.f.text, {}, op);
      ++r.deleted;
      return;
    }
    ++r.rejected;  // unknown kind
  }

  // One batch inside the caller's transaction: replays answer what the first apply did.
  apply_result apply_batch(const fact_batch& batch) {
    apply_result r;
    if (!batch.batch_key.empty()) {
      use q(
          stmt("SELECT added, updated, deleted, unchanged, rejected, fact_ids FROM applied_batches "
               "WHERE batch_key = ?1"));
      q->bind(1, batch.batch_key);
      if (q->step()) {
        r.added = static_cast<std::int32_t>(q->col_int(0));
        r.updated = static_cast<std::int32_t>(q->col_int(1));
        r.deleted = static_cast<std::int32_t>(q->col_int(2));
        r.unchanged = static_cast<std::int32_t>(q->col_int(3));
        r.rejected = static_cast<std::int32_t>(q->col_int(4));
        r.fact_ids = decode_ids(q->col_text(5));
        r.replay = true;
        return r;  // nothing written for this batch
      }
    }
    for (const auto& op : batch.ops) {
      if (batch.user_id.empty()) {
        ++r.rejected;
        continue;
      }
      apply_op(batch, op, r);
    }
    if (!batch.batch_key.empty()) {
      use q(stmt(
          "INSERT INTO applied_batches (batch_key, user_id, added, updated, deleted, unchanged, "
          "rejected, fact_ids, applied_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
      q->bind(1, batch.batch_key)
          .bind(2, batch.user_id)
          .bind(3, r.added)
          .bind(4, r.updated)
          .bind(5, r.deleted)
          .bind(6, r.unchanged)
          .bind(7, r.rejected)
          .bind(8, encode_ids(r.fact_ids))
          .bind(9, static_cast<std::int64_t>(batch.now));
      q->exec();
    }
    return r;
  }
};

memory_store::memory_store(const store_options& opts) : impl_(std::make_unique<impl>(opts)) {}

memory_store::~memory_store() = default;

database& memory_store::db() { return impl_->db; }

std::vector<apply_result> memory_store::apply_group(const std::vector<fact_batch>& batches) {
  transaction tx(impl_->db);
  std::vector<apply_result> out;
  out.reserve(batches.size());
  for (auto& b : batches) out.push_back(impl_->apply_batch(b));
  tx.commit();
  return out;
}

std::vector<fact> memory_store::active_facts(const std::string& user_id) {
  use q(impl_->stmt(std::string("SELECT ") + k_fact_columns +
                    " FROM facts WHERE user_id = ?1 AND status = 'active' "
                    "ORDER BY created_at, rowid"));
  q->bind(1, user_id);
  std::vector<fact> out;
  while (q->step()) out.push_back(impl::read_fact(*q));
  return out;
}

std::vector<fact> memory_store::all_facts(const std::string& user_id) {
  use q(impl_->stmt(std::string("SELECT ") + k_fact_columns +
                    " FROM facts WHERE user_id = ?1 ORDER BY created_at, rowid"));
  q->bind(1, user_id);
  std::vector<fact> out;
  while (q->step()) out.push_back(impl::read_fact(*q));
  return out;
}

std::vector<fact_event> memory_store::events(const std::string& user_id) {
  use q(impl_->stmt(
      "SELECT seq, fact_id, new_fact_id, user_id, kind, old_text, new_text, cause, extractor, "
      "source_ids, observed_at, at FROM fact_events WHERE user_id = ?1 ORDER BY seq"));
  q->bind(1, user_id);
  std::vector<fact_event> out;
  while (q->step()) {
    fact_event e;
    e.seq = q->col_int(0);
    e.fact_id = q->col_text(1);
    e.new_fact_id = q->col_text(2);
    e.user_id = q->col_text(3);
    e.kind = q->col_text(4);
    e.old_text = q->col_text(5);
    e.new_text = q->col_text(6);
    e.cause = q->col_text(7);
    e.extractor = q->col_text(8);
    e.source_ids = decode_ids(q->col_text(9));
    e.observed_at = q->col_int(10);
    e.at = q->col_int(11);
    out.push_back(std::move(e));
  }
  return out;
}

erase_report memory_store::erase_user(const std::string& user_id) {
  auto& d = *impl_;
  transaction tx(d.db);
  erase_report r;
  auto run = [&](const char* sql) {
    use q(d.stmt(sql));
    q->bind(1, user_id);
    q->exec();
    return static_cast<std::int64_t>(d.db.changes());
  };
  r.facts = run("DELETE FROM facts WHERE user_id = ?1");
  r.fact_events = run("DELETE FROM fact_events WHERE user_id = ?1");
  run("DELETE FROM applied_batches WHERE user_id = ?1");
  tx.commit();
  d.db.truncate_wal(d.busy_budget);  // as in conversation_store::erase_user
  return r;
}

std::optional<fact> memory_store::remember(const std::string& user_id, const std::string& text,
                                           const std::string& category, millis now) {
  const std::string cleaned = impl::clean_text(text);
  if (user_id.empty() || cleaned.empty()) return std::nullopt;
  fact_batch b;
  b.user_id = user_id;
  b.cause = "api";
  b.now = now;
  b.ops.push_back({"add", "", cleaned, category, now, {}});
  transaction tx(impl_->db);
  impl_->apply_batch(b);
  impl::stored_fact stored;
  if (!impl_->active_by_norm(user_id, normalize_fact_text(cleaned), stored))
    throw std::logic_error("remember: the fact just stored is not active");
  tx.commit();
  return stored.f;
}

bool memory_store::forget(const std::string& user_id, const std::string& fact_id, millis now) {
  fact_batch b;
  b.user_id = user_id;
  b.cause = "api";
  b.now = now;
  b.ops.push_back({"delete", fact_id, "", "", now, {}});
  return apply_group({b}).front().deleted == 1;
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
