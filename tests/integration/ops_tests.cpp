// Operating memoryd as a service: backup during ingest and restore, the restore refusing a
// running instance's files, systemd's notification protocol (READY, WATCHDOG, RELOADING,
// STOPPING) on a socket the test binds, and SIGHUP reloading the log level.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/memoryd_service.hpp"
#include "tests/support/process.hpp"
#include "tests/support/ro_db.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace memoryd::testing;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// A unix datagram socket standing in for systemd's NOTIFY_SOCKET.
class notify_socket {
 public:
  explicit notify_socket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path_.c_str(), path_.size());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~notify_socket() { ::close(fd_); }
  const std::string& path() const { return path_; }
  // The next datagram, or "" after `timeout`.
  std::string next(std::chrono::milliseconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  // Datagrams until one contains `needle` (returned) or `timeout` passes ("").
  std::string until(const std::string& needle, std::chrono::milliseconds timeout,
                    std::vector<std::string>* seen = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto d = next(100ms);
      if (d.empty()) continue;
      if (seen) seen->push_back(d);
      if (d.find(needle) != std::string::npos) return d;
    }
    return "";
  }

 private:
  std::string path_;
  int fd_ = -1;
};

std::string message_json(int i) {
  return R"({"user_id":"user)" + std::to_string(i % 7) +
         R"(","role":"user","content":"backup probe )" + std::to_string(i) +
         R"(: I live in Boston and I have a dog named Max."})";
}

std::int64_t count_of(const json::value& file, const char* table) {
  return file.as_object().at("counts").as_object().at(table).as_int64();
}

}  // namespace

TEST_CASE("backup during ingest keeps every acknowledged message and restores intact") {
  temp_dir dir;
  auto env = env_for(dir);
  env["MEMORY_PROCESSOR_ENABLED"] = "true";
  env["MEMORY_PROCESSOR_INTERVAL_MS"] = "100";  // facts are written during the backup too
  service svc(dir, env);

  std::mutex mu;
  std::vector<std::pair<std::chrono::steady_clock::time_point, int>> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  auto ingest = [&](int first) {
    for (int i = first; !stop; i += 2) {
      try {
        auto r = http_request(svc.port, "POST", "/v1/messages", message_json(i), "application/json");
        if (r.status != 202) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        acked.emplace_back(std::chrono::steady_clock::now(), i);
      } catch (const std::exception&) {
        ++failures;
      }
    }
  };
  std::thread a(ingest, 0), b(ingest, 1);
  auto acked_count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acked.size();
  };
  for (int i = 0; i < 200 && acked_count() < 300; ++i) std::this_thread::sleep_for(50ms);
  const auto backup_dir = dir.file("backup-1");
  const auto started = std::chrono::steady_clock::now();
  auto backup = run_command({binary, "backup", backup_dir}, env, "", 60s);
  const auto acked_during = acked_count();
  std::this_thread::sleep_for(200ms);  // ingest goes on after the backup, too
  stop = true;
  a.join();
  b.join();
  INFO(backup.err);
  REQUIRE(backup.exit_code == 0);
  CHECK(failures == 0);
  std::set<int> before;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [t, i] : acked)
      if (t < started) before.insert(i);
    INFO("acknowledged before the backup " << before.size() << ", in all " << acked.size());
    CHECK(before.size() >= 100);
    CHECK(acked.size() > before.size());  // ingest really ran during the backup
  }
  CHECK(acked_during > before.size());

  auto manifest = json::parse(backup.out).as_object();
  CHECK(manifest.at("format").as_string() == "memoryd-backup");
  auto& files = manifest.at("files").as_array();
  REQUIRE(files.size() == 2);
  CHECK(files[0].as_object().at("name").as_string() == "conversation.db");
  CHECK(files[0].as_object().at("sha256").as_string().size() == 64);
  CHECK(count_of(files[0], "messages") >= static_cast<std::int64_t>(before.size()));
  CHECK(files[1].as_object().at("name").as_string() == "memory.db");
  CHECK(fs::exists(backup_dir + "/manifest.json"));
  CHECK((fs::status(backup_dir).permissions() & fs::perms::others_all) == fs::perms::none);

  // A second backup into the same directory is refused.
  CHECK(run_command({binary, "backup", backup_dir}, env).exit_code == 2);

  // Restore while the service runs on those files: refused, nothing changed.
  auto refused = run_command({binary, "restore", backup_dir}, env);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("running memoryd") != std::string::npos);
  CHECK(svc.stop() == 0);

  // Restore into a fresh place (a new machine).
  temp_dir target;
  auto target_env = env_for(target);
  auto restored = run_command({binary, "restore", backup_dir}, target_env);
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  {
    ro_db conv(target.file("conversation.db"));
    CHECK(conv.one("PRAGMA integrity_check") == "ok");
    std::set<int> present;
    for (auto& row : conv.rows("SELECT content FROM messages")) {
      auto& c = row[0];
      auto colon = c.find(':');
      present.insert(std::stoi(c.substr(std::string("backup probe ").size(),
                                        colon - std::string("backup probe ").size())));
    }
    std::size_t missing = 0;
    for (int i : before) missing += present.count(i) == 0;
    CHECK(missing == 0);
    CHECK(std::to_string(present.size()) ==
          std::to_string(count_of(files[0], "messages")));
    ro_db mem(target.file("memory.db"));
    CHECK(mem.one("PRAGMA integrity_check") == "ok");
    CHECK(mem.one("SELECT count(*) FROM facts") ==
          std::to_string(count_of(files[1], "facts")));
  }
  // The restored files serve: the service starts on them and answers from them.
  {
    service again(target, target_env);
    auto msgs = messages_of(again.port, "user3");
    CHECK(!msgs.empty());
    CHECK(again.stop() == 0);
  }
  // Restoring over existing files moves them aside, WAL included.
  auto second = run_command({binary, "restore", backup_dir}, target_env);
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("before-restore-") != std::string::npos);
}

