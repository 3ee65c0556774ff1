// conversation.db on SQLite: one file in WAL mode, written by one connection (the
// persistence actor's), with WAL checkpoints on a background thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/conversation_store.hpp"
#include "store/sqlite/database.hpp"

namespace memoryd::sqlite {

class conversation_store final : public memoryd::conversation_store {
 public:
  explicit conversation_store(const store_options& opts);  // opens + migrates
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

  // SQLite only, for tests, benchmarks and diagnostics:
  // WAL checkpoints done by the background checkpointer (0 for ":memory:", which has none).
  std::int64_t background_checkpoints() const;
  std::vector<std::string> users();  // all user ids with messages
  // EXPLAIN QUERY PLAN of the claim's queries, one line each.
  std::vector<std::string> explain_claim();
  database& db();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd::sqlite
