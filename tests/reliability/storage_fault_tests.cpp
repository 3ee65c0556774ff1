// Storage faults against the real binary: a full disk (a small tmpfs), SQLITE_BUSY from an
// outside writer, and a read-only database (immutable files). During the fault ingest must
// answer 503, never 2xx without a commit; when the fault clears it must recover by itself.
// After each, the database is read directly: every acknowledged message is in it.
//
// The faults need root (mount, FS_IOC_SETFLAGS). Where a mechanism is unavailable the case
// warns and passes without running.
//
// SQLite only: each fault is one of SQLite's files (its disk, its lock, its file flags).
// PostgreSQL's faults (the server restarting or gone during ingest) are pg_outage_tests.cpp.
#include <fcntl.h>
#include <linux/fs.h>
#include <sqlite3.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/memoryd_service.hpp"
#include "tests/support/ro_db.hpp"

using namespace memoryd::testing;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// Acknowledged and refused ingests of one test, by external id.
struct ledger {
  std::set<std::string> acked;
  std::size_t refused = 0;  // 503
  std::size_t other = 0;    // anything else (a failure of the test)
  std::string last_other;
};

// One message; `pad` bytes of content make the disk fill faster.
int ingest(std::uint16_t port, ledger& l, const std::string& user, int n, std::size_t pad = 0) {
  std::string ext = user + "-" + std::to_string(n);
  std::string body = R"({"user_id":")" + user + R"(","role":"user","content":"message )" +
                     std::to_string(n) + " " + std::string(pad, 'p') + R"(","external_id":")" +
                     ext + "\"}";
  http_response r;
  try {
    r = http_request(port, "POST", "/v1/messages", body, "application/json", {}, 15s);
  } catch (const std::exception& e) {
    ++l.other;
    l.last_other = e.what();
    return 0;
  }
  if (r.status >= 200 && r.status < 300) {
    l.acked.insert(ext);
  } else if (r.status == 503) {
    ++l.refused;
  } else {
    ++l.other;
    l.last_other = std::to_string(r.status) + " " + r.body;
  }
  return r.status;
}

bool is_2xx(int status) { return status >= 200 && status < 300; }

// Ingests until one is acknowledged (the fault has cleared and the service noticed), at most
// `within`. Returns whether it recovered.
bool recovers(std::uint16_t port, ledger& l, const std::string& user, int& n,
              std::chrono::milliseconds within) {
  auto deadline = steady::now() + within;
  while (steady::now() < deadline) {
    int st = ingest(port, l, user, n++);
    if (st >= 200 && st < 300) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// The external ids stored for `user`, read from the database file directly.
std::set<std::string> stored_ids(const std::string& db_path, const std::string& user) {
  std::set<std::string> out;
  for (auto& r : ro_db(db_path).rows("SELECT external_id FROM messages WHERE user_id = ?1", {user}))
    out.insert(r[0]);
  return out;
}

// Every acknowledged message is stored (a 503 may or may not have been: the client retries).
void check_ledger(const ledger& l, const std::string& db_path, const std::string& user) {
  auto stored = stored_ids(db_path, user);
  std::size_t missing = 0;
  for (auto& id : l.acked)
    if (!stored.count(id)) ++missing;
  INFO("acknowledged " << l.acked.size() << ", refused " << l.refused << ", stored "
                       << stored.size() << ", other answers " << l.other
                       << " (last: " << l.last_other << ")");
  CHECK(missing == 0);
  CHECK(stored.size() >= l.acked.size());
  CHECK(l.other == 0);
}

std::vector<std::string> service_args(int busy_timeout_ms) {
  return {"--storage.busy_timeout_ms=" + std::to_string(busy_timeout_ms)};
}

// A mounted small tmpfs, unmounted (lazily, so a failure cannot leave it behind) on scope exit.
struct tmpfs_mount {
  std::string dir;
  bool mounted = false;
  int error = 0;
  tmpfs_mount(std::string d, const std::string& size) : dir(std::move(d)) {
    ::mkdir(dir.c_str(), 0700);
    std::string opts = "size=" + size + ",mode=0700";
    mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
    if (!mounted) error = errno;
  }
  ~tmpfs_mount() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
};

// Sets or clears FS_IMMUTABLE_FL: even root cannot write to an immutable file, including
// through a descriptor opened before (writes fail with EPERM).
bool set_immutable(const std::string& path, bool on) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  int flags = 0;
  bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  if (ok) {
    flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
    ok = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
  }
  ::close(fd);
  return ok;
}

// Clears the immutable flags on scope exit so the temporary directory can be removed.
struct immutable_files {
  std::vector<std::string> paths;
  ~immutable_files() {
    for (auto& p : paths) set_immutable(p, false);
  }
};

}  // namespace

