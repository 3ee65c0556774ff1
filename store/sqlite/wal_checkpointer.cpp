#include "store/sqlite/wal_checkpointer.hpp"

#include <sqlite3.h>

namespace memoryd::sqlite {

wal_checkpointer::wal_checkpointer(database& writer, const std::string& path,
                                   const std::string& synchronous, int busy_timeout_ms,
                                   int threshold_pages)
    : writer_(writer), threshold_(threshold_pages), own_(path, synchronous, busy_timeout_ms) {
  thread_ = std::thread([this] { run(); });
  sqlite3_wal_hook(writer_.handle(), &wal_checkpointer::on_commit, this);
}

wal_checkpointer::~wal_checkpointer() {
  sqlite3_wal_autocheckpoint(writer_.handle(), 1000);  // replaces our hook
  {
    std::lock_guard lk(mutex_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

std::int64_t wal_checkpointer::checkpoints() const {
  std::lock_guard lk(mutex_);
  return checkpoints_;
}

// Runs on the writer's thread after each commit, outside the transaction.
int wal_checkpointer::on_commit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* c = static_cast<wal_checkpointer*>(self);
  if (wal_pages >= 4LL * c->threshold_) {  // the thread cannot keep up: do it here, as SQLite would
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  if (wal_pages >= c->threshold_) {
    {
      std::lock_guard lk(c->mutex_);
      c->due_ = true;
    }
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

void wal_checkpointer::run() {
  std::unique_lock lk(mutex_);
  for (;;) {
    cv_.wait(lk, [&] { return due_ || stop_; });
    if (stop_) return;
    due_ = false;
    lk.unlock();
    // PASSIVE: copies what no reader still needs, never waits for or blocks the writer. A
    // busy or failed attempt is simply retried after the next commit past the threshold.
    const int rc = sqlite3_wal_checkpoint_v2(own_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                             nullptr, nullptr);
    lk.lock();
    if (rc == SQLITE_OK) ++checkpoints_;
  }
}

}  // namespace memoryd::sqlite
