// Hostile HTTP against the real binary: slowloris, a 10 MB body, 16 KB of headers, 2,000 idle
// connections, pipelined garbage, invalid UTF-8 and deeply nested JSON, while a legitimate
// client keeps ingesting alongside. memoryd's memory must stay bounded, every hostile
// connection must be closed by its deadline, every acknowledged message must be stored, and
// the legitimate requests must keep their p99 under 50 ms.
//
// Default: one round of each attack (about 10 s). MEMORYD_RELIABILITY_FULL=1: more rounds and
// more slow clients.
//
// SQLite only: the attacks are on the HTTP server, the same code in front of either backend;
// ingest on PostgreSQL under load and faults is multi_instance_tests.cpp and
// pg_outage_tests.cpp.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/memoryd_service.hpp"
#include "tests/support/reliability.hpp"
#include "tests/support/ro_db.hpp"

using namespace memoryd::testing;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto kReadTimeout = 1000ms;  // server.read_timeout_ms for this suite
constexpr auto kIdleTimeout = 2000ms;  // server.idle_timeout_ms
// How late a close may come after its deadline on a loaded 2-core CI machine.
constexpr auto kCloseSlack = 1500ms;
constexpr long kRssGrowthLimitKb = 50 * 1024;
constexpr double kP99LimitMs = 50.0;

// The memoryd started by this process (our child, found through /proc).
pid_t memoryd_pid() {
  pid_t found = -1;
  DIR* d = opendir("/proc");
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream status("/proc/" + std::string(e->d_name) + "/status");
    std::string line, name;
    pid_t ppid = -1;
    while (std::getline(status, line)) {
      if (line.rfind("Name:", 0) == 0) name = line.substr(line.find_first_not_of(" \t", 5));
      if (line.rfind("PPid:", 0) == 0) ppid = static_cast<pid_t>(std::atoi(line.c_str() + 5));
    }
    if (ppid == getpid() && name == "memoryd") found = pid;
  }
  closedir(d);
  return found;
}

long vm_rss_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// A raw loopback TCP connection, non-blocking after connect.
class raw_conn {
 public:
  explicit raw_conn(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::to_string(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      int err = errno;
      ::close(fd_);
      throw std::runtime_error("connect: " + std::to_string(err));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    opened_ = steady::now();
  }
  ~raw_conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  raw_conn(const raw_conn&) = delete;
  raw_conn& operator=(const raw_conn&) = delete;

  int fd() const { return fd_; }
  steady::time_point opened() const { return opened_; }
  bool closed() const { return closed_; }
  steady::time_point closed_at() const { return closed_at_; }
  const std::string& received() const { return in_; }

  // Sends what the socket takes now (never blocks); false once the peer is gone.
  bool send_some(std::string_view data, std::size_t* sent = nullptr) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        n = 0;
      else
        return false;
    }
    if (sent) *sent = static_cast<std::size_t>(n);
    return true;
  }

  // Reads what is there; notes EOF / reset as the close time. Keeps at most 64 KiB.
  void drain() {
    if (closed_) return;
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        if (in_.size() < 65536) in_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      closed_ = true;  // 0: EOF; else reset
      closed_at_ = steady::now();
      return;
    }
  }

 private:
  int fd_ = -1;
  steady::time_point opened_, closed_at_;
  bool closed_ = false;
  std::string in_;
};

// Polls `conns` until every one is closed by the server or `deadline` passes.
void wait_all_closed(std::vector<std::unique_ptr<raw_conn>>& conns, steady::time_point deadline) {
  while (steady::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<raw_conn*> open;
    for (auto& c : conns) {
      if (c->closed()) continue;
      fds.push_back({c->fd(), POLLIN, 0});
      open.push_back(c.get());
    }
    if (fds.empty()) return;
    int r = ::poll(fds.data(), fds.size(), 50);
    if (r <= 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents != 0) open[i]->drain();
  }
}

