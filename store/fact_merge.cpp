#include "store/fact_merge.hpp"

#include <algorithm>
#include <cstdio>

#include "core/uuid.hpp"
#include "domain/fact_text.hpp"

namespace memoryd {
namespace {

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

fact_event event_of(const fact_batch& b, const char* kind, const std::string& fact_id,
                    const std::string& new_fact_id, const std::string& old_text,
                    const std::string& new_text, const fact_op& op) {
  fact_event e;
  e.fact_id = fact_id;
  e.new_fact_id = new_fact_id;
  e.user_id = b.user_id;
  e.kind = kind;
  e.old_text = old_text;
  e.new_text = new_text;
  e.cause = b.cause;
  e.extractor = b.extractor;
  e.source_ids = op.source_ids;
  e.observed_at = op.observed_at != 0 ? op.observed_at : b.now;
  e.at = b.now;
  return e;
}

// The sources of `existing` gain the op's; written only when something was new.
void merge_sources(fact_rows& rows, stored_fact& existing, const fact_op& op, millis now) {
  if (merge_ids(existing.f.source_ids, op.source_ids))
    rows.set_sources(existing.f.id, existing.f.source_ids, now);
}

void apply_add(fact_rows& rows, const fact_batch& b, const fact_op& op, apply_result& r) {
  const std::string text = storable_fact_text(op.text);
  if (text.empty()) {
    ++r.rejected;
    return;
  }
  const std::string norm = normalize_fact_text(text);
  if (auto existing = rows.active_by_norm(b.user_id, norm)) {
    ++r.unchanged;
    merge_sources(rows, *existing, op, b.now);
    return;
  }
  fact f;
  f.id = new_uuid();
  f.user_id = b.user_id;
  f.text = text;
  f.category = is_valid_category(op.category) ? op.category : "other";
  f.observed_at = op.observed_at != 0 ? op.observed_at : b.now;
  f.created_at = b.now;
  f.source_ids = op.source_ids;
  rows.insert(f, norm, b.cause);
  rows.record_event(event_of(b, "add", f.id, {}, {}, text, op));
  ++r.added;
  r.fact_ids.push_back(f.id);
}

void apply_update(fact_rows& rows, const fact_batch& b, const fact_op& op, apply_result& r) {
  const millis observed = op.observed_at != 0 ? op.observed_at : b.now;
  auto old = op.fact_id.empty() ? std::nullopt : rows.by_id(op.fact_id);
  // A later statement supersedes an earlier one, never the reverse.
  if (!old || old->f.user_id != b.user_id || old->f.status != "active" ||
      observed < old->f.observed_at) {
    ++r.rejected;
    return;
  }
  const std::string text = storable_fact_text(op.text);
  if (text.empty()) {
    ++r.rejected;
    return;
  }
  const std::string norm = normalize_fact_text(text);
  if (norm == old->norm) {
    ++r.unchanged;
    merge_sources(rows, *old, op, b.now);
    return;
  }
  if (auto same = rows.active_by_norm(b.user_id, norm)) {
    // The new text is already another active fact: the old one is superseded by it.
    rows.end(old->f.id, "superseded", same->f.id, b.now);
    merge_sources(rows, *same, op, b.now);
    rows.record_event(event_of(b, "update", old->f.id, same->f.id, old->f.text, same->f.text, op));
    ++r.updated;
    return;
  }
  fact f;
  f.id = new_uuid();
  f.user_id = b.user_id;
  f.text = text;
  f.category = op.category.empty()              ? old->f.category
               : is_valid_category(op.category) ? op.category
                                                : "other";
  f.observed_at = observed;
  f.created_at = b.now;
  f.source_ids = op.source_ids;
  rows.end(old->f.id, "superseded", f.id, b.now);
  rows.insert(f, norm, b.cause);
  rows.record_event(event_of(b, "update", old->f.id, f.id, old->f.text, text, op));
  ++r.updated;
  r.fact_ids.push_back(f.id);
}

void apply_delete(fact_rows& rows, const fact_batch& b, const fact_op& op, apply_result& r) {
  auto old = op.fact_id.empty() ? std::nullopt : rows.by_id(op.fact_id);
  if (!old) {
    ++r.unchanged;
    return;
  }
  if (old->f.user_id != b.user_id) {
    ++r.rejected;
    return;
  }
  if (old->f.status != "active") {
    ++r.unchanged;
    return;
  }
  rows.end(old->f.id, "deleted", {}, b.now);
  rows.record_event(event_of(b, "delete", old->f.id, {}, old->f.text, {}, op));
  ++r.deleted;
}

}  // namespace

std::string storable_fact_text(const std::string& text) {
  std::string t = trim(text);
  if (t.size() > max_fact_bytes) return {};
  if (normalize_fact_text(t).empty()) return {};
  return t;
}

apply_result apply_fact_batch(fact_rows& rows, const fact_batch& batch) {
  if (!batch.batch_key.empty()) {
    if (auto first = rows.applied(batch.batch_key)) {
      first->replay = true;
      return *first;  // nothing written for this batch
    }
  }
  apply_result r;
  for (const auto& op : batch.ops) {
    if (batch.user_id.empty())
      ++r.rejected;
    else if (op.kind == "add")
      apply_add(rows, batch, op, r);
    else if (op.kind == "update")
      apply_update(rows, batch, op, r);
    else if (op.kind == "delete")
      apply_delete(rows, batch, op, r);
    else
      ++r.rejected;  // unknown kind
  }
  if (!batch.batch_key.empty()) rows.record_applied(batch, r);
  return r;
}

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

}  // namespace memoryd
