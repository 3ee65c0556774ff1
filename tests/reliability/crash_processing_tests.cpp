// Crash suites against the real binary: kill -9 during processing, SIGTERM under load. Short
// configuration by default; MEMORYD_RELIABILITY_FULL=1 runs the full one
// (docs/RELIABILITY.md). MEMORYD_RELIABILITY_SEED picks the random kill moments. Each runs on
// both storage backends (FOR_EACH_SERVICE_BACKEND) and reads what was stored with stored_db
// after the kills and stops. PRAGMA integrity_check is SQLite's file-level check and runs
// only there.
#include <signal.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
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
using steady = std::chrono::steady_clock;

TEST_CASE("kill -9 during processing replays without duplicates and leaves nothing leased") {
  FOR_EACH_SERVICE_BACKEND(b);
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
  auto env = llm_env(b, dir, llm);
  env["EXTRACTOR_POOL_SIZE"] = std::to_string(pool);
  env["LLM_TIMEOUT_MS"] = "5000";
  env["MEMORY_PROCESSOR_INTERVAL_MS"] = "200";
  env["MEMORY_PROCESSOR_BATCH_SIZE"] = std::to_string(batch_size);
  env["MEMORY_PROCESSOR_PER_USER_BATCH_SIZE"] = std::to_string(per_user);
  env["MEMORY_PROCESSOR_LEASE_MS"] = std::to_string(lease_ms);
  // More attempts than kills: a message leased at every kill is replayed, not dead-lettered
  // as a crash loop ("lease expired after 3 attempts"). Such a message may already have its
  // fact, written by an attempt that was killed between the fact write and mark-done, so the
  // one-fact-per-done-message check below could not judge it (seen under ASan: dead, 1 fact).
  env["MEMORY_PROCESSOR_MAX_ATTEMPTS"] = std::to_string(kills + 2);
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
  // From each kill until its replacement listens (wall-clock ms, as lease_until): no service
  // runs, so no lease can be taken up. A sanitizer build spends seconds here.
  std::vector<std::pair<std::int64_t, std::int64_t>> down;
  const auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  for (int k = 0; k < kills; ++k) {
    // Kill only while an LLM call is in flight (bounded wait), at a random point of it.
    for (int i = 0; i < 100 && llm.stats().in_flight == 0; ++i) std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    const auto killed_at = wall_ms();
    svc->proc.signal(SIGKILL);
    CHECK_FALSE(svc->proc.wait(10s).has_value());
    for (auto& m : stored_db(b, dir).messages("status = 'leased'")) {
      last_lease[m.id] = m.lease_until;
      leased_at_kills++;
    }
    svc = std::make_unique<service>(dir, env);
    down.emplace_back(killed_at, wall_ms());
    if (k + 1 < kills) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 800));
  }
  // After the last restart: everything ends done or dead within lease + one backoff (plus
  // the work itself and a generous margin).
  const auto bound = std::chrono::milliseconds(lease_ms + retry_max_ms) + work + 10s;
  const double drained = wait_until_drained(svc->port, bound);
  CHECK(drained >= 0);
  CHECK(svc->stop() == 0);
  svc.reset();

  stored_db db(b, dir);
  std::map<std::string, std::string> status;
  std::map<std::string, std::int64_t> processed_at;
  std::map<std::string, std::string> token_of;  // message id -> msg- token
  for (auto& sm : db.messages()) {
    auto m = tokens(sm.content, "msg-").at(0);
    status[m] = sm.status;
    processed_at[m] = sm.memory_processed_at;
    token_of[sm.id] = m;
  }
  REQUIRE(status.size() == all.size());
  int done = 0, dead = 0;
  for (auto& [m, s] : status) {
    INFO("message " << m << " ends " << s);
    CHECK((s == "done" || s == "dead"));
    done += s == "done";
    dead += s == "dead";
  }
  // A message leased at a kill was taken up again once that lease ended: counted in the time
  // a service was running after the lease ended (restarts excluded).
  const auto up_between = [&](std::int64_t from, std::int64_t to) {
    std::int64_t up = to - from;
    for (auto [k, r] : down) up -= std::max<std::int64_t>(0, std::min(to, r) - std::max(from, k));
    return up;
  };
  int late = 0;
  std::ostringstream notes;
  for (auto& [id, until] : last_lease) {
    const auto& m = token_of[id];
    if (status[m] != "done") continue;
    const auto up = up_between(until, processed_at[m]);
    if (up > retry_max_ms + work.count() + 10000) {
      if (++late <= 5)
        notes << m << " done " << processed_at[m] - until << " ms after its lease, " << up
              << " ms of it with a service running\n";
    }
  }
  INFO(notes.str());
  CHECK(late == 0);

  // Facts: one per done message, never two.
  db.check_no_duplicate_facts();
  {
    std::set<std::string> facts;
    for (auto& t : db.fact_texts()) facts.insert(t);
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
  WARN("kill -9 during processing ("
       << b.name() << "): kills=" << kills << " messages=" << all.size() << " done=" << done
       << " dead=" << dead << " llm_calls=" << llm.calls().size() << " extra_calls=" << extra_calls
       << " extra_messages=" << extra_messages << " leased_at_kills=" << leased_at_kills
       << " drained_after_last_restart_s=" << drained);
  CHECK(extra_messages <= kills * batch_size);
  CHECK(extra_calls <= kills * batch_size);
  CHECK(leased_at_kills > 0);  // the kills did hit work in flight
  check_integrity(b, dir);
}

TEST_CASE("SIGTERM under load loses nothing and releases work without using an attempt") {
  FOR_EACH_SERVICE_BACKEND(b);
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
  auto env = llm_env(b, dir, llm);
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
    stored_db db(b, dir);
    const auto messages = db.messages();
    std::map<std::string, std::pair<std::string, int>> state;  // message -> status, attempts
    for (auto& m : messages)
      state[tokens(m.content, "msg-").at(0)] = {m.status, static_cast<int>(m.attempts)};
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
    for (auto& m : messages) stored.insert(m.external_id);
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
  stored_db db(b, dir);
  CHECK(db.count(stored::conversations, "SELECT count(*) FROM messages WHERE status <> 'done'") ==
        0);
  CHECK(db.count(stored::conversations, "SELECT count(*) FROM messages") >=
        static_cast<long long>(acked_all.size()));
  WARN("SIGTERM under load (" << b.name() << "): rounds=" << rounds << " acked=" << acked_all.size()
                              << " llm_calls=" << llm.calls().size() << " repeated_messages="
                              << repeats << " calls_finished_after_sigterm=" << finished_total
                              << " worst_exit_s=" << worst_exit);
  CHECK(repeats == 0);
  db.check_no_duplicate_facts();
  check_integrity(b, dir);
}