// The longest time from open to the server's close; `unclosed` counts those still open.
std::chrono::milliseconds longest_life(const std::vector<std::unique_ptr<raw_conn>>& conns,
                                       std::size_t& unclosed) {
  unclosed = 0;
  steady::duration worst{};
  for (auto& c : conns) {
    if (!c->closed()) {
      ++unclosed;
      continue;
    }
    worst = std::max(worst, c->closed_at() - c->opened());
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(worst);
}

int status_of(const std::string& raw) {
  // "HTTP/1.1 413 ..." -> 413; 0 when there is no status line.
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return 0;
  return std::atoi(raw.c_str() + 9);
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size()))
    ++n;
  return n;
}

// The attack under way, for attributing the legitimate client's slow answers.
std::atomic<int> current_phase{0};
const char* const phase_names[] = {"none",          "slowloris",     "10 MB body",
                                   "16 KB headers", "garbage",       "utf8",
                                   "nested json",   "idle: opening", "idle: held until closed"};

// Ingests one message per 5 ms on a fresh connection each time, until stopped, and
// records each answer's latency. Acknowledged external ids are remembered.
class legit_client {
 public:
  explicit legit_client(std::uint16_t port) : port_(port), thread_([this] { run(); }) {}
  ~legit_client() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<double> latencies_ms() const {
    std::lock_guard<std::mutex> lock(mu_);
    return latencies_;
  }
  // "phase: n requests, max X ms" for each attack the client ran alongside.
  std::string by_phase() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (int p = 0; p < static_cast<int>(std::size(phase_names)); ++p) {
      double worst = 0;
      std::size_t n = 0;
      for (std::size_t i = 0; i < latencies_.size(); ++i) {
        if (phases_[i] != p) continue;
        ++n;
        worst = std::max(worst, latencies_[i]);
      }
      if (n == 0) continue;
      out += std::string(out.empty() ? "" : "; ") + phase_names[p] + ": " + std::to_string(n) +
             " requests, max " + std::to_string(static_cast<int>(worst)) + " ms";
    }
    return out;
  }
  std::size_t acked() const { return acked_; }
  std::size_t failed() const { return failed_; }
  const std::string& last_failure() const { return last_failure_; }

 private:
  void run() {
    for (int i = 0; !stop_; ++i) {
      std::string body = R"({"user_id":"legit","role":"user","content":"message )" +
                         std::to_string(i) + R"(","external_id":"legit-)" + std::to_string(i) +
                         "\"}";
      auto t0 = steady::now();
      int phase = current_phase.load();
      try {
        auto r = http_request(port_, "POST", "/v1/messages", body, "application/json", {}, 5s);
        auto ms = std::chrono::duration<double, std::milli>(steady::now() - t0).count();
        {
          std::lock_guard<std::mutex> lock(mu_);
          latencies_.push_back(ms);
          phases_.push_back(phase);
        }
        if (r.status >= 200 && r.status < 300) {
          ++acked_;
        } else {
          ++failed_;
          last_failure_ = std::to_string(r.status) + " " + r.body;
        }
      } catch (const std::exception& e) {
        ++failed_;
        last_failure_ = e.what();
      }
      std::this_thread::sleep_for(5ms);
    }
  }

  std::uint16_t port_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<double> latencies_;
  std::vector<int> phases_;
  std::atomic<std::size_t> acked_{0}, failed_{0};
  std::string last_failure_;
  std::thread thread_;
};

// Messages of `user` in the database, read directly (the service is stopped).
std::size_t count_stored(const std::string& db_path, const std::string& user) {
  return std::stoul(ro_db(db_path).one("SELECT count(*) FROM messages WHERE user_id = ?1", {user}));
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[idx];
}

// The 1-minute load average.
double load_average() {
  std::ifstream f("/proc/loadavg");
  double v = 0;
  f >> v;
  return v;
}

// Raises the soft RLIMIT_NOFILE to the hard one (memoryd inherits it); returns the soft limit.
rlim_t raise_nofile() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur;
}

