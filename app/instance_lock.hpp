// Which SQLite files a running memoryd has open: `memoryd serve` holds a shared flock(2) on
// each database file for its whole life (SQLite's own locks are fcntl(2) locks, which are
// independent of flock on Linux), and `memoryd restore` takes an exclusive one before it
// replaces a file. Several services may share the files (shared locks); a restore cannot run
// beside any of them, and a service cannot start while a restore holds the files.
#pragma once

#include <string>
#include <vector>

namespace memoryd {

class file_lock {
 public:
  enum class mode { shared, exclusive };
  // Opens `path` (which must exist) and tries to lock it without waiting. Check held().
  file_lock(const std::string& path, mode m);
  ~file_lock();
  file_lock(file_lock&& o) noexcept : fd_(o.fd_), error_(std::move(o.error_)) { o.fd_ = -1; }
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  file_lock& operator=(file_lock&&) = delete;

  bool held() const { return fd_ >= 0; }
  // Why it is not held: "busy" when another process holds a conflicting lock, else errno text.
  const std::string& error() const { return error_; }
  bool busy() const { return error_ == "busy"; }

 private:
  int fd_ = -1;
  std::string error_;
};

}  // namespace memoryd
