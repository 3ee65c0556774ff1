// Messages and their queue on PostgreSQL: one database shared by any number of memoryd
// instances, each holding one connection here (the persistence actor's).
//
// How the invariants hold across instances (docs/ARCHITECTURE.md, "Several instances"):
// claims lock user_queue rows FOR UPDATE SKIP LOCKED and gate them with a lease in the row,
// so one user is in one claim at a time anywhere; every writer of a user's queue row takes
// the row lock before it reads the user's messages, and an ingest lowers head_seq with
// LEAST, so a message whose seq was drawn before a claim but committed after it is still
// found (sequences are not commit-ordered).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/conversation_store.hpp"
#include "store/postgres/link.hpp"

namespace memoryd::pg {

class conversation_store final : public memoryd::conversation_store {
 public:
  // Connects (the schema must be migrated); throws error when the server cannot be reached.
  explicit conversation_store(const std::string& url, link_options opts = {});
  ~conversation_store() override;
  conversation_store(const conversation_store&) = delete;
  conversation_store& operator=(const conversation_store&) = delete;

  std::vector<std::vector<ingest_outcome>> ingest_group(
      const std::vector<std::vector<new_message>>& requests, millis now) override;
  std::vector<ingest_outcome> ingest(const std::vector<new_message>& msgs, millis now) override;
  std::vector<stored_message> history(const history_query& q) override;
  claim_result claim(const claim_request& req) override;
  void mark_done(const std::string& user_id, const std::vector<std::string>& ids, millis now,
                 const std::string& note = {}, millis lease_until = 0) override;
  void schedule_retry(const std::string& user_id, const std::vector<std::string>& ids,
                      const std::string& error, millis retry_at, millis lease_until = 0) override;
  void dead_letter(const std::string& user_id, const std::vector<std::string>& ids,
                   const std::string& error, millis now, millis lease_until = 0) override;
  void release(const std::string& user_id, const std::vector<std::string>& ids,
               millis lease_until = 0) override;
  std::int64_t retry_dead(const std::vector<std::string>& ids, millis now) override;
  std::vector<stored_message> dead_letters(const dead_letter_query& q) override;
  std::int64_t erase_user(const std::string& user_id) override;
  queue_stats stats(millis now) override;
  std::int64_t count_messages() override;
  void ping() override;

  // PostgreSQL only, for tests and benchmarks: EXPLAIN of the claim's queries.
  std::vector<std::string> explain_claim();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd::pg