//--- the attacks; each returns when every connection it opened is closed or overdue

// Slow clients: a request line, then one header byte every 100 ms (or a complete header and
// a body dribbled at the same pace). The read deadline counts from accept.
void slowloris(std::uint16_t port, int clients) {
  std::vector<std::unique_ptr<raw_conn>> conns;
  for (int i = 0; i < clients; ++i) {
    conns.push_back(std::make_unique<raw_conn>(port));
    if (i % 2 == 0) {
      conns.back()->send_some("POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    } else {
      conns.back()->send_some(
          "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          "Content-Length: 1000\r\n\r\n{\"user_id\":\"slow\",");
    }
  }
  auto deadline = steady::now() + kReadTimeout + kCloseSlack + 1s;
  while (steady::now() < deadline) {
    bool any_open = false;
    for (auto& c : conns) {
      c->drain();
      if (c->closed()) continue;
      any_open = true;
      c->send_some("a");
    }
    if (!any_open) break;
    std::this_thread::sleep_for(100ms);
  }
  std::size_t unclosed = 0;
  auto worst = longest_life(conns, unclosed);
  INFO("slowloris: " << clients << " clients, longest " << worst.count() << " ms");
  CHECK(unclosed == 0);
  CHECK(worst <= kReadTimeout + kCloseSlack);
  for (auto& c : conns) {
    // Closed at the deadline, or answered 408: never a success and never a stored message.
    int st = status_of(c->received());
    CHECK((st == 0 || st == 408 || st == 400));
  }
}

// A body announced as 10 MB (Content-Length, and chunked), written as fast as the server
// takes it: 413 before the body is read, then the connection is closed.
void huge_body(std::uint16_t port) {
  const std::size_t total = 10 * 1024 * 1024;
  const std::string chunk(64 * 1024, 'x');
  for (bool chunked : {false, true}) {
    raw_conn c(port);
    std::string head =
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    head += chunked ? "Transfer-Encoding: chunked\r\n\r\n"
                    : "Content-Length: " + std::to_string(total) + "\r\n\r\n";
    REQUIRE(c.send_some(head));
    std::string piece = chunked ? "10000\r\n" + chunk + "\r\n" : chunk;
    std::size_t written = 0;
    auto deadline = steady::now() + 10s;
    while (written < total && !c.closed() && steady::now() < deadline) {
      std::size_t n = 0;
      if (!c.send_some(piece, &n)) break;  // reset: the server is gone from this connection
      written += n;
      c.drain();
      if (n == 0) {
        pollfd p{c.fd(), POLLOUT | POLLIN, 0};
        ::poll(&p, 1, 20);
      }
    }
    auto deadline_close = steady::now() + 2000ms + kCloseSlack;  // the server's linger bound
    while (!c.closed() && steady::now() < deadline_close) {
      c.drain();
      std::this_thread::sleep_for(5ms);
    }
    INFO("10 MB body (" << (chunked ? "chunked" : "content-length") << "): wrote " << written
                        << " bytes, got: " << c.received().substr(0, 200));
    CHECK(status_of(c.received()) == 413);
    CHECK(c.closed());
  }
}

void big_headers(std::uint16_t port) {
  std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 16; ++i)
    req += "X-Pad-" + std::to_string(i) + ": " + std::string(1000, 'h') + "\r\n";
  req += "\r\n";
  auto t0 = steady::now();
  auto out = raw_exchange(port, req, 5s);
  INFO("16 KB headers: " << out.substr(0, 200));
  CHECK(status_of(out) == 431);
  CHECK(steady::now() - t0 < 4s);  // closed, not left to time out
}

void pipelined_garbage(std::uint16_t port) {
  std::string ok = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string bytes = ok + ok + ok + std::string("\x00\x01\xff garbage \r\n\r\n", 16) + ok;
  auto t0 = steady::now();
  auto out = raw_exchange(port, bytes, 5s);
  INFO("pipelined garbage: " << out);
  CHECK(count_of(out, "HTTP/1.1 200") == 3);
  CHECK(count_of(out, "HTTP/1.1 400") == 1);
  CHECK(steady::now() - t0 < 4s);  // the connection was closed after the 400

  // Pure garbage, and an endless request line.
  out = raw_exchange(port, std::string(4096, '\x7f') + "\r\n\r\n", 5s);
  CHECK(status_of(out) == 400);
  out = raw_exchange(port, "GET /" + std::string(20000, 'a'), 5s);
  CHECK((status_of(out) == 431 || status_of(out) == 400 || status_of(out) == 414 || out.empty()));
}

void invalid_utf8(std::uint16_t port) {
  auto r =
      http_request(port, "POST", "/v1/messages",
                   "{\"user_id\":\"utf8\",\"role\":\"user\",\"content\":\"bad \xC3\x28 \xFF\"}",
                   "application/json");
  CHECK(r.status == 400);
  r = http_request(port, "POST", "/v1/messages",
                   "{\"user_id\":\"ut\xF0\x9F\x98\",\"role\":\"user\",\"content\":\"x\"}",
                   "application/json");
  CHECK(r.status == 400);
  r = twilio(port, "From=%2B15550001111&Body=%FF%FE%C3%28&MessageSid=SMutf8");
  CHECK(r.status == 400);
  r = http_request(port, "GET", "/v1/users/%FF%FE/messages");
  CHECK(r.status == 400);
}

void nested_json(std::uint16_t port) {
  const std::size_t depth = 30000;  // 60 KB, under the 64 KiB body limit
  for (const auto& [open, close] : {std::pair<std::string, std::string>{"[", "]"},
                                    std::pair<std::string, std::string>{"{\"a\":", "}"}}) {
    std::string body;
    std::size_t n = open.size() == 1 ? depth : depth / 6;
    for (std::size_t i = 0; i < n; ++i) body += open;
    body += "1";
    for (std::size_t i = 0; i < n; ++i) body += close;
    auto r = http_request(port, "POST", "/v1/messages", body, "application/json");
    CHECK(r.status == 400);
    r = http_request(port, "POST", "/v1/users/nested/facts", body, "application/json");
    CHECK(r.status == 400);
  }
}

// Connections that send nothing: held until the read deadline, then closed. While they are
// open the legitimate client must still be served.
void idle_connections(std::uint16_t port, int count) {
  std::vector<std::unique_ptr<raw_conn>> conns;
  conns.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) conns.push_back(std::make_unique<raw_conn>(port));
  current_phase = 8;
  // The last ones were accepted later than they were connected when the accept queue was
  // deep: allow for that in the slack.
  wait_all_closed(conns, steady::now() + kReadTimeout + kCloseSlack + 2s);
  std::size_t unclosed = 0;
  auto worst = longest_life(conns, unclosed);
  std::size_t refused = 0;
  for (auto& c : conns)
    if (status_of(c->received()) == 503) ++refused;
  INFO(count << " idle connections: longest " << worst.count() << " ms, " << unclosed
             << " not closed, " << refused << " refused with 503");
  CHECK(unclosed == 0);
  CHECK(worst <= kReadTimeout + kCloseSlack + 1s);
  CHECK(refused == 0);  // max_connections is above the count: every one was held
}

}  // namespace

