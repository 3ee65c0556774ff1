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
