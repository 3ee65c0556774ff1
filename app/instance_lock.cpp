#include "app/instance_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace memoryd {

file_lock::file_lock(const std::string& path, mode m) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error_ = std::strerror(errno);
    return;
  }
  if (::flock(fd, (m == mode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    error_ = errno == EWOULDBLOCK ? "busy" : std::strerror(errno);
    ::close(fd);
    return;
  }
  fd_ = fd;
}

// Closing the descriptor drops the flock. It would also drop this process's fcntl locks on
// the file (POSIX), so a service closes it only after its SQLite connections are closed.
file_lock::~file_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace memoryd