TEST_CASE("hostile clients leave memory bounded, connections closed and p99 low",
          "[reliability][hostile][serial]") {
  const bool full = full_run();
  int idle_count = 2000;
  rlim_t nofile = raise_nofile();
  if (nofile < static_cast<rlim_t>(2 * idle_count + 256)) {
    WARN("RLIMIT_NOFILE is " << nofile
                             << ": 2,000 idle connections need about 4,300 descriptors "
                                "(test and service); using fewer");
    idle_count = static_cast<int>(nofile > 600 ? (nofile - 256) / 2 : 100);
  }

  temp_dir dir;
  service svc(dir, env_for(dir),
              {"--server.read_timeout_ms=" + std::to_string(kReadTimeout.count()),
               "--server.idle_timeout_ms=" + std::to_string(kIdleTimeout.count()),
               "--server.max_connections=2200", "--server.io_threads=2"});
  pid_t pid = memoryd_pid();
  REQUIRE(pid > 0);

  // Warm up (threads, SQLite page cache, allocator arenas), then the baseline.
  for (int i = 0; i < 50; ++i)
    REQUIRE(http_request(
                svc.port, "POST", "/v1/messages",
                R"({"user_id":"warm","role":"user","content":"hello )" + std::to_string(i) + "\"}",
                "application/json")
                .status == 202);
  std::this_thread::sleep_for(200ms);
  const long rss_before = vm_rss_kb(pid);
  long rss_peak = rss_before;
  REQUIRE(rss_before > 0);

  auto t_start = steady::now();
  legit_client legit(svc.port);
  // A second of the legitimate client alone: how this machine answers without an attack.
  std::this_thread::sleep_for(1s);
  const double baseline_p99 = percentile(legit.latencies_ms(), 0.99);
  const int rounds = full ? 5 : 1;
  for (int round = 0; round < rounds; ++round) {
    current_phase = 1;
    slowloris(svc.port, full ? 400 : 100);
    rss_peak = std::max(rss_peak, vm_rss_kb(pid));
    current_phase = 2;
    huge_body(svc.port);
    current_phase = 3;
    big_headers(svc.port);
    current_phase = 4;
    pipelined_garbage(svc.port);
    current_phase = 5;
    invalid_utf8(svc.port);
    current_phase = 6;
    nested_json(svc.port);
    rss_peak = std::max(rss_peak, vm_rss_kb(pid));
    current_phase = 7;
    idle_connections(svc.port, idle_count);
    rss_peak = std::max(rss_peak, vm_rss_kb(pid));
    current_phase = 0;
  }
  std::this_thread::sleep_for(300ms);
  legit.stop();
  const long rss_after = vm_rss_kb(pid);
  auto lat = legit.latencies_ms();
  double p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99);
  double max = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
  auto secs = std::chrono::duration<double>(steady::now() - t_start).count();
  WARN("hostile http: " << secs << " s, legit requests " << lat.size() << " (acked "
                        << legit.acked() << ", failed " << legit.failed() << "), p50 " << p50
                        << " ms, p99 " << p99 << " ms, max " << max << " ms; VmRSS before "
                        << rss_before << " kB, peak " << rss_peak << " kB, after " << rss_after
                        << " kB; p99 before the attacks " << baseline_p99
                        << " ms; by attack: " << legit.by_phase());

  CHECK(lat.size() >= 200);
  INFO("last legit failure: " << legit.last_failure());
  CHECK(legit.failed() == 0);
  // The 50 ms bound is about memoryd, not about a machine that is busy with something else
  // (parallel builds, fuzzers): judged only when the machine itself answers fast.
  const double load = load_average();
  const double cores = static_cast<double>(std::max(1u, std::thread::hardware_concurrency()));
  if (baseline_p99 < kP99LimitMs / 2 && load < 2 * cores) {
    CHECK(p99 < kP99LimitMs);
  } else {
    WARN("NOT JUDGED: p99 " << p99 << " ms; the machine is too loaded to judge it (p99 "
                            << baseline_p99 << " ms before any attack, load average " << load
                            << " on " << cores << " cores)");
  }
  CHECK(rss_after - rss_before < kRssGrowthLimitKb);
  CHECK(rss_peak - rss_before < kRssGrowthLimitKb);

  // Still healthy, and every acknowledged legitimate message is stored.
  CHECK(http_request(svc.port, "GET", "/healthz").status == 200);
  CHECK(svc.stop() == 0);
  CHECK(count_stored(dir.file("conversation.db"), "legit") == legit.acked());
}
