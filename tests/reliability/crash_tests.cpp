// Crash suites against the real binary: kill -9 during ingest, kill -9 during processing,
// SIGTERM under load. Short configuration by default; MEMORYD_RELIABILITY_FULL=1 runs the
// full one (docs/RELIABILITY.md). MEMORYD_RELIABILITY_SEED picks the random kill moments.
#include <signal.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/fake_llm.hpp"
#include "tests/support/fault_llm.hpp"
#include "tests/support/memoryd_service.hpp"
#include "tests/support/reliability.hpp"
#include "tests/support/ro_db.hpp"

using namespace memoryd::testing;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace {

double secs_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

void check_integrity(const temp_dir& dir) {
  for (const char* name : {"conversation.db", "memory.db"}) {
    ro_db db(dir.file(name));
    INFO(name);
    CHECK(db.one("PRAGMA integrity_check") == "ok");
  }
}

std::map<std::string, std::string> base_env(const temp_dir& dir) {
  auto env = env_for(dir);
  env["MEMORYD_SYNCHRONOUS"] = "full";  // the default durability
  return env;
}

std::string user_key(const std::string& body) {
  auto u = tokens(body, "usr-");
  return u.empty() ? std::string("?") : u.front();
}

std::string adds_reply(const std::string& body) {
  json::array ops;
  for (auto& m : tokens(body, "msg-"))
    ops.push_back(json::object{{"op", "add"}, {"text", fact_of(m)}, {"category", "interests"}});
  return openai_reply(json::serialize(json::object{{"operations", ops}})).body;
}

std::map<std::string, std::string> llm_env(const temp_dir& dir, const fault_llm& llm) {
  auto env = base_env(dir);
  env["EXTRACTOR"] = "openai";
  env["OPENAI_BASE_URL"] = llm.url() + "/v1";
  env["OPENAI_MODEL"] = "test-model";
  env["OPENAI_API_KEY"] = "";
  env["MEMORY_PROCESSOR_ENABLED"] = "true";
  return env;
}

std::string message_json(const std::string& user, const std::string& msg) {
  return json::serialize(json::object{{"user_id", user},
                                      {"role", "user"},
                                      {"content", "Note usr-" + user + " msg-" + msg + " ok."},
                                      {"external_id", "ext-" + msg}});
}

// Polls the processor status until nothing is pending or leased; returns the seconds it
// took, or -1 after `limit`.
double wait_until_drained(std::uint16_t port, std::chrono::milliseconds limit) {
  auto t0 = steady::now();
  while (steady::now() - t0 < limit) {
    try {
      auto r = http_request(port, "GET", "/v1/processor/status");
      if (r.status == 200) {
        auto q = json::parse(r.body).at("queue");
        if (q.at("pending").as_int64() == 0 && q.at("leased").as_int64() == 0)
          return secs_since(t0);
      }
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(100ms);
  }
  return -1;
}

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
  const int kills = full_run() ? 12 : 3;
  std::mt19937_64 rng(seed());
  temp_dir dir;
  auto env = base_env(dir);
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
  ro_db conv(dir.file("conversation.db"));
  std::map<std::string, int> stored;
  for (auto& r : conv.rows("SELECT external_id, count(*) FROM messages "
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
  WARN("kill -9 during ingest: kills=" << kills << " sent=" << sent.size()
                                       << " acked=" << acked.size() << " stored=" << stored.size()
                                       << " lost=" << lost << " doubled=" << doubled);
  CHECK(acked.size() > static_cast<std::size_t>(kills) * 10);  // there was load at each kill
  INFO(notes.str());
  CHECK(lost == 0);
  CHECK(doubled == 0);
  CHECK(unknown == 0);
  check_integrity(dir);
}

TEST_CASE("kill -9 during processing replays without duplicates and leaves nothing leased") {
  const bool full = full_run();
  const int kills = full ? 10 : 3;
  const int users = full ? 60 : 24;
  const int per_user = full ? 3 : 2;
  const int pool = 2, batch_size = 8;
  const auto delay = 300ms;
  const std::int64_t lease_ms = 2000, retry_base_ms = 200, retry_max_ms = 1000;
  std::mt19937_64 rng(seed() + 1);

  fault_llm llm(
      [&](const std::string&, const std::string& body) {
        fault_reply r;
        r.body = adds_reply(body);
        r.delay = delay;
        return r;
      },
      user_key);
  temp_dir dir;
  auto env = llm_env(dir, llm);
  env["EXTRACTOR_POOL_SIZE"] = std::to_string(pool);
  env["LLM_TIMEOUT_MS"] = "5000";
  env["MEMORY_PROCESSOR_INTERVAL_MS"] = "200";
  env["MEMORY_PROCESSOR_BATCH_SIZE"] = std::to_string(batch_size);
  env["MEMORY_PROCESSOR_PER_USER_BATCH_SIZE"] = std::to_string(per_user);
  env["MEMORY_PROCESSOR_LEASE_MS"] = std::to_string(lease_ms);
  env["MEMORY_PROCESSOR_RETRY_BASE_MS"] = std::to_string(retry_base_ms);
  env["MEMORY_PROCESSOR_RETRY_MAX_MS"] = std::to_string(retry_max_ms);

  auto svc = std::make_unique<service>(dir, env);
  std::vector<std::string> all;
  {
    std::string body = "{\"messages\":[";
    for (int i = 0; i < users * per_user; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "M%05d", i);
      all.emplace_back(id);
      char user[16];
      std::snprintf(user, sizeof user, "U%03d", i % users);
      body += (i ? "," : "") + message_json(user, id);
    }
    body += "]}";
    REQUIRE(
        http_request(svc->port, "POST", "/v1/messages", body, "application/json", {}, 10s).status ==
        202);
  }
  const auto work = std::chrono::milliseconds(users * delay.count() / pool);
  std::map<std::string, std::int64_t> last_lease;  // message -> lease_until seen after a kill
  int leased_at_kills = 0;
  for (int k = 0; k < kills; ++k) {
    // Kill only while an LLM call is in flight (bounded wait), at a random point of it.
    for (int i = 0; i < 100 && llm.stats().in_flight == 0; ++i) std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    svc->proc.signal(SIGKILL);
    CHECK_FALSE(svc->proc.wait(10s).has_value());
    {
      ro_db conv(dir.file("conversation.db"));
      for (auto& r : conv.rows("SELECT id, lease_until FROM messages WHERE status = 'leased'")) {
        last_lease[r[0]] = std::stoll(r[1]);
        leased_at_kills++;
      }
    }
    svc = std::make_unique<service>(dir, env);
    if (k + 1 < kills) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 800));
  }
  // After the last restart: everything ends done or dead within lease + one backoff (plus
  // the work itself and a generous margin).
  const auto bound = std::chrono::milliseconds(lease_ms + retry_max_ms) + work + 10s;
  const double drained = wait_until_drained(svc->port, bound);
  CHECK(drained >= 0);
  CHECK(svc->stop() == 0);
  svc.reset();

  ro_db conv(dir.file("conversation.db"));
  std::map<std::string, std::string> status;
  std::map<std::string, std::int64_t> processed_at;
  for (auto& r : conv.rows("SELECT content, status, memory_processed_at FROM messages")) {
    auto m = tokens(r[0], "msg-").at(0);
    status[m] = r[1];
    processed_at[m] = std::stoll(r[2]);
  }
  REQUIRE(status.size() == all.size());
  int done = 0, dead = 0;
  for (auto& [m, s] : status) {
    INFO("message " << m << " ends " << s);
    CHECK((s == "done" || s == "dead"));
    done += s == "done";
    dead += s == "dead";
  }
  // A message leased at a kill was taken up again once that lease ended.
  int late = 0;
  std::ostringstream notes;
  for (auto& [m, until] : last_lease) {
    if (status[m] != "done") continue;
    if (processed_at[m] > until + retry_max_ms + work.count() + 10000) {
      if (++late <= 5)
        notes << m << " done " << processed_at[m] - until << " ms after its lease"
              << "\n";
    }
  }
  INFO(notes.str());
  CHECK(late == 0);

  // Facts: one per done message, never two.
  check_no_duplicate_facts(dir.file("memory.db"));
  {
    ro_db mem(dir.file("memory.db"));
    std::set<std::string> facts;
    for (auto& r : mem.rows("SELECT text FROM facts WHERE status = 'active'")) facts.insert(r[0]);
    for (auto& [m, s] : status) {
      INFO("message " << m << " " << s);
      CHECK(facts.count(fact_of(m)) == (s == "done" ? 1u : 0u));
    }
  }

  // Extra LLM work is bounded by kills x batch size.
  std::map<std::string, int> seen;
  int extra_calls = 0;
  for (auto& c : llm.calls()) {
    bool repeat = false;
    for (auto& m : tokens(c.body, "msg-")) repeat |= seen[m]++ > 0;
    extra_calls += repeat;
  }
  int extra_messages = 0;
  for (auto& [m, n] : seen) extra_messages += n - 1;
  WARN("kill -9 during processing: kills="
       << kills << " messages=" << all.size() << " done=" << done << " dead=" << dead
       << " llm_calls=" << llm.calls().size() << " extra_calls=" << extra_calls
       << " extra_messages=" << extra_messages << " leased_at_kills=" << leased_at_kills
       << " drained_after_last_restart_s=" << drained);
  CHECK(extra_messages <= kills * batch_size);
  CHECK(extra_calls <= kills * batch_size);
  CHECK(leased_at_kills > 0);  // the kills did hit work in flight
  check_integrity(dir);
}

