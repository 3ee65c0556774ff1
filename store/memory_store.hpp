// memory.db: each user's facts and the history of every change to them.
//
// The interface every storage backend provides (store/sqlite/ today); the fact writer holds
// only this. Errors throw (the backend's exception type, derived from std::exception); a
// throwing call changed nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/fact.hpp"
#include "store/fact_search.hpp"

namespace memoryd {

// Every memory store also searches (fact_search), on its own connection: the CLI and tests use
// that; the service reads through open_fact_search's readers instead.
class memory_store : public fact_search {
 public:
  // Applies several batches in one transaction (group commit), each idempotently; results in
  // order. If any batch fails, nothing is written and the exception propagates.
  // - a batch_key seen before changes nothing (result.replay = true);
  // - add of a text whose normalized form (domain/fact_text.hpp) is already active:
  //   unchanged (its source ids are merged);
  // - update of an unknown / inactive id, or with observed_at older than the fact's: the
  //   op is rejected (a later statement supersedes an earlier one, never the reverse);
  //   update to the same normalized text: unchanged; otherwise the old fact becomes
  //   `superseded` and a new active fact carries the new text;
  // - delete of an unknown / inactive id: unchanged; else the fact becomes `deleted`.
  // Every change writes a fact_event with old and new text, cause, extractor, source ids,
  // observed_at. Unknown categories become "other"; empty or over-long text is rejected.
  // The search index changes in the same transaction: a new active fact is searchable once
  // the group commits, and a superseded or deleted one is no longer found.
  virtual std::vector<apply_result> apply_group(const std::vector<fact_batch>& batches) = 0;
  // One batch in its own transaction.
  apply_result apply(const fact_batch& batch) { return apply_group({batch}).front(); }

  // Explicit "remember this" (cause "api"): adds the fact, or finds the active fact with the
  // same normalized text. Returns it as stored; nothing when the text is not storable (empty
  // or too long).
  virtual std::optional<fact> remember(const std::string& user_id, const std::string& text,
                                       const std::string& category, millis now) = 0;
  // Explicit "forget this" (cause "api"). False when the user has no active fact with that
  // id (nothing changed).
  virtual bool forget(const std::string& user_id, const std::string& fact_id, millis now) = 0;

  virtual std::vector<fact> active_facts(const std::string& user_id) = 0;
  virtual std::vector<fact> all_facts(const std::string& user_id) = 0;     // any status
  virtual std::vector<fact_event> events(const std::string& user_id) = 0;  // oldest first
  // Pages for the API (keyset: no offsets, see http/page_cursor.hpp). The user's active facts
  // in written order, the first `limit` with (created_at, seq) after the given key; (0, 0)
  // from the first. Both backends read it from the facts_user (user_id, created_at) index.
  virtual std::vector<fact> active_facts_page(const std::string& user_id, millis after_created_at,
                                              std::int64_t after_seq, std::int32_t limit) = 0;
  // The user's newest `limit` events with seq below before_seq (0: from the newest), newest
  // first.
  virtual std::vector<fact_event> events_page(const std::string& user_id, std::int64_t before_seq,
                                              std::int32_t limit) = 0;
  // Both parts of a fact_query, each only when its limit asks for it.
  fact_listing list(const fact_query& q) {
    fact_listing out;
    if (q.limit > 0)
      out.facts = active_facts_page(q.user_id, q.after_created_at, q.after_seq, q.limit);
    if (q.events_limit > 0) out.events = events_page(q.user_id, q.events_before, q.events_limit);
    return out;
  }
  // Deletes every fact, fact event and applied-batch record of the user, and the user's search
  // index entries and key. Nothing of the user is kept; keeping work that was in flight from
  // writing facts again is the fact writer's job (it remembers recent erasures).
  virtual erase_report erase_user(const std::string& user_id) = 0;

  virtual std::int64_t count_facts() = 0;

  // A cheap round trip to the database: throws when it cannot answer (readiness).
  virtual void ping() = 0;
};

}  // namespace memoryd
