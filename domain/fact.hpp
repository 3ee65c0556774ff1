// Facts about a user, the operations that change them, and the history of every change.
// Plain data: no CAF, SQLite or Boost; every layer may include it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace memoryd {

namespace fact_category {
inline constexpr const char* all[] = {"preferences", "health",   "relationships", "work",
                                      "interests",   "location", "other"};
}

struct fact {
  std::string id;
  std::string user_id;
  std::string text;
  std::string category;
  std::string status;  // active | superseded | deleted
  millis observed_at = 0;
  millis created_at = 0;
  millis updated_at = 0;
  std::vector<std::string> source_ids;  // message ids it came from
  // Its place in the written order among facts of the same created_at (SQLite rowid,
  // PostgreSQL ord): with created_at, the key a list of facts pages by.
  std::int64_t seq = 0;
};

struct fact_event {
  std::int64_t seq = 0;
  std::string fact_id;      // the fact the event is about (for update: the old fact)
  std::string new_fact_id;  // update only: the fact that supersedes it
  std::string user_id;
  std::string kind;  // add | update | delete
  std::string old_text;
  std::string new_text;
  std::string cause;      // extractor | api
  std::string extractor;  // e.g. "rules/1", "anthropic/prompt-1"; empty for api
  std::vector<std::string> source_ids;
  millis observed_at = 0;
  millis at = 0;
};

// One operation an extractor (or the API) asks the fact writer to apply.
struct fact_op {
  std::string kind;        // add | update | delete
  std::string fact_id;     // update, delete
  std::string text;        // add, update
  std::string category;    // add (update: empty keeps the old one)
  millis observed_at = 0;  // created_at of the message it came from
  std::vector<std::string> source_ids;
};

// Everything the fact writer applies in one transaction.
struct fact_batch {
  std::string user_id;
  std::string batch_key;  // idempotency key (hash of source message ids); empty: none
  std::string cause = "extractor";
  std::string extractor;
  std::vector<fact_op> ops;
  millis now = 0;
  // Written only while one of its source messages is still stored: an extraction that was in
  // flight when its user was erased (by any instance) writes nothing. Checked where the
  // memory store can see the messages (PostgreSQL); on SQLite the fact writer remembers the
  // erasures of its one process instead.
  bool sources_must_exist = false;
};

struct apply_result {
  std::int32_t added = 0, updated = 0, deleted = 0, unchanged = 0, rejected = 0;
  bool replay = false;                // batch_key was applied before: nothing changed
  std::vector<std::string> fact_ids;  // ids of facts added or created by updates
};

// A user erased on request: what was removed.
struct erase_report {
  std::int64_t messages = 0;
  std::int64_t facts = 0;
  std::int64_t fact_events = 0;
};

// A page of a user's active facts and of their change history (GET /v1/users/{id}/facts and
// .../facts/events). Each part is read only when its limit is above 0; a page is asked for
// with one more than it shows, so the extra row says whether another follows.
struct fact_query {
  std::string user_id;
  std::int32_t limit = 0;          // active facts, in written order (created_at, seq)
  millis after_created_at = 0;     // only facts after (after_created_at, after_seq);
  std::int64_t after_seq = 0;      // (0, 0): from the first
  std::int32_t events_limit = 0;   // change events, newest first
  std::int64_t events_before = 0;  // only events with seq below this; 0: from the newest
};

struct fact_listing {
  std::vector<fact> facts;         // oldest first
  std::vector<fact_event> events;  // newest first
};

}  // namespace memoryd
