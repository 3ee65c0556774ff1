// LLM faults against the real binary: a fake LLM that fails 30% of its calls (5xx, 429,
// resets, timeouts), decided per call by a seeded hash of the call's messages and how often
// they were sent. Short configuration by default (500 messages, 50 users);
// MEMORYD_RELIABILITY_FULL=1 runs 10,000 messages from 500 users. MEMORYD_RELIABILITY_SEED
// changes the fault pattern. Runs on both storage backends (FOR_EACH_SERVICE_BACKEND): the
// statuses, attempts and facts are read from the store with stored_db.

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/fake_llm.hpp"
#include "tests/support/fault_llm.hpp"
#include "tests/support/memoryd_service.hpp"
#include "tests/support/reliability.hpp"
#include "tests/support/stored_db.hpp"

using namespace memoryd::testing;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t hash_of(const std::string& s, std::uint64_t h) {
  for (unsigned char c : s) h = mix(h ^ c);
  return h;
}

enum class fault { none, server_error, rate_limited, reset, timeout };

}  // namespace

TEST_CASE("LLM faults: every message processed or dead-lettered with bounded retries") {
  FOR_EACH_SERVICE_BACKEND(b);
  const bool full = full_run();
  const int messages = full ? 10000 : 500;
  const int users = full ? 500 : 50;
  const int pool = 4, batch_size = 50, per_user = 5, max_attempts = 3;
  const std::int64_t retry_base_ms = 200, retry_max_ms = 1600, timeout_ms = 400;
  const std::uint64_t s = seed();

  // Answers: 70% ok, 10% 5xx, 10% 429, 3% reset, 7% no answer (the client's timeout).
  std::map<std::string, int> sent_before;  // io thread only
  std::map<fault, int> injected;
  fault_llm llm(
      [&](const std::string&, const std::string& body) {
        auto msgs = tokens(body, "msg-");
        std::string key;
        for (auto& m : msgs) key += m + ",";
        const int n = sent_before[key]++;
        const auto h = mix(hash_of(key, s) + static_cast<std::uint64_t>(n));
        const int roll = static_cast<int>(h % 100);
        fault_reply r;
        fault f = fault::none;
        if (roll < 70) {
          json::array ops;
          for (auto& m : msgs)
            ops.push_back(
                json::object{{"op", "add"}, {"text", fact_of(m)}, {"category", "interests"}});
          r.body = openai_reply(json::serialize(json::object{{"operations", ops}})).body;
          r.delay = std::chrono::milliseconds((h >> 8) % 20);
        } else if (roll < 80) {
          static const int codes[] = {500, 502, 503, 529};
          f = fault::server_error;
          r.status = codes[(h >> 8) % 4];
          r.body = R"({"error":{"message":"injected"}})";
        } else if (roll < 90) {
          f = fault::rate_limited;
          r.status = 429;
          r.body = R"({"error":{"message":"injected rate limit"}})";
        } else if (roll < 93) {
          f = fault::reset;
          r.reset = true;
        } else {
          f = fault::timeout;
          r.hang = true;
        }
        injected[f]++;
        return r;
      },
      [](const std::string& body) {
        auto u = tokens(body, "usr-");
        return u.empty() ? std::string("?") : u.front();
      });

  temp_dir dir;
  auto env = env_for(b, dir);
  env["EXTRACTOR"] = "openai";
  env["OPENAI_BASE_URL"] = llm.url() + "/v1";
  env["OPENAI_MODEL"] = "test-model";
  env["OPENAI_API_KEY"] = "";
  env["MEMORY_PROCESSOR_ENABLED"] = "true";
  env["EXTRACTOR_POOL_SIZE"] = std::to_string(pool);
  env["LLM_TIMEOUT_MS"] = std::to_string(timeout_ms);
  env["MEMORY_PROCESSOR_INTERVAL_MS"] = "100";
  env["MEMORY_PROCESSOR_BATCH_SIZE"] = std::to_string(batch_size);
  env["MEMORY_PROCESSOR_PER_USER_BATCH_SIZE"] = std::to_string(per_user);
  env["MEMORY_PROCESSOR_MAX_ATTEMPTS"] = std::to_string(max_attempts);
  env["MEMORY_PROCESSOR_LEASE_MS"] = "30000";
  env["MEMORY_PROCESSOR_RETRY_BASE_MS"] = std::to_string(retry_base_ms);
  env["MEMORY_PROCESSOR_RETRY_MAX_MS"] = std::to_string(retry_max_ms);
  service svc(dir, env);

  // Ingest in chunks while the pipeline runs: message i belongs to user i % users.
  auto t0 = steady::now();
  const int chunk = 500;
  for (int first = 0; first < messages; first += chunk) {
    json::array batch;
    for (int i = first; i < std::min(messages, first + chunk); ++i) {
      char id[16], user[16];
      std::snprintf(id, sizeof id, "M%06d", i);
      std::snprintf(user, sizeof user, "U%04d", i % users);
      batch.push_back(
          json::object{{"user_id", user},
                       {"role", "user"},
                       {"content", std::string("Note usr-") + user + " msg-" + id + "."}});
    }
    auto r = http_request(svc.port, "POST", "/v1/messages",
                          json::serialize(json::object{{"messages", batch}}), "application/json",
                          {}, 30s);
    REQUIRE(r.status == 202);
    std::this_thread::sleep_for(50ms);
  }
  // Drained: nothing pending or leased (bounded wait).
  const auto limit = full ? 900s : 75s;
  bool drained = false;
  while (!drained && steady::now() - t0 < limit) {
    std::this_thread::sleep_for(200ms);
    auto r = http_request(svc.port, "GET", "/v1/processor/status");
    REQUIRE(r.status == 200);
    auto q = json::parse(r.body).at("queue");
    drained = q.at("pending").as_int64() == 0 && q.at("leased").as_int64() == 0;
  }
  const double seconds = std::chrono::duration<double>(steady::now() - t0).count();
  REQUIRE(drained);
  CHECK(svc.stop() == 0);

  // 1. Every message ends done or dead; the store's attempts match the calls that carried it;
  //    done follows a successful last call, dead a failed one after max_attempts.
  auto calls = llm.calls();
  // The LLM client re-sends a request at once, on a fresh connection, when a kept-alive
  // connection fails before any answer (stale keep-alive): that reset is not an attempt.
  std::map<std::string, std::vector<std::size_t>> all_calls_of;  // message -> call indexes
  for (std::size_t i = 0; i < calls.size(); ++i)
    for (auto& m : tokens(calls[i].body, "msg-")) all_calls_of[m].push_back(i);
  std::set<std::size_t> resent;  // resets followed by the client's immediate re-send
  for (auto& [m, cs] : all_calls_of) {
    for (std::size_t k = 0; k + 1 < cs.size(); ++k) {
      const auto& a = calls[cs[k]];
      const auto& b = calls[cs[k + 1]];
      if (a.status == 0 && !a.abandoned && a.nth_on_connection > 1 && b.nth_on_connection == 1 &&
          tokens(a.body, "msg-") == tokens(b.body, "msg-"))
        resent.insert(cs[k]);
    }
  }
  std::map<std::string, std::vector<std::size_t>> calls_of;  // message -> its attempts' calls
  for (auto& [m, cs] : all_calls_of)
    for (auto i : cs)
      if (!resent.count(i)) calls_of[m].push_back(i);
  auto ok = [&](std::size_t i) { return calls[i].status == 200; };
  std::map<std::string, std::string> status;
  int done = 0, dead = 0, mismatched = 0;
  std::ostringstream notes;
  stored_db db(b, dir);
  for (auto& sm : db.messages()) {
    auto m = tokens(sm.content, "msg-").at(0);
    status[m] = sm.status;
    const auto& cs = calls_of[m];
    const bool last_ok = !cs.empty() && ok(cs.back());
    bool good = false;
    if (sm.status == "done") {
      good = last_ok;
      done++;
    } else if (sm.status == "dead") {
      good = !last_ok && static_cast<int>(cs.size()) == max_attempts;
      dead++;
    }
    good = good && sm.attempts == static_cast<long long>(cs.size());
    if (!good && ++mismatched <= 5)
      notes << "message " << m << ": " << sm.status << ", attempts " << sm.attempts << ", "
            << cs.size() << " calls, last ok " << last_ok << "\n";
  }
  CHECK(static_cast<int>(status.size()) == messages);
  CHECK(done + dead == messages);
  {
    INFO(notes.str());
    CHECK(mismatched == 0);
  }
  notes.str("");

  // 2. No duplicate facts: one per done message, none for a dead one.
  db.check_no_duplicate_facts();
  std::set<std::string> facts;
  for (auto& t : db.fact_texts()) facts.insert(t);
  int wrong_facts = 0;
  for (auto& [m, st] : status) wrong_facts += facts.count(fact_of(m)) != (st == "done" ? 1u : 0u);
  CHECK(wrong_facts == 0);
  CHECK(facts.size() == static_cast<std::size_t>(done));

  // 3. Retry delays inside the backoff bounds: after a failed call with n attempts, the next
  //    call with the same oldest message starts no sooner than half of
  //    min(base * 2^(n-1), max) (equal jitter) and not much later than the full delay.
  int retries = 0, too_early = 0, too_late = 0, after_dead = 0;
  double min_ratio = 1e9, max_late_ms = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (ok(i) || resent.count(i)) continue;
    auto msgs = tokens(calls[i].body, "msg-");
    const auto& cs = calls_of[msgs.front()];
    auto pos = std::find(cs.begin(), cs.end(), i) - cs.begin();
    const int n = static_cast<int>(pos) + 1;                // attempts of the oldest message
    if (pos + 1 >= static_cast<long>(cs.size())) continue;  // dead-lettered (checked above)
    if (n >= max_attempts) {
      after_dead++;
      continue;
    }
    const auto& next = calls[cs[pos + 1]];
    std::int64_t d = retry_base_ms;
    for (int k = 1; k < n; ++k) d = std::min(d * 2, retry_max_ms);
    const double gap = std::chrono::duration<double, std::milli>(next.start - calls[i].end).count();
    retries++;
    min_ratio = std::min(min_ratio, gap / static_cast<double>(d));
    max_late_ms = std::max(max_late_ms, gap - static_cast<double>(d));
    if (gap < d / 2.0 - 20) {
      if (++too_early <= 5)
        notes << "retry of " << msgs.front() << " after " << gap << " ms, attempt " << n
              << ", backoff " << d << " ms"
              << "\n";
    }
    if (gap > d + 10000.0) too_late++;
  }
  CHECK(retries > 0);
  {
    INFO(notes.str());
    CHECK(too_early == 0);
  }
  CHECK(too_late == 0);
  CHECK(after_dead == 0);

  // 4. Concurrency: never more calls than the pool, never one user in two calls.
  auto st = llm.stats();
  INFO("worst user " << st.worst_key);
  CHECK(st.max_in_flight <= pool);
  CHECK(st.max_in_flight_per_key == 1);
  // Batches are per user: every call carries one user's messages.
  int mixed = 0;
  for (auto& c : calls) {
    auto us = tokens(c.body, "usr-");
    mixed += std::any_of(us.begin(), us.end(), [&](auto& u) { return u != us.front(); });
  }
  CHECK(mixed == 0);

  WARN("LLM faults ("
       << b.name() << "): seed=" << s << " messages=" << messages << " users=" << users
       << " calls=" << calls.size() << " ok=" << injected[fault::none]
       << " 5xx=" << injected[fault::server_error] << " 429=" << injected[fault::rate_limited]
       << " reset=" << injected[fault::reset] << " timeout=" << injected[fault::timeout]
       << " resent_after_reset=" << resent.size() << " done=" << done << " dead=" << dead
       << " retries_checked=" << retries << " min_gap_over_backoff=" << min_ratio
       << " max_ms_beyond_backoff=" << max_late_ms << " max_in_flight=" << st.max_in_flight
       << " max_in_flight_per_user=" << st.max_in_flight_per_key << " seconds=" << seconds);
}
