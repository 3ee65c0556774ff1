// conversation.db: every message, and the memory-processing queue over them.
//
// The contract is what a PostgreSQL implementation can keep too: messages are named by
// their UUID, claiming is "FIFO over users, leases, attempts", and nothing assumes that
// this process is the only writer (a second instance is kept out by leases, not by
// in-memory state).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/sqlite.hpp"
#include "store/types.hpp"

namespace memoryd {

struct conversation_store_options {
  std::string path;                  // ":memory:" works for tests
  std::string synchronous = "full";  // full | normal
  int busy_timeout_ms = 5000;
};

class conversation_store {
 public:
  explicit conversation_store(const conversation_store_options& opts);  // opens + migrates
  ~conversation_store();
  conversation_store(const conversation_store&) = delete;
  conversation_store& operator=(const conversation_store&) = delete;

  // Stores all messages in one transaction (all or nothing). A message whose external_id
  // is already stored is a duplicate: nothing written, the existing id returned.
  // User messages start `pending`; assistant messages `skipped` (never mined).
  // created_at == 0 is replaced by `now`.
  std::vector<ingest_outcome> ingest(const std::vector<new_message>& msgs, millis now);

  // Same, for callers that group several requests into one transaction (group commit):
  // begin(); ingest_in_transaction(...) per request; commit() or rollback().
  void begin();
  std::vector<ingest_outcome> ingest_in_transaction(const std::vector<new_message>& msgs,
                                                    millis now);
  void commit();
  void rollback();

  std::vector<stored_message> history(const history_query& q);

  // WAL checkpoints done by the background checkpointer (see wal_checkpointer.hpp); 0 for
  // an in-memory database, which has none.
  std::int64_t background_checkpoints() const;
  std::vector<std::string> users();  // all user ids with messages
  std::int64_t count_messages();

  // Claims the next batch in one short transaction. Users are taken FIFO by their oldest
  // waiting message (ties by seq); a user is skipped while leased (lease not expired) or
  // while their oldest waiting message has next_attempt_at > now. Up to
  // per_user_batch_size messages per user and batch_size in total, role=user only, in
  // arrival order. Claimed messages become `leased` with lease_until = now + lease_ms and
  // attempts + 1. Cost O(batch + skipped users), not O(backlog).
  claim_result claim(const claim_request& req);

  // Transitions of claimed messages (ids of one user). Each is idempotent.
  // note: recorded in last_error (e.g. "parse: ...") while still counting as processed.
  void mark_done(const std::string& user_id, const std::vector<std::string>& ids, millis now,
                 const std::string& note = {});
  // Back to pending, not claimable before retry_at; the user's later messages wait too.
  void schedule_retry(const std::string& user_id, const std::vector<std::string>& ids,
                      const std::string& error, millis retry_at);
  void dead_letter(const std::string& user_id, const std::vector<std::string>& ids,
                   const std::string& error, millis now);
  // Gives claimed messages back without using up an attempt (shutdown).
  void release(const std::string& user_id, const std::vector<std::string>& ids);
  // Dead-lettered messages back to pending with attempts reset; empty ids: all.
  std::int64_t retry_dead(const std::vector<std::string>& ids, millis now);

  // Deletes every message of the user (any status) and their queue entry. Transitions for
  // work still in flight then find nothing to change. Returns the number of messages.
  std::int64_t erase_user(const std::string& user_id);

  queue_stats stats(millis now);

  // For tests and diagnostics: EXPLAIN QUERY PLAN of the claim's queries, one line each.
  std::vector<std::string> explain_claim();

  sqlite::database& db();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd
