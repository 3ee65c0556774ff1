// wal_checkpointer: moves WAL checkpoints off the writing thread.
//
// SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold, on the
// writer's thread: with ingest that is the persistence actor, and every request in its group
// waits for the copy of thousands of pages into the database file and its fsync (the p99 of
// ingest). This replaces it: a hook on the writer connection notes the WAL size after each
// commit, and a thread of our own, with its own connection, runs PASSIVE checkpoints, which
// never block the writer. If that thread falls far behind (WAL over 4x the threshold), the
// writer checkpoints itself as SQLite would, so the WAL stays bounded.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/database.hpp"

namespace memoryd::sqlite {

// WAL size (pages) at which the background checkpointer copies the WAL into the database
// (conversation.db; memory.db with synchronous=normal): SQLite's own default, now off the
// writer's thread. Measured on conversation.db: bench_store_ingest (group 64, random
// MessageSids, 200k prefill), interleaved: background 18.7-19.4k msg/s, SQLite's in-commit
// checkpoint (--wal-autocheckpoint 1000) 16.4-17.6k. bench/ingest (twilio, 64, full),
// interleaved: 1,000 / 2,000 / 8,000 pages gave 13.4k / 13.2-14.8k / 14.4-16.4k req/s with
// p99 ~8-10 ms each and WAL files of 18 / 34 / 130 MB, so the smallest WAL it is.
inline constexpr int k_checkpoint_pages = 1000;

class wal_checkpointer {
 public:
  // Installs the hook on `writer` (which must outlive this object) and starts the thread
  // with its own connection to `path`.
  wal_checkpointer(database& writer, const std::string& path, const std::string& synchronous,
                   int busy_timeout_ms, int threshold_pages);
  ~wal_checkpointer();  // stops the thread and gives the writer SQLite's own autocheckpoint back
  wal_checkpointer(const wal_checkpointer&) = delete;
  wal_checkpointer& operator=(const wal_checkpointer&) = delete;

  std::int64_t checkpoints() const;  // completed by the thread, for tests and metrics

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void run();

  database& writer_;
  const int threshold_;
  database own_;  // the checkpointing connection, used only by the thread
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stop_ = false;
  std::int64_t checkpoints_ = 0;
  std::thread thread_;
};

}  // namespace memoryd::sqlite