TEST_CASE("a full disk makes ingest answer 503 and it recovers when space is freed",
          "[reliability][storage]") {
  temp_dir dir;
  tmpfs_mount fs(dir.file("small"), "2m");
  if (!fs.mounted) {
    WARN("SKIPPED: cannot mount a tmpfs (" << std::strerror(fs.error)
                                           << "): the disk-full fault needs root / CAP_SYS_ADMIN");
    return;
  }
  auto env = env_for(dir);
  env["CONVERSATION_DB_PATH"] = fs.dir + "/conversation.db";
  ledger l;
  int n = 0;
  const std::string filler = fs.dir + "/filler";
  {
    service svc(dir, env, service_args(200));
    for (int i = 0; i < 5; ++i) REQUIRE(is_2xx(ingest(svc.port, l, "disk", n++)));

    // Take every free byte.
    int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    const std::string block(4096, 'f');
    for (int i = 0; i < 4096; ++i)
      if (::write(fd, block.data(), block.size()) <= 0) break;
    for (int i = 0; i < 4096; ++i)
      if (::write(fd, block.data(), 1) <= 0) break;
    ::close(fd);

    // 16 KB messages: whatever slack the WAL has is used up within a few.
    std::size_t refused_before = l.refused;
    for (int i = 0; i < 60 && l.refused - refused_before < 5; ++i)
      ingest(svc.port, l, "disk", n++, 16 * 1024);
    INFO("during the fault: acknowledged " << l.acked.size() << ", refused " << l.refused);
    CHECK(l.refused - refused_before >= 5);
    CHECK(http_request(svc.port, "GET", "/healthz").status == 200);  // alive, not crashed

    ::unlink(filler.c_str());
    CHECK(recovers(svc.port, l, "disk", n, 5000ms));
    for (int i = 0; i < 5; ++i) CHECK(is_2xx(ingest(svc.port, l, "disk", n++, 1024)));
    CHECK(svc.stop() == 0);
  }
  check_ledger(l, env["CONVERSATION_DB_PATH"], "disk");
}

TEST_CASE("an outside writer holding the lock makes ingest answer 503 until it lets go",
          "[reliability][storage]") {
  temp_dir dir;
  auto env = env_for(dir);
  ledger l;
  int n = 0;
  {
    service svc(dir, env, service_args(200));
    for (int i = 0; i < 3; ++i) REQUIRE(is_2xx(ingest(svc.port, l, "busy", n++)));

    sqlite3* outside = nullptr;
    REQUIRE(sqlite3_open(dir.file("conversation.db").c_str(), &outside) == SQLITE_OK);
    sqlite3_busy_timeout(outside, 5000);
    REQUIRE(sqlite3_exec(outside, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
    // A write of its own, as a real writer would have.
    REQUIRE(sqlite3_exec(outside, "UPDATE messages SET channel = channel WHERE seq = 1", nullptr,
                         nullptr, nullptr) == SQLITE_OK);
    std::size_t refused_before = l.refused;
    auto t0 = steady::now();
    for (int i = 0; i < 5; ++i) ingest(svc.port, l, "busy", n++);
    auto per_request = (steady::now() - t0) / 5;
    INFO("while locked: refused "
         << l.refused - refused_before << " of 5, "
         << std::chrono::duration_cast<std::chrono::milliseconds>(per_request).count()
         << " ms each");
    CHECK(l.refused - refused_before == 5);
    CHECK(per_request < 3s);  // the busy timeout (200 ms) bounds the wait, not the lock holder

    REQUIRE(sqlite3_exec(outside, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(outside);
    CHECK(recovers(svc.port, l, "busy", n, 5000ms));
    for (int i = 0; i < 5; ++i) CHECK(is_2xx(ingest(svc.port, l, "busy", n++)));
    CHECK(svc.stop() == 0);
  }
  check_ledger(l, dir.file("conversation.db"), "busy");
}

TEST_CASE("a read-only database makes ingest answer 503 and it recovers when writable again",
          "[reliability][storage]") {
  temp_dir dir;
  auto env = env_for(dir);
  ledger l;
  int n = 0;
  const std::string db = dir.file("conversation.db");
  {
    service svc(dir, env, service_args(200));
    for (int i = 0; i < 3; ++i) REQUIRE(is_2xx(ingest(svc.port, l, "ro", n++)));

    // The database and its WAL become immutable. Not the -shm file: SQLite maps it, and a
    // store into a mapped page of an immutable file is SIGBUS, which no service survives
    // (nor is it what a read-only disk does to a running process).
    immutable_files guard;
    for (const auto& p : {db, db + "-wal"}) {
      if (!set_immutable(p, true)) {
        int err = errno;
        WARN("SKIPPED: cannot make " << p << " immutable (" << std::strerror(err)
                                     << "): the read-only fault needs root and a file system "
                                        "with FS_IMMUTABLE_FL (ext4, xfs, btrfs)");
        return;
      }
      guard.paths.push_back(p);
    }
    std::size_t refused_before = l.refused;
    for (int i = 0; i < 5; ++i) ingest(svc.port, l, "ro", n++);
    INFO("while read-only: refused " << l.refused - refused_before << " of 5");
    CHECK(l.refused - refused_before == 5);
    CHECK(http_request(svc.port, "GET", "/healthz").status == 200);

    for (auto& p : guard.paths) CHECK(set_immutable(p, false));
    guard.paths.clear();
    CHECK(recovers(svc.port, l, "ro", n, 5000ms));
    for (int i = 0; i < 5; ++i) CHECK(is_2xx(ingest(svc.port, l, "ro", n++)));
    CHECK(svc.stop() == 0);
  }
  check_ledger(l, db, "ro");
}