TEST_CASE("SIGTERM under load loses nothing and releases work without using an attempt") {
  const bool full = full_run();
  const int rounds = full ? 5 : 1;
  const std::int64_t grace_ms = 3000;
  std::mt19937_64 rng(seed() + 2);
  std::atomic<int> delay_ms{400};  // slow while terminating, quick for the final drain
  fault_llm llm(
      [&](const std::string&, const std::string& body) {
        fault_reply r;
        r.body = adds_reply(body);
        r.delay = std::chrono::milliseconds(delay_ms.load());
        return r;
      },
      user_key);
  temp_dir dir;
  auto env = llm_env(dir, llm);
  env["EXTRACTOR_POOL_SIZE"] = "2";
  env["LLM_TIMEOUT_MS"] = "5000";
  env["MEMORY_PROCESSOR_INTERVAL_MS"] = "100";
  env["MEMORY_PROCESSOR_BATCH_SIZE"] = "40";
  env["MEMORY_PROCESSOR_PER_USER_BATCH_SIZE"] = "10";
  env["MEMORY_PROCESSOR_LEASE_MS"] = "60000";  // long: only a release can free work quickly
  env["MEMORY_PROCESSOR_RETRY_BASE_MS"] = "200";
  const std::vector<std::string> flags{"--server.shutdown_grace_ms=" + std::to_string(grace_ms)};

  std::set<std::string> acked_all;
  std::size_t calls_before = 0;
  double worst_exit = 0;
  int finished_total = 0;
  for (int round = 0; round < rounds; ++round) {
    auto svc = std::make_unique<service>(dir, env, flags);
    // JSON posts with the fake LLM's tokens, so every message can be followed.
    std::atomic<bool> stop{false};
    std::mutex m;
    std::set<std::string> acked;
    std::vector<std::thread> clients;
    const auto port = svc->port;
    for (int t = 0; t < 3; ++t) {
      clients.emplace_back([&, t] {
        for (int n = 0; !stop && n < 100000; ++n) {
          char id[32], user[16];
          std::snprintf(id, sizeof id, "R%dT%dN%05d", round, t, n);
          std::snprintf(user, sizeof user, "U%d%02d", t, n % 12);
          try {
            auto r = http_request(port, "POST", "/v1/messages", message_json(user, id),
                                  "application/json", {}, 5s);
            if (r.status == 202) {
              std::lock_guard lock(m);
              acked.insert(std::string("ext-") + id);
            }
          } catch (const std::exception&) {
          }
          std::this_thread::sleep_for(10ms);
        }
      });
    }
    // Terminate while extractions are in flight: early in a call that just started.
    std::this_thread::sleep_for(std::chrono::milliseconds(600 + rng() % 600));
    const auto started = llm.stats().requests;
    for (int i = 0; i < 400 && llm.stats().requests == started; ++i)
      std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));
    const bool busy = llm.stats().in_flight > 0;
    auto t0 = steady::now();
    svc->proc.signal(SIGTERM);
    auto rc = svc->proc.wait(std::chrono::milliseconds(grace_ms) + 20s);
    const double exit_s = secs_since(t0);
    worst_exit = std::max(worst_exit, exit_s);
    stop = true;
    for (auto& c : clients) c.join();
    INFO("round " << round << ", exit after " << exit_s << " s");
    CHECK(busy);
    REQUIRE(rc.has_value());
    CHECK(*rc == 0);
    CHECK(exit_s <= grace_ms / 1000.0 + 3.0);
    svc.reset();
    acked_all.insert(acked.begin(), acked.end());

    // Every call started before the exit was answered and its messages marked done; work
    // not finished is pending again with its attempt given back; nothing stays leased.
    auto calls = llm.calls();
    ro_db conv(dir.file("conversation.db"));
    std::map<std::string, std::pair<std::string, int>> state;  // message -> status, attempts
    for (auto& r : conv.rows("SELECT content, status, attempts FROM messages"))
      state[tokens(r[0], "msg-").at(0)] = {r[1], std::stoi(r[2])};
    int finished_after_term = 0;
    for (std::size_t i = calls_before; i < calls.size(); ++i) {
      finished_after_term += calls[i].done && calls[i].end > t0;
      INFO("call " << i);
      CHECK(calls[i].done);
      CHECK_FALSE(calls[i].abandoned);
      CHECK(calls[i].status == 200);
      for (auto& msg : tokens(calls[i].body, "msg-")) {
        INFO("message " << msg);
        CHECK(state[msg].first == "done");
      }
    }
    CHECK(finished_after_term > 0);  // the grace period was used to finish them
    finished_total += finished_after_term;
    calls_before = calls.size();
    int leased = 0, charged = 0;
    for (auto& [msg, st] : state) {
      leased += st.first == "leased";
      charged += st.first == "pending" && st.second != 0;
    }
    CHECK(leased == 0);
    CHECK(charged == 0);
    std::set<std::string> stored;
    for (auto& r : conv.rows("SELECT external_id FROM messages")) stored.insert(r[0]);
    std::size_t lost = 0;
    for (auto& id : acked) lost += stored.count(id) == 0;
    CHECK(lost == 0);
  }

  // The rest is processed after a restart: each message sent to the LLM exactly once.
  delay_ms = 5;
  auto svc = std::make_unique<service>(dir, env, flags);
  CHECK(wait_until_drained(svc->port, 60s) >= 0);
  CHECK(svc->stop() == 0);
  svc.reset();
  std::map<std::string, int> seen;
  for (auto& c : llm.calls())
    for (auto& m : tokens(c.body, "msg-")) seen[m]++;
  int repeats = 0;
  for (auto& [m, n] : seen) repeats += n > 1;
  ro_db conv(dir.file("conversation.db"));
  CHECK(conv.one("SELECT count(*) FROM messages WHERE status <> 'done'") == "0");
  CHECK(std::stoul(conv.one("SELECT count(*) FROM messages")) >= acked_all.size());
  WARN("SIGTERM under load: rounds=" << rounds << " acked=" << acked_all.size() << " llm_calls="
                                     << llm.calls().size() << " repeated_messages=" << repeats
                                     << " calls_finished_after_sigterm=" << finished_total
                                     << " worst_exit_s=" << worst_exit);
  CHECK(repeats == 0);
  check_no_duplicate_facts(dir.file("memory.db"));
  check_integrity(dir);
}
