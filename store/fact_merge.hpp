// How fact operations merge into a user's facts: the rules memory_store.hpp promises, written
// once for every backend. A backend gives row access inside its own transaction (fact_rows);
// apply_fact_batch decides what changes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/fact.hpp"

namespace memoryd {

// A fact as stored, with its normalized text (the duplicate key).
struct stored_fact {
  fact f;
  std::string norm;
};

// Row access of one backend, inside the transaction the caller opened.
class fact_rows {
 public:
  virtual ~fact_rows() = default;
  virtual std::optional<stored_fact> by_id(const std::string& id) = 0;
  virtual std::optional<stored_fact> active_by_norm(const std::string& user_id,
                                                    const std::string& norm) = 0;
  virtual void set_sources(const std::string& id, const std::vector<std::string>& ids,
                           millis now) = 0;
  // A new active fact; `cause` is the batch's ("api" facts are the explicitly remembered).
  virtual void insert(const fact& f, const std::string& norm, const std::string& cause) = 0;
  virtual void end(const std::string& id, const char* status, const std::string& superseded_by,
                   millis now) = 0;
  virtual void record_event(const fact_event& e) = 0;
  // What the batch with this key did when it was first applied; nothing if never applied.
  virtual std::optional<apply_result> applied(const std::string& batch_key) = 0;
  virtual void record_applied(const fact_batch& b, const apply_result& r) = 0;
};

// Applies one batch through `rows` (see memory_store::apply_group for the rules): a replayed
// batch_key answers what the first apply did and writes nothing.
apply_result apply_fact_batch(fact_rows& rows, const fact_batch& batch);

// The text as stored (trimmed), or "" when it cannot be a fact (empty once normalized, or
// longer than max_fact_bytes).
inline constexpr std::size_t max_fact_bytes = 500;
std::string storable_fact_text(const std::string& text);

// Source message ids are stored as a JSON array of strings.
std::string encode_ids(const std::vector<std::string>& ids);
std::vector<std::string> decode_ids(const std::string& s);

}  // namespace memoryd