TEST_CASE("backup: restore verifies the manifest and refuses a damaged backup") {
  temp_dir dir;
  auto env = env_for(dir);
  {
    service svc(dir, env);
    CHECK(http_request(svc.port, "POST", "/v1/messages", message_json(1), "application/json")
              .status == 202);
    CHECK(svc.stop() == 0);
  }
  // Backup of a stopped service works the same.
  auto backup = run_command({binary, "backup", dir.file("b")}, env);
  REQUIRE(backup.exit_code == 0);
  temp_dir target;
  auto target_env = env_for(target);
  {  // one flipped byte in the middle of the copy
    std::fstream f(dir.file("b/memory.db"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(dir.file("b/memory.db")) / 2));
    f.put('\x5a');
  }
  auto r = run_command({binary, "restore", dir.file("b")}, target_env);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("sha256 differs") != std::string::npos);
  CHECK(!fs::exists(target.file("conversation.db")));  // nothing restored
  fs::remove(dir.file("b/manifest.json"));
  CHECK(run_command({binary, "restore", dir.file("b")}, target_env).exit_code == 1);
  CHECK(run_command({binary, "restore", dir.file("nowhere")}, target_env).exit_code == 1);
}

TEST_CASE("backup: on PostgreSQL it says to use pg_dump and exits non-zero") {
  temp_dir dir;
  auto env = env_for(dir);
  env["MEMORYD_STORAGE"] = "postgres";
  env["DATABASE_URL"] = "postgresql://memoryd@127.0.0.1:1/memoryd";
  auto r = run_command({binary, "backup", dir.file("b")}, env);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("pg_dump") != std::string::npos);
  CHECK(!fs::exists(dir.file("b")));
  CHECK(run_command({binary, "restore", dir.file("b")}, env).exit_code == 2);
}

TEST_CASE("sd_notify: READY once listening, WATCHDOG while healthy, RELOADING and STOPPING") {
  temp_dir dir;
  notify_socket sock(dir.file("notify.sock"));
  auto env = env_for(dir);
  env["NOTIFY_SOCKET"] = sock.path();
  // 1 s: keep-alives every 0.5 s, each after the pipeline answered within 0.25 s (generous
  // enough for the sanitizer builds).
  env["WATCHDOG_USEC"] = "1000000";
  service svc(dir, env);
  auto ready = sock.until("READY=1", 5s);
  REQUIRE(!ready.empty());
  CHECK(ready.find("MAINPID=") != std::string::npos);
  // READY means the databases are open and the listener is up.
  CHECK(http_request(svc.port, "GET", "/healthz").status == 200);
  int fed = 0;
  for (int i = 0; i < 3; ++i) fed += !sock.until("WATCHDOG=1", 3s).empty();
  CHECK(fed == 3);
  svc.proc.signal(SIGHUP);
  std::vector<std::string> seen;
  CHECK(!sock.until("RELOADING=1", 5s, &seen).empty());
  CHECK(!sock.until("READY=1", 5s, &seen).empty());
  svc.proc.signal(SIGTERM);
  CHECK(!sock.until("STOPPING=1", 5s).empty());
  auto rc = svc.proc.wait(20s);
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
}

TEST_CASE("sd_notify: no watchdog keep-alives without WATCHDOG_USEC or for another pid") {
  for (std::string pid : {"", "1"}) {
    temp_dir dir;
    notify_socket sock(dir.file("notify.sock"));
    auto env = env_for(dir);
    env["NOTIFY_SOCKET"] = sock.path();
    if (!pid.empty()) {
      env["WATCHDOG_USEC"] = "100000";
      env["WATCHDOG_PID"] = pid;  // systemd's, not ours
    }
    service svc(dir, env);
    CHECK(!sock.until("READY=1", 5s).empty());
    CHECK(sock.until("WATCHDOG=1", 1s).empty());
    CHECK(svc.stop() == 0);
  }
  // And nothing breaks without NOTIFY_SOCKET at all: the other tests run that way.
}

TEST_CASE("SIGHUP reloads the log level and names what needs a restart") {
  temp_dir dir;
  const auto file = dir.file("memoryd.toml");
  std::ofstream(file) << "[log]\nlevel = \"info\"\n";
  auto env = env_for(dir);
  service svc(dir, env, {"--config", file});
  std::ofstream(file, std::ios::trunc) << "[log]\nlevel = \"debug\"\n[server]\nio_threads = 3\n";
  svc.proc.signal(SIGHUP);
  REQUIRE(svc.proc.wait_for_output("\"reload_complete\"", 10s));
  auto out = svc.proc.out();
  CHECK(out.find("\"log_level_changed\"") != std::string::npos);
  CHECK(out.find("\"to\":\"debug\"") != std::string::npos);
  CHECK(out.find("\"reload_needs_restart\"") != std::string::npos);
  CHECK(out.find("server.io_threads") != std::string::npos);
  // A file that no longer parses: the service keeps running with what it has.
  std::ofstream(file, std::ios::trunc) << "[log\n";
  svc.proc.signal(SIGHUP);
  REQUIRE(svc.proc.wait_for_output("\"reload_failed\"", 10s));
  CHECK(http_request(svc.port, "GET", "/healthz").status == 200);
  CHECK(svc.stop() == 0);
}
