// The PostgreSQL server goes away under two memoryd instances during continuous ingest
// (issue 15): a restart, then an outage of a few seconds. No request may be acknowledged
// without a commit; requests meanwhile get a 503 (JSON error) or no answer; /readyz turns
// false and back to true; the instances recover by themselves (they are never restarted)
// and the processor finishes what was in flight and what came after. The test runs its own
// cluster: under ctest -j the shared one serves other suites at the same time.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/fault_llm.hpp"
#include "tests/support/pg_instances.hpp"

using namespace memoryd::testing;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace {

struct answer {
  std::string id;
  steady::time_point start, end;
  int status = 0;           // 0: no answer (refused, reset, timeout)
  bool json_error = false;  // the body is {"error": {"code": ...}}
};

bool is_json_error(const std::string& body) {
  try {
    auto doc = json::parse(body);
    return doc.at("error").at("code").is_string();
  } catch (const std::exception&) {
    return false;
  }
}

// Single-message JSON ingests with unique external ids from several threads, alternating
// between the instances, never resent: each answer is recorded as it came.
class ledger_client {
 public:
  ledger_client(instance_set& set, int threads, int users) {
    for (int t = 0; t < threads; ++t)
      threads_.emplace_back([this, &set, t, threads, users] { run(set, t, threads, users); });
  }
  ~ledger_client() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& th : threads_)
      if (th.joinable()) th.join();
  }
  std::vector<answer> answers() const {
    std::lock_guard lock(m_);
    return answers_;
  }

 private:
  void run(instance_set& set, int t, int threads, int users) {
    for (int n = 0; !stop_ && n < 100000; ++n) {
      char id[32], user[16];
      std::snprintf(id, sizeof id, "O%dx%d", t, n);
      std::snprintf(user, sizeof user, "U%03d", (n * threads + t) % users);
      const auto body = json::serialize(
          json::object{{"user_id", user},
                       {"role", "user"},
                       {"content", std::string("Note usr-") + user + " msg-" + id + " ok."},
                       {"external_id", id}});
      answer a;
      a.id = id;
      a.start = steady::now();
      try {
        auto r = http_request(set.port((n + t) % set.size()), "POST", "/v1/messages", body,
                              "application/json", {}, 10s);
        a.status = r.status;
        a.json_error = is_json_error(r.body);
      } catch (const std::exception&) {
      }
      a.end = steady::now();
      {
        std::lock_guard lock(m_);
        answers_.push_back(std::move(a));
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  std::atomic<bool> stop_{false};
  mutable std::mutex m_;
  std::vector<answer> answers_;
  std::vector<std::thread> threads_;
};

int readyz(std::uint16_t port) {
  try {
    return http_request(port, "GET", "/readyz", "", "", {}, 5s).status;
  } catch (const std::exception&) {
    return 0;
  }
}

struct window {
  steady::time_point from, to;  // the server was down (stopped) from `from` to `to`
};

}  // namespace

TEST_CASE(
    "PostgreSQL server restart and outage during ingest: no 2xx without a commit, "
    "recovery without a restart",
    "[pg][outage]") {
  private_pg_cluster cluster;
  const std::string url = cluster.fresh_database();
  // Every call succeeds after 200 ms: extractions are in flight when the server goes away.
  fault_llm llm(
      [](const std::string&, const std::string& body) {
        fault_reply r;
        r.body = llm_adds_reply(body);
        r.delay = 200ms;
        return r;
      },
      llm_user_key);
  temp_dir scratch;
  auto env = pg_instance_env(scratch, url, llm.url());
  env["EXTRACTOR_POOL_SIZE"] = "2";
  env["LLM_TIMEOUT_MS"] = "5000";
  // A lease far longer than the recovery bound below: work interrupted by the outage must
  // not wait for its lease to end.
  const auto lease = 120s;
  env["MEMORY_PROCESSOR_LEASE_MS"] = std::to_string(lease.count() * 1000);
  env["MEMORY_PROCESSOR_INTERVAL_MS"] = "100";
  env["MEMORY_PROCESSOR_RETRY_BASE_MS"] = "200";
  env["MEMORY_PROCESSOR_RETRY_MAX_MS"] = "1000";
  instance_set set(2, env);
  ledger_client client(set, 4, 40);

  std::this_thread::sleep_for(1500ms);
  // Round 1: a restart (stop, start at once).
  std::vector<window> down;
  cluster.down();
  down.push_back({steady::now(), {}});
  cluster.up();
  down.back().to = steady::now();
  std::this_thread::sleep_for(1500ms);
  // Round 2: an outage of 2.5 s, /readyz polled meanwhile.
  cluster.down();
  down.push_back({steady::now(), {}});
  std::vector<bool> not_ready(2, false), ready_while_down(2, false);
  const auto outage_end = steady::now() + 2500ms;
  while (steady::now() < outage_end) {
    for (int i = 0; i < 2; ++i) {
      const int st = readyz(set.port(i));
      if (st == 503) not_ready[i] = true;
      if (st == 200) ready_while_down[i] = true;
    }
    std::this_thread::sleep_for(100ms);
  }
  down.back().to = steady::now();
  cluster.up();
  const auto up_at = steady::now();
  double ready_after = -1;
  while (ready_after < 0 && steady::now() - up_at < 20s) {
    if (readyz(set.port(0)) == 200 && readyz(set.port(1)) == 200)
      ready_after = std::chrono::duration<double>(steady::now() - up_at).count();
    else
      std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(2s);  // ingest after the recovery
  client.stop();
  const double drained_after = wait_pg_drained(url, 30s);

  // The ledger against the database.
  const auto answers = client.answers();
  pg_client db(url);
  std::map<std::string, std::string> stored;  // external_id -> status
  for (auto& r : db.rows("SELECT external_id, status FROM messages")) stored[r[0]] = r[1];
  std::size_t acked = 0, lost = 0, refused_503 = 0, no_answer = 0, other = 0, acked_while_down = 0,
              acked_after = 0;
  double slowest = 0;
  std::ostringstream notes;
  for (const auto& a : answers) {
    slowest = std::max(slowest, std::chrono::duration<double>(a.end - a.start).count());
    if (a.status >= 200 && a.status < 300) {
      ++acked;
      if (a.start > up_at) ++acked_after;
      if (!stored.count(a.id) && ++lost <= 5) notes << "2xx but not stored: " << a.id << "\n";
      for (const auto& w : down)
        if (a.start >= w.from && a.end <= w.to && ++acked_while_down <= 5)
          notes << "2xx while the server was down: " << a.id << "\n";
    } else if (a.status == 503 && a.json_error) {
      ++refused_503;
    } else if (a.status == 0) {
      ++no_answer;
    } else if (++other <= 5) {
      notes << "unexpected answer " << a.status << " to " << a.id << "\n";
    }
  }
  std::map<std::string, long long> status;
  for (auto& [id, st] : stored) status[st]++;
  const bool alive = set.at(0).proc.running() && set.at(1).proc.running();
  std::vector<std::string> logs{set.at(0).proc.out(), set.at(1).proc.out()};
  std::size_t record_retries = 0;  // outcomes of extractions in flight at an outage, resent
  for (const auto& log : logs)
    for (auto pos = log.find("memory_processor_record_retry"); pos != std::string::npos;
         pos = log.find("memory_processor_record_retry", pos + 1))
      ++record_retries;
  const auto exit_codes = set.stop_all();
  const std::string sanitizer = set.sanitizer_reports();

  WARN("pg outage: requests=" << answers.size() << " acked=" << acked << " lost=" << lost
                              << " 503=" << refused_503 << " no_answer=" << no_answer
                              << " other=" << other << " acked_after_recovery=" << acked_after
                              << " ready_after=" << ready_after
                              << "s drained_after=" << drained_after << "s (lease " << lease.count()
                              << " s) done=" << status["done"] << " dead=" << status["dead"]
                              << " slowest_answer=" << slowest
                              << "s outcome_resends=" << record_retries);
  INFO(notes.str());
  CHECK(acked > 0);
  CHECK(lost == 0);
  CHECK(acked_while_down == 0);
  CHECK(other == 0);
  CHECK(refused_503 + no_answer > 0);  // the outage reached the clients
  CHECK(slowest < 10.0);               // no request hung (the client gives up at 10 s)
  for (int i = 0; i < 2; ++i) {
    INFO("instance " << i);
    CHECK(not_ready[i]);
    CHECK_FALSE(ready_while_down[i]);
    CHECK(logs[i].find("postgres_connection_lost") != std::string::npos);
    CHECK(logs[i].find("postgres_reconnected") != std::string::npos);
  }
  CHECK(ready_after >= 0);
  CHECK(acked_after > 0);
  CHECK(alive);
  // Messages from before, during and after the outages are all processed, well within the
  // lease (nothing waited for a lease to end).
  CHECK(drained_after >= 0);
  CHECK(status["done"] == static_cast<long long>(stored.size()));
  CHECK(stored.size() >= acked);
  for (int rc : exit_codes) CHECK(rc == 0);
  CHECK(sanitizer == "");
}
