#include "store/postgres/memory_store.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>

#include "domain/fact_text.hpp"
#include "store/fact_merge.hpp"
#include "store/postgres/fact_columns.hpp"
#include "store/postgres/fact_index.hpp"
#include "store/postgres/fact_reader.hpp"

namespace memoryd::pg {
namespace {

std::string num(std::int64_t v) { return std::to_string(v); }

param text_or_null(const std::string& v) { return v.empty() ? param{} : param{v}; }

// The user's writes, one transaction at a time across every instance.
void lock_user(connection& c, const std::string& user) {
  c.exec_prepared("lock_user", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {user});
}

// Whether any of the batch's source messages is still stored; the rows stay locked against
// deletion (an erasure) until the transaction ends.
bool sources_exist(connection& c, const fact_batch& b) {
  std::vector<std::string> ids;
  for (const auto& op : b.ops) ids.insert(ids.end(), op.source_ids.begin(), op.source_ids.end());
  if (ids.empty()) return true;
  return c.exec_prepared("sources_exist",
                         "SELECT 1 FROM messages WHERE id = ANY($1::text[]) FOR KEY SHARE",
                         {text_array(ids)})
             .rows() > 0;
}

}  // namespace

struct memory_store::impl {
  link db;
  fact_reader reader;
  impl(const std::string& url, link_options o) : db(url, o), reader(db) {
    // Facts stored before the search index existed (migration 3), one user at a time.
    while (db.run([](connection& c) { return fact_index::build_next_user(c); }) >= 0) {
    }
  }
};

class memory_store::rows final : public fact_rows {
 public:
  explicit rows(connection& c) : c_(c) {}

  std::optional<stored_fact> by_id(const std::string& id) override {
    return one(c_.exec_prepared(
        "fact_by_id", std::string("SELECT ") + k_fact_columns + ", norm FROM facts WHERE id = $1",
        {id}));
  }

  std::optional<stored_fact> active_by_norm(const std::string& user_id,
                                            const std::string& norm) override {
    return one(c_.exec_prepared("fact_by_norm",
                                std::string("SELECT ") + k_fact_columns +
                                    ", norm FROM facts WHERE user_id = $1 AND norm = $2 AND "
                                    "status = 'active'",
                                {user_id, norm}));
  }

  void set_sources(const std::string& id, const std::vector<std::string>& ids,
                   millis now) override {
    c_.exec_prepared("fact_sources",
                     "UPDATE facts SET source_ids = $2, updated_at = $3 WHERE id = $1",
                     {id, encode_ids(ids), num(now)});
  }

  void insert(const fact& f, const std::string& norm, const std::string& cause) override {
    auto e = fact_index::enter(c_, f.user_id, f.text);
    c_.exec_prepared("fact_insert",
                     "INSERT INTO facts (id, user_id, text, norm, category, status, observed_at, "
                     "created_at, updated_at, source_ids, terms, pos, origin, tokens) "
                     "VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $7, $8, $9, $10, $11, "
                     "array_to_tsvector($12::text[]))",
                     {f.id, f.user_id, f.text, norm, f.category, num(f.observed_at),
                      num(f.created_at), encode_ids(f.source_ids), e.terms, num(e.pos),
                      std::string(cause == "api" ? "api" : "extractor"), e.tokens});
  }

  void end(const std::string& id, const char* status, const std::string& superseded_by,
           millis now) override {
    fact_index::leave(c_, id);
    c_.exec_prepared(
        "fact_end",
        "UPDATE facts SET status = $2, superseded_by = $3, updated_at = $4 WHERE id = $1",
        {id, std::string(status), text_or_null(superseded_by), num(now)});
  }

  void record_event(const fact_event& e) override {
    c_.exec_prepared(
        "fact_event",
        "INSERT INTO fact_events (fact_id, new_fact_id, user_id, kind, old_text, "
        "new_text, cause, extractor, source_ids, observed_at, at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        {e.fact_id, text_or_null(e.new_fact_id), e.user_id, e.kind, text_or_null(e.old_text),
         text_or_null(e.new_text), e.cause, text_or_null(e.extractor), encode_ids(e.source_ids),
         num(e.observed_at), num(e.at)});
  }

