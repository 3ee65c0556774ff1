// conversation.db: every message, and the memory-processing queue over them.
//
// The interface every storage backend provides (store/sqlite/ today); the persistence actor
// holds only this. Messages are named by their UUID, claiming is "FIFO over users, leases,
// attempts", and nothing assumes that this process is the only writer: a second instance on a
// shared database is kept out by leases, not by in-memory state. Errors throw (the backend's
// exception type, derived from std::exception); a throwing call changed nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/message.hpp"
#include "domain/queue.hpp"

namespace memoryd {

class conversation_store {
 public:
  virtual ~conversation_store() = default;

  // Stores every request's messages in one transaction, all or nothing (group commit: one
  // durable commit for many requests); the outcomes come back per request, in order. A
  // message whose external_id is already stored is a duplicate: nothing written, the
  // existing id returned. User messages start `pending`, assistant messages `skipped` (never
  // mined). created_at == 0 is replaced by `now`.
  virtual std::vector<std::vector<ingest_outcome>> ingest_group(
      const std::vector<std::vector<new_message>>& requests, millis now) = 0;
  // One request in its own transaction.
  virtual std::vector<ingest_outcome> ingest(const std::vector<new_message>& msgs, millis now) = 0;

  virtual std::vector<stored_message> history(const history_query& q) = 0;

  // Claims the next batch in one short transaction. Users are taken FIFO by their oldest
  // waiting message (ties by seq); a user is skipped while leased (lease not expired) or
  // while their oldest waiting message has next_attempt_at > now. Up to
  // per_user_batch_size messages per user and batch_size in total, role=user only, in
  // arrival order. Claimed messages become `leased` with lease_until = now + lease_ms and
  // attempts + 1; an expired lease already at max_attempts dead-letters instead. Cost
  // O(batch + skipped users), not O(backlog).
  virtual claim_result claim(const claim_request& req) = 0;

  // Transitions of claimed messages (ids of one user). Each is idempotent and changes only
  // messages that are still leased, and with lease_until != 0 only those still under that
  // lease (the claim's user_batch::lease_until): an outcome that comes after its lease ended
  // and the messages were claimed again changes nothing. 0: whatever lease (tools, tests).
  // note: recorded in last_error (e.g. "parse: ...") while still counting as processed.
  virtual void mark_done(const std::string& user_id, const std::vector<std::string>& ids,
                         millis now, const std::string& note = {}, millis lease_until = 0) = 0;
  // Back to pending, not claimable before retry_at; the user's later messages wait too.
  virtual void schedule_retry(const std::string& user_id, const std::vector<std::string>& ids,
                              const std::string& error, millis retry_at,
                              millis lease_until = 0) = 0;
  // processed_at becomes `now`: when the message was given up (shown with the dead letters).
  virtual void dead_letter(const std::string& user_id, const std::vector<std::string>& ids,
                           const std::string& error, millis now, millis lease_until = 0) = 0;
  // Gives claimed messages back without using up an attempt (shutdown).
  virtual void release(const std::string& user_id, const std::vector<std::string>& ids,
                       millis lease_until = 0) = 0;
  // Dead-lettered messages back to pending with attempts reset (and processed_at 0); empty
  // ids: all. Returns how many.
  virtual std::int64_t retry_dead(const std::vector<std::string>& ids, millis now) = 0;

  // Dead-lettered messages, newest (highest seq) first: dead_letter_query.
  virtual std::vector<stored_message> dead_letters(const dead_letter_query& q) = 0;

  // Deletes every message of the user (any status) and their queue entry. Transitions for
  // work still in flight then find nothing to change. Returns the number of messages.
  virtual std::int64_t erase_user(const std::string& user_id) = 0;

  virtual queue_stats stats(millis now) = 0;
  virtual std::int64_t count_messages() = 0;

  // A cheap round trip to the database: throws when it cannot answer (readiness).
  virtual void ping() = 0;
};

}  // namespace memoryd
