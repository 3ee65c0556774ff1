// Crash suite against the real binary: kill -9 during ingest. Short configuration by default;
// MEMORYD_RELIABILITY_FULL=1 runs the full one (docs/RELIABILITY.md). MEMORYD_RELIABILITY_SEED
// picks the random kill moments. Runs on both storage backends (FOR_EACH_SERVICE_BACKEND) and
// reads what was stored with stored_db after the last stop; on PostgreSQL that is issue 15's
// durability claim (a 2xx only after COMMIT). PRAGMA integrity_check is SQLite's file-level
// check and runs only there.
#include <signal.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/reliability/crash_support.hpp"
#include "tests/support/stored_db.hpp"

using namespace memoryd::testing;
namespace json = boost::json;

namespace {

// A load client: several threads post messages with unique external ids (Twilio form posts
// and JSON, alternately) to whatever port memoryd has now, and record which were
// acknowledged. A failed post is redelivered (same id) up to twice, as Twilio would.
class load_client {
 public:
  load_client(int threads, int users, const std::string& prefix) {
    for (int t = 0; t < threads; ++t)
      threads_.emplace_back([this, t, users, prefix] { run(t, users, prefix); });
  }
  ~load_client() { stop(); }
  void set_port(std::uint16_t p) { port_ = p; }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  std::set<std::string> acked() const {
    std::lock_guard lock(m_);
    return acked_;
  }
  std::set<std::string> sent() const {
    std::lock_guard lock(m_);
    return sent_;
  }

 private:
  void run(int t, int users, const std::string& prefix) {
    for (int n = 0; !stop_ && n < 1000000; ++n) {
      const std::string id = prefix + std::to_string(t) + "x" + std::to_string(n);
      const int user = (t * 7919 + n) % users;
      {
        std::lock_guard lock(m_);
        sent_.insert(id);
      }
      for (int attempt = 0; attempt < 3 && !stop_; ++attempt) {
        bool ok = false;
        try {
          if (n % 2 == 0) {
            std::string form = "From=whatsapp%3A%2B1555000" + std::to_string(1000 + user) +
                               "&To=%2B15550000000&Body=I+have+a+dog+named+Max+number+" +
                               std::to_string(n) + "&MessageSid=" + id + "&NumMedia=0";
            ok = twilio(port_, form).status == 200;
          } else {
            auto body =
                json::serialize(json::object{{"user_id", "api-" + std::to_string(user)},
                                             {"role", "user"},
                                             {"content", "I live in Boston and I like tea."},
                                             {"external_id", id}});
            ok = http_request(port_, "POST", "/v1/messages", body, "application/json", {}, 5s)
                     .status == 202;
          }
        } catch (const std::exception&) {
        }
        if (ok) {
          std::lock_guard lock(m_);
          acked_.insert(id);
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
    }
  }

  std::atomic<std::uint16_t> port_{0};
  std::atomic<bool> stop_{false};
  mutable std::mutex m_;
  std::set<std::string> acked_, sent_;
  std::vector<std::thread> threads_;
};

}  // namespace

TEST_CASE("kill -9 during ingest loses no acknowledged message and duplicates none") {
  FOR_EACH_SERVICE_BACKEND(b);
  const int kills = full_run() ? 12 : 3;
  std::mt19937_64 rng(seed());
  temp_dir dir;
  auto env = base_env(b, dir);
  env["MEMORY_PROCESSOR_ENABLED"] = "true";  // the rules pipeline writes memory.db meanwhile
  env["MEMORY_PROCESSOR_INTERVAL_MS"] = "100";
  env["MEMORY_PROCESSOR_LEASE_MS"] = "2000";
  env["MEMORY_PROCESSOR_RETRY_BASE_MS"] = "100";
  auto svc = std::make_unique<service>(dir, env);
  load_client load(4, 40, "SM");
  load.set_port(svc->port);
  std::vector<std::size_t> acked_at_kill;
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 700));
    svc->proc.signal(SIGKILL);
    CHECK_FALSE(svc->proc.wait(10s).has_value());  // died by the signal
    acked_at_kill.push_back(load.acked().size());
    svc = std::make_unique<service>(dir, env);  // the same files
    load.set_port(svc->port);
  }
  std::this_thread::sleep_for(300ms);
  load.stop();
  CHECK(svc->stop() == 0);
  svc.reset();

  auto acked = load.acked();
  auto sent = load.sent();
  std::map<std::string, int> stored;
  for (auto& r : stored_db(b, dir).rows(stored::conversations,
                                        "SELECT external_id, count(*) FROM messages "
                                        "WHERE external_id IS NOT NULL GROUP BY external_id"))
    stored[r[0]] = std::stoi(r[1]);
  std::size_t lost = 0, doubled = 0, unknown = 0;
  std::ostringstream notes;
  for (auto& id : acked) {
    auto it = stored.find(id);
    if (it == stored.end()) {
      if (++lost <= 5) notes << "acknowledged but lost: " << id << "\n";
    }
  }
  for (auto& [id, n] : stored) {
    if (n != 1 && ++doubled <= 5) notes << "stored " << n << " times: " << id << "\n";
    if (!sent.count(id)) ++unknown;
  }
  INFO("seed " << seed() << ", kills " << kills << ", sent " << sent.size() << ", acked "
               << acked.size() << ", stored " << stored.size());
  WARN("kill -9 during ingest (" << b.name() << "): kills=" << kills << " sent=" << sent.size()
                                 << " acked=" << acked.size() << " stored=" << stored.size()
                                 << " lost=" << lost << " doubled=" << doubled);
  CHECK(acked.size() > static_cast<std::size_t>(kills) * 10);  // there was load at each kill
  INFO(notes.str());
  CHECK(lost == 0);
  CHECK(doubled == 0);
  CHECK(unknown == 0);
  check_integrity(b, dir);
}