  std::optional<apply_result> applied(const std::string& batch_key) override {
    auto r = c_.exec_prepared("batch_applied",
                              "SELECT added, updated, deleted, unchanged, rejected, fact_ids "
                              "FROM applied_batches WHERE batch_key = $1",
                              {batch_key});
    if (r.rows() == 0) return std::nullopt;
    apply_result a;
    a.added = static_cast<std::int32_t>(r.integer(0, 0));
    a.updated = static_cast<std::int32_t>(r.integer(0, 1));
    a.deleted = static_cast<std::int32_t>(r.integer(0, 2));
    a.unchanged = static_cast<std::int32_t>(r.integer(0, 3));
    a.rejected = static_cast<std::int32_t>(r.integer(0, 4));
    a.fact_ids = decode_ids(r.text(0, 5));
    return a;
  }

  void record_applied(const fact_batch& b, const apply_result& r) override {
    c_.exec_prepared("batch_record",
                     "INSERT INTO applied_batches (batch_key, user_id, added, updated, deleted, "
                     "unchanged, rejected, fact_ids, applied_at) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                     {b.batch_key, b.user_id, num(r.added), num(r.updated), num(r.deleted),
                      num(r.unchanged), num(r.rejected), encode_ids(r.fact_ids), num(b.now)});
  }

 private:
  static std::optional<stored_fact> one(const result& r) {
    if (r.rows() == 0) return std::nullopt;
    return stored_fact{read_fact(r, 0), r.text(0, k_fact_column_count)};
  }
  connection& c_;
};

memory_store::memory_store(const std::string& url, link_options opts)
    : impl_(std::make_unique<impl>(url, opts)) {}

memory_store::~memory_store() = default;

std::vector<apply_result> memory_store::apply_group(const std::vector<fact_batch>& batches) {
  return impl_->db.run([&](connection& c) {
    transaction tx(c);
    // Users in one order for every instance: two groups never wait for each other in a cycle.
    std::set<std::string> users;
    for (const auto& b : batches)
      if (!b.user_id.empty()) users.insert(b.user_id);
    for (const auto& u : users) lock_user(c, u);
    rows r(c);
    std::vector<apply_result> out;
    out.reserve(batches.size());
    for (const auto& b : batches) {
      if (b.sources_must_exist && !sources_exist(c, b)) {
        apply_result dropped;  // the user was erased while this batch was in flight
        dropped.rejected = static_cast<std::int32_t>(b.ops.size());
        out.push_back(dropped);
        continue;
      }
      out.push_back(apply_fact_batch(r, b));
    }
    tx.commit();
    return out;
  });
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
  return impl_->db.run([&](connection& c) -> std::optional<fact> {
    transaction tx(c);
    lock_user(c, user_id);
    rows r(c);
    apply_fact_batch(r, b);
    auto stored = r.active_by_norm(user_id, normalize_fact_text(cleaned));
    if (!stored) throw std::logic_error("remember: the fact just stored is not active");
    tx.commit();
    return stored->f;
  });
}

bool memory_store::forget(const std::string& user_id, const std::string& fact_id, millis now) {
  fact_batch b;
  b.user_id = user_id;
  b.cause = "api";
  b.now = now;
  b.ops.push_back({"delete", fact_id, "", "", now, {}});
  return apply_group({b}).front().deleted == 1;
}

namespace {
std::vector<fact> facts_where(link& db, const char* name, const std::string& where,
                              const std::string& user_id) {
  return db.run([&](connection& c) {
    auto r = c.exec_prepared(name,
                             std::string("SELECT ") + k_fact_columns + " FROM facts WHERE " +
                                 where + " ORDER BY created_at, ord",
                             {user_id});
    std::vector<fact> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_fact(r, i));
    return out;
  });
}
}  // namespace

std::vector<fact> memory_store::active_facts(const std::string& user_id) {
  return facts_where(impl_->db, "facts_active", "user_id = $1 AND status = 'active'", user_id);
}

std::vector<fact> memory_store::all_facts(const std::string& user_id) {
  return facts_where(impl_->db, "facts_all", "user_id = $1", user_id);
}

namespace {
constexpr const char* k_event_columns =
    "seq, fact_id, new_fact_id, user_id, kind, old_text, new_text, cause, extractor, "
    "source_ids, observed_at, at";

std::vector<fact_event> read_events(const result& r) {
  std::vector<fact_event> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    fact_event e;
    e.seq = r.integer(i, 0);
    e.fact_id = r.text(i, 1);
    e.new_fact_id = r.text(i, 2);
    e.user_id = r.text(i, 3);
    e.kind = r.text(i, 4);
    e.old_text = r.text(i, 5);
    e.new_text = r.text(i, 6);
    e.cause = r.text(i, 7);
    e.extractor = r.text(i, 8);
    e.source_ids = decode_ids(r.text(i, 9));
    e.observed_at = r.integer(i, 10);
    e.at = r.integer(i, 11);
    out.push_back(std::move(e));
  }
  return out;
}
}  // namespace

std::vector<fact_event> memory_store::events(const std::string& user_id) {
  return impl_->db.run([&](connection& c) {
    return read_events(c.exec_prepared("fact_events",
                                       std::string("SELECT ") + k_event_columns +
                                           " FROM fact_events WHERE user_id = $1 ORDER BY seq",
                                       {user_id}));
  });
}

std::vector<fact> memory_store::active_facts_page(const std::string& user_id,
                                                  millis after_created_at, std::int64_t after_seq,
                                                  std::int32_t limit) {
  return impl_->db.run([&](connection& c) {
    // created_at >= $2 is the facts_user index's range; the row comparison drops the key's own
    // ties (ord is not in the index: the few facts of one millisecond are filtered and sorted).
    auto r = c.exec_prepared(
        "facts_page",
        std::string("SELECT ") + k_fact_columns +
            " FROM facts WHERE user_id = $1 AND status = 'active' AND created_at >= $2::bigint "
            "AND (created_at, ord) > ($2::bigint, $3::bigint) ORDER BY created_at, ord "
            "LIMIT $4::int",
        {user_id, std::to_string(after_created_at), std::to_string(after_seq),
         std::to_string(limit)});
    std::vector<fact> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_fact(r, i));
    return out;
  });
}

std::vector<fact_event> memory_store::events_page(const std::string& user_id,
                                                  std::int64_t before_seq, std::int32_t limit) {
  return impl_->db.run([&](connection& c) {
    return read_events(c.exec_prepared(
        "fact_events_page",
        std::string("SELECT ") + k_event_columns +
            " FROM fact_events WHERE user_id = $1 AND seq < $2::bigint ORDER BY seq DESC "
            "LIMIT $3::int",
        {user_id,
         std::to_string(before_seq > 0 ? before_seq : std::numeric_limits<std::int64_t>::max()),
         std::to_string(limit)}));
  });
}

erase_report memory_store::erase_user(const std::string& user_id) {
  return impl_->db.run([&](connection& c) {
    transaction tx(c);
    lock_user(c, user_id);
    erase_report r;
    r.facts = c.exec_prepared("erase_facts", "DELETE FROM facts WHERE user_id = $1", {user_id})
                  .affected();
    r.fact_events =
        c.exec_prepared("erase_events", "DELETE FROM fact_events WHERE user_id = $1", {user_id})
            .affected();
    c.exec_prepared("erase_batches", "DELETE FROM applied_batches WHERE user_id = $1", {user_id});
    fact_index::erase_user(c, user_id);
    tx.commit();
    return r;
  });
}

std::int64_t memory_store::count_facts() {
  return impl_->db.run(
      [](connection& c) { return c.exec("SELECT count(*) FROM facts").integer(0, 0); });
}

std::vector<scored_fact> memory_store::search(const search_request& r) {
  return impl_->reader.search(r);
}

std::vector<fact> memory_store::recent_facts(const std::string& user_id, std::int32_t limit,
                                             bool remembered_only) {
  return impl_->reader.recent_facts(user_id, limit, remembered_only);
}

void memory_store::ping() {
  impl_->db.run([](connection& c) { c.exec("SELECT 1"); });
}

}  // namespace memoryd::pg
