// Pipeline throughput and lag against a fake LLM with a fixed latency, per pool size.
//
// usage: bench_pipeline [--pools 1,4,16,64] [--latency-ms 200] [--users-per-pool 20]
//                       [--min-users 100] [--interval-ms 100] [--batch-mult 4] [--per-user 25]
//                       [--sync full] [--paced-s 5] [--paced-min 20] [--paced-frac 0.5]
//                       [--timeout-s 180] [--binary PATH (default: the memoryd built with it)]
//                       [--log-dir DIR (keeps memoryd's JSON log as DIR/memoryd-pool<P>.log)]
//
// For each pool size P, with the real memoryd binary (MEMORYD_BINARY) on temporary databases:
//  1. backlog: conversation.db is prefilled with M = max(min_users, users_per_pool * P) users
//     x 1 pending message; memoryd serve starts (EXTRACTOR=openai against a fake LLM on
//     127.0.0.1 that answers every request after latency_ms with one "add" operation,
//     batch_size = batch_mult * P, interval_ms) and drains the backlog. A reader polls
//     memory.db every 5 ms and records when each user's fact becomes visible.
//     calls_per_s = (M - P) / (t[M-1] - t[P-1]) over the sorted visibility times t (the
//     steady part: after the first wave of P calls); wall_calls_per_s = M / (t[M-1] - start).
//  2. paced: messages of new users arrive over HTTP (POST /v1/messages) at paced_frac of the
//     ideal rate P / latency for paced_s seconds (at least paced_min messages); lag = fact
//     visible - POST sent, p50 / p99 / max. Includes the wait for the next tick (interval_ms)
//     because a claim that comes back short waits for the ticker.
// One JSON line per pool size.
//
// PostgreSQL (issue 15): several instances on one database.
//   bench_pipeline --backend postgres --url URL [--instances 1,2] [--pools 8,32]
//                  [--rounds 1] [--users-per-pool 20] ...
// For each round, pool size P and instance count I (the instance counts alternate, the
// first one changing each round): a fresh schema (bench_pipeline_*, dropped afterwards) gets
// M = max(min_users, users_per_pool * P * max(instances)) users x 1 pending message (the
// same M for every I, so one and two instances drain the same backlog), then I real `memoryd
// serve` processes start on it (MEMORYD_STORAGE=postgres, pool P and batch_size
// batch_mult * P each) against one fake LLM. A reader polls the facts table every 10 ms
// (the last rows by `ord`, with a margin for writers that commit out of order) and records
// when each user's fact became visible; calls_per_s as above with the first wave being
// I * P calls, ideal_per_s = I * P / latency. The paced part sends its POSTs round-robin over
// the instances. One JSON line per (round, P, I).
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.hpp"
#include "bench/pipeline_watch.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/conversation_store.hpp"
#include "store/postgres/schema.hpp"
#include "store/sqlite/conversation_store.hpp"
#include "tests/support/fake_llm.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using memoryd::bench::fact_watcher;
using memoryd::bench::now_ms;
using memoryd::bench::percentile;
using memoryd::bench::port_of;
using memoryd::bench::post_message;
using memoryd::bench::push_fact_answers;
using memoryd::bench::split;
using memoryd::bench::wait_count;

using namespace std::chrono_literals;
namespace mt = memoryd::testing;

struct options {
  std::vector<int> pools{1, 4, 16, 64};
  int latency_ms = 200;
  int users_per_pool = 20;
  int min_users = 100;
  int interval_ms = 100;
  int batch_mult = 4;
  int per_user = 25;
  std::string sync = "full";
  double paced_s = 5;
  int paced_min = 20;
  double paced_frac = 0.5;
  int timeout_s = 180;
  std::string binary = MEMORYD_BINARY;
  std::string log_dir;  // copy memoryd's log (JSON lines) to LOG_DIR/memoryd-pool<P>.log
  std::string backend = "sqlite";
  std::string url;                // postgres
  std::vector<int> instances{1};  // postgres
  int rounds = 1;                 // postgres
};

// The same for facts on PostgreSQL: polls the last facts by `ord` every 10 ms. `ord` values
// are drawn at insert and committed in any order by two instances' fact writers, so each
// poll reads from `margin` below the highest ord seen (far more than the facts two writers
// can have uncommitted at once); the first sighting of each user counts.
class pg_fact_watcher : public memoryd::bench::first_sightings {
 public:
  explicit pg_fact_watcher(std::string url) : first_sightings(poll_facts(std::move(url)), 10ms) {}

 private:
  struct reader {
    std::string url;
    std::int64_t max_ord = 0;
    std::unique_ptr<memoryd::pg::connection> c;
  };
  static std::function<std::vector<std::string>()> poll_facts(std::string url) {
    auto r = std::make_shared<reader>();
    r->url = std::move(url);
    return [r] {
      constexpr std::int64_t margin = 1000;
      std::vector<std::string> users;
      try {
        if (!r->c) r->c = std::make_unique<memoryd::pg::connection>(r->url);
        auto rows = r->c->exec("SELECT ord, user_id FROM facts WHERE ord > $1::bigint",
                               {std::to_string(std::max<std::int64_t>(0, r->max_ord - margin))});
        for (int i = 0; i < rows.rows(); ++i) {
          r->max_ord = std::max(r->max_ord, rows.integer(i, 0));
          users.push_back(rows.text(i, 1));
        }
      } catch (const std::exception&) {
        r->c.reset();  // the schema is not there yet, or the server went away: try again
      }
      return users;
    };
  }
};

int run_pool(const options& o, int pool) {
  mt::temp_dir dir;
  const int m_users = std::max(o.min_users, o.users_per_pool * pool);
  const double ideal = pool * 1000.0 / o.latency_ms;
  const double paced_rate = o.paced_frac * ideal;
  const int paced_n = std::max(o.paced_min, static_cast<int>(paced_rate * o.paced_s));

  // Prefill: M users x 1 pending message.
  {
    memoryd::sqlite::conversation_store store({dir.file("conversation.db"), "normal", 5000});
    std::vector<memoryd::new_message> msgs;
    for (int i = 0; i < m_users; ++i)
      msgs.push_back({"backlog-" + std::to_string(i), "user", "I like coffee.", "api", "", 0});
    store.ingest(msgs, std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
  }

  mt::fake_llm llm;
  push_fact_answers(llm, 2 * (m_users + paced_n) + 100, o.latency_ms);

  std::map<std::string, std::string> env{
      {"CONVERSATION_DB_PATH", dir.file("conversation.db")},
      {"MEMORY_DB_PATH", dir.file("memory.db")},
      {"MEMORYD_LISTEN", "127.0.0.1:0"},
      {"MEMORYD_SYNCHRONOUS", o.sync},
      {"MEMORYD_LOG_LEVEL", "info"},
      {"MEMORY_PROCESSOR_ENABLED", "true"},
      {"MEMORY_PROCESSOR_INTERVAL_MS", std::to_string(o.interval_ms)},
      {"MEMORY_PROCESSOR_BATCH_SIZE", std::to_string(o.batch_mult * pool)},
      {"MEMORY_PROCESSOR_PER_USER_BATCH_SIZE", std::to_string(o.per_user)},
      {"EXTRACTOR", "openai"},
      {"EXTRACTOR_POOL_SIZE", std::to_string(pool)},
      {"OPENAI_BASE_URL", llm.url() + "/v1"},
      {"OPENAI_MODEL", "fake"},
      {"OPENAI_API_KEY", ""},
      {"LLM_TIMEOUT_MS", "30000"},
  };
  fact_watcher watcher(dir.file("memory.db"));
  const double start = now_ms();
  mt::child_process proc({o.binary, "serve"}, env, dir.path());
  if (!proc.wait_for_output("\"server_started\"", 20s)) {
    std::cerr << "memoryd did not start: " << proc.err() << proc.out() << "\n";
    return 1;
  }
  const auto port = port_of(proc.out());
  const double deadline = start + o.timeout_s * 1000.0;

  // 1. backlog
  const bool drained = wait_count(watcher, static_cast<std::size_t>(m_users), deadline);
  std::vector<double> t;
  for (auto& [user, at] : watcher.seen()) t.push_back(at);
  std::sort(t.begin(), t.end());
  double calls_per_s = 0, wall_per_s = 0;
  const int done = static_cast<int>(t.size());
  if (done > pool && t[done - 1] > t[pool - 1])
    calls_per_s = (done - pool) * 1000.0 / (t[done - 1] - t[pool - 1]);
  if (done > 0) wall_per_s = done * 1000.0 / (t[done - 1] - start);
  const double drain_s = done > 0 ? (t[done - 1] - start) / 1000.0 : 0;
  const std::size_t backlog_calls = llm.requests().size();

  // 2. paced
  std::map<std::string, double> sent;
  int http_errors = 0;
  const double p0 = now_ms();
  for (int i = 0; i < paced_n && now_ms() < deadline; ++i) {
    const double due = p0 + i * 1000.0 / paced_rate;
    while (now_ms() < due) std::this_thread::sleep_for(std::chrono::microseconds(500));
    const std::string user = "paced-" + std::to_string(i);
    const double at = now_ms();
    if (!post_message(port, user)) ++http_errors;
    sent[user] = at;
  }
  wait_count(watcher, static_cast<std::size_t>(m_users) + sent.size(),
             std::min(deadline, now_ms() + 30000.0));
  std::vector<double> lags;
  auto seen = watcher.seen();
  for (auto& [user, at] : sent) {
    auto it = seen.find(user);
    if (it != seen.end()) lags.push_back(it->second - at);
  }
  const std::size_t calls = llm.requests().size();

  proc.signal(SIGTERM);
  auto rc = proc.wait(30s);
  if (!o.log_dir.empty()) {
    std::ofstream log(o.log_dir + "/memoryd-pool" + std::to_string(pool) + ".log");
    log << proc.out();
  }
  const double first_wave_s = done >= pool ? (t[pool - 1] - start) / 1000.0 : 0;

  std::printf(
      "{\"bench\":\"pipeline\",\"pool\":%d,\"llm_latency_ms\":%d,\"synchronous\":\"%s\","
      "\"batch_size\":%d,\"interval_ms\":%d,\"backlog_users\":%d,\"backlog_done\":%d,"
      "\"drained\":%s,\"backlog_calls\":%zu,\"calls\":%zu,\"calls_per_s\":%.2f,"
      "\"wall_calls_per_s\":%.2f,\"ideal_per_s\":%.2f,\"efficiency\":%.3f,"
      "\"wall_efficiency\":%.3f,\"first_wave_s\":%.2f,\"drain_s\":%.2f,\"paced_per_s\":%.2f,"
      "\"paced_sent\":%zu,"
      "\"paced_done\":%zu,\"http_errors\":%d,\"lag_p50_ms\":%.1f,\"lag_p99_ms\":%.1f,"
      "\"lag_max_ms\":%.1f,\"exit\":%d}\n",
      pool, o.latency_ms, o.sync.c_str(), o.batch_mult * pool, o.interval_ms, m_users, done,
      drained ? "true" : "false", backlog_calls, calls, calls_per_s, wall_per_s, ideal,
      calls_per_s / ideal, wall_per_s / ideal, first_wave_s, drain_s, paced_rate, sent.size(),
      lags.size(), http_errors, percentile(lags, 0.5), percentile(lags, 0.99),
      lags.empty() ? 0.0 : *std::max_element(lags.begin(), lags.end()), rc ? *rc : -1);
  std::fflush(stdout);
  if (!rc) std::cerr << "memoryd did not exit in time: " << proc.err() << "\n";
  return drained ? 0 : 1;
}

// `url` without its query, with search_path set to `schema`.
std::string schema_url(const std::string& url, const std::string& schema) {
  return url.substr(0, url.find('?')) + "?options=-csearch_path%3D" + schema;
}

double load_avg() {
  std::ifstream in("/proc/loadavg");
  double v = -1;
  in >> v;
  return v;
}

int run_pool_pg(const options& o, int pool, int instances, int round) {
  const int max_instances = *std::max_element(o.instances.begin(), o.instances.end());
  const int m_users = std::max(o.min_users, o.users_per_pool * pool * max_instances);
  const int in_flight = pool * instances;
  const double ideal = in_flight * 1000.0 / o.latency_ms;
  const double paced_rate = o.paced_frac * ideal;
  const int paced_n = std::max(o.paced_min, static_cast<int>(paced_rate * o.paced_s));
  const std::string schema = "bench_pipeline_" + std::to_string(::getpid()) + "_" +
                             std::to_string(round) + "_" + std::to_string(pool) + "_" +
                             std::to_string(instances);
  const std::string url = schema_url(o.url, schema);
  memoryd::pg::connection admin(o.url.substr(0, o.url.find('?')));
  admin.exec("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + schema +
             " CASCADE; CREATE SCHEMA " + schema);
  {
    memoryd::pg::connection c(url);
    memoryd::pg::migrate(c);
  }
  {
    memoryd::pg::conversation_store store(url);
    std::vector<memoryd::new_message> msgs;
    for (int i = 0; i < m_users; ++i)
      msgs.push_back({"backlog-" + std::to_string(i), "user", "I like coffee.", "api", "", 0});
    store.ingest(msgs, memoryd::bench::wall_ms());
  }
  admin.exec("CHECKPOINT");

  mt::fake_llm llm;
  push_fact_answers(llm, 2 * (m_users + paced_n) + 100, o.latency_ms);
  std::map<std::string, std::string> env{
      {"MEMORYD_STORAGE", "postgres"},
      {"DATABASE_URL", url},
      {"MEMORYD_LISTEN", "127.0.0.1:0"},
      {"MEMORYD_LOG_LEVEL", "info"},
      {"MEMORY_PROCESSOR_ENABLED", "true"},
      {"MEMORY_PROCESSOR_INTERVAL_MS", std::to_string(o.interval_ms)},
      {"MEMORY_PROCESSOR_BATCH_SIZE", std::to_string(o.batch_mult * pool)},
      {"MEMORY_PROCESSOR_PER_USER_BATCH_SIZE", std::to_string(o.per_user)},
      {"EXTRACTOR", "openai"},
      {"EXTRACTOR_POOL_SIZE", std::to_string(pool)},
      {"OPENAI_BASE_URL", llm.url() + "/v1"},
      {"OPENAI_MODEL", "fake"},
      {"OPENAI_API_KEY", ""},
      {"LLM_TIMEOUT_MS", "30000"},
  };
  const double load_before = load_avg();
  pg_fact_watcher watcher(url);
  std::vector<std::unique_ptr<mt::temp_dir>> dirs;
  std::vector<std::unique_ptr<mt::child_process>> procs;
  std::vector<std::uint16_t> ports;
  const double start = now_ms();
  for (int i = 0; i < instances; ++i) {
    dirs.push_back(std::make_unique<mt::temp_dir>());
    procs.push_back(std::make_unique<mt::child_process>(std::vector<std::string>{o.binary, "serve"},
                                                        env, dirs.back()->path()));
  }
  bool started = true;
  for (int i = 0; i < instances; ++i) {
    if (!procs[i]->wait_for_output("\"server_started\"", 20s)) {
      std::cerr << "memoryd did not start: " << procs[i]->err() << procs[i]->out() << "\n";
      started = false;
      break;
    }
    ports.push_back(port_of(procs[i]->out()));
  }
  const double deadline = start + o.timeout_s * 1000.0;
  bool drained = false;
  std::vector<double> t;
  std::size_t backlog_calls = 0;
  std::map<std::string, double> sent;
  int http_errors = 0;
  std::vector<double> lags;
  if (started) {
    drained = wait_count(watcher, static_cast<std::size_t>(m_users), deadline);
    for (auto& [user, at] : watcher.seen()) t.push_back(at);
    std::sort(t.begin(), t.end());
    backlog_calls = llm.requests().size();
    const double p0 = now_ms();
    for (int i = 0; i < paced_n && now_ms() < deadline; ++i) {
      const double due = p0 + i * 1000.0 / paced_rate;
      while (now_ms() < due) std::this_thread::sleep_for(std::chrono::microseconds(500));
      const std::string user = "paced-" + std::to_string(i);
      const double at = now_ms();
      if (!post_message(ports[static_cast<std::size_t>(i) % ports.size()], user)) ++http_errors;
      sent[user] = at;
    }
    wait_count(watcher, static_cast<std::size_t>(m_users) + sent.size(),
               std::min(deadline, now_ms() + 30000.0));
    auto seen = watcher.seen();
    for (auto& [user, at] : sent) {
      auto it = seen.find(user);
      if (it != seen.end()) lags.push_back(it->second - at);
    }
  }
  const std::size_t calls = llm.requests().size();
  int exit_code = 0;
  for (std::size_t i = 0; i < procs.size(); ++i) {
    procs[i]->signal(SIGTERM);
    auto rc = procs[i]->wait(30s);
    if (!rc) std::cerr << "memoryd did not exit in time: " << procs[i]->err() << "\n";
    exit_code |= rc ? *rc : -1;
    if (!o.log_dir.empty()) {
      std::ofstream log(o.log_dir + "/memoryd-pg-r" + std::to_string(round) + "-pool" +
                        std::to_string(pool) + "-i" + std::to_string(instances) + "-" +
                        std::to_string(i) + ".log");
      log << procs[i]->out();
    }
  }
  // Each user has one message and one fact: a message claimed twice (attempts > 1) or a second
  // fact of a user would show two instances working on one user (expected 0 and 0).
  const auto claimed_twice =
      admin.exec("SELECT count(*) FROM " + schema + ".messages WHERE attempts > 1").integer(0, 0);
  const auto extra_facts =
      admin.exec("SELECT count(*) - count(DISTINCT user_id) FROM " + schema + ".facts")
          .integer(0, 0);
  const int done = static_cast<int>(t.size());
  double calls_per_s = 0, wall_per_s = 0;
  if (done > in_flight && t[done - 1] > t[in_flight - 1])
    calls_per_s = (done - in_flight) * 1000.0 / (t[done - 1] - t[in_flight - 1]);
  if (done > 0) wall_per_s = done * 1000.0 / (t[done - 1] - start);
  const double drain_s = done > 0 ? (t[done - 1] - start) / 1000.0 : 0;
  const double first_wave_s = done >= in_flight ? (t[in_flight - 1] - start) / 1000.0 : 0;
  std::printf(
      "{\"bench\":\"pipeline\",\"backend\":\"postgres\",\"round\":%d,\"instances\":%d,"
      "\"pool\":%d,\"llm_latency_ms\":%d,\"batch_size\":%d,\"interval_ms\":%d,"
      "\"backlog_users\":%d,\"backlog_done\":%d,\"drained\":%s,\"backlog_calls\":%zu,"
      "\"calls\":%zu,\"messages_claimed_twice\":%lld,\"extra_facts\":%lld,"
      "\"calls_per_s\":%.2f,"
      "\"wall_calls_per_s\":%.2f,\"ideal_per_s\":%.2f,\"efficiency\":%.3f,"
      "\"wall_efficiency\":%.3f,\"first_wave_s\":%.2f,\"drain_s\":%.2f,"
      "\"paced_per_s\":%.2f,\"paced_sent\":%zu,\"paced_done\":%zu,\"http_errors\":%d,"
      "\"lag_p50_ms\":%.1f,\"lag_p99_ms\":%.1f,\"lag_max_ms\":%.1f,\"load_avg\":%.2f,"
      "\"exit\":%d}\n",
      round, instances, pool, o.latency_ms, o.batch_mult * pool, o.interval_ms, m_users, done,
      drained ? "true" : "false", backlog_calls, calls, static_cast<long long>(claimed_twice),
      static_cast<long long>(extra_facts), calls_per_s, wall_per_s, ideal, calls_per_s / ideal,
      wall_per_s / ideal, first_wave_s, drain_s, paced_rate, sent.size(), lags.size(), http_errors,
      percentile(lags, 0.5), percentile(lags, 0.99),
      lags.empty() ? 0.0 : *std::max_element(lags.begin(), lags.end()), load_before, exit_code);
  std::fflush(stdout);
  admin.exec("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  return drained ? 0 : 1;
}

int usage() {
  std::cerr << "usage: bench_pipeline [--pools 1,4,16,64] [--latency-ms 200] "
               "[--users-per-pool 20] [--min-users 100] [--interval-ms 100] [--batch-mult 4] "
               "[--per-user 25] [--sync full|normal] [--paced-s 5] [--paced-min 20] "
               "[--paced-frac 0.5] [--timeout-s 180] [--binary PATH] [--log-dir DIR]\n"
               "       bench_pipeline --backend postgres --url URL [--instances 1,2] "
               "[--rounds R] [--pools 8,32] [other options as above]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    if (a == "--pools") {
      o.pools.clear();
      for (auto& s : split(v)) o.pools.push_back(std::stoi(s));
    } else if (a == "--latency-ms") {
      o.latency_ms = std::stoi(v);
    } else if (a == "--users-per-pool") {
      o.users_per_pool = std::stoi(v);
    } else if (a == "--min-users") {
      o.min_users = std::stoi(v);
    } else if (a == "--interval-ms") {
      o.interval_ms = std::stoi(v);
    } else if (a == "--batch-mult") {
      o.batch_mult = std::stoi(v);
    } else if (a == "--per-user") {
      o.per_user = std::stoi(v);
    } else if (a == "--sync") {
      o.sync = v;
    } else if (a == "--paced-s") {
      o.paced_s = std::stod(v);
    } else if (a == "--paced-min") {
      o.paced_min = std::stoi(v);
    } else if (a == "--paced-frac") {
      o.paced_frac = std::stod(v);
    } else if (a == "--timeout-s") {
      o.timeout_s = std::stoi(v);
    } else if (a == "--binary") {
      o.binary = v;
    } else if (a == "--log-dir") {
      o.log_dir = v;
    } else if (a == "--backend") {
      o.backend = v;
    } else if (a == "--url") {
      o.url = v;
    } else if (a == "--instances") {
      o.instances.clear();
      for (auto& s : split(v)) o.instances.push_back(std::stoi(s));
    } else if (a == "--rounds") {
      o.rounds = std::stoi(v);
    } else {
      return usage();
    }
  }
  for (int p : o.pools)
    if (p < 1 || p > 256) return usage();
  if (o.latency_ms < 1 || o.paced_frac <= 0) return usage();
  if (o.backend == "postgres") {
    if (o.url.empty() || o.instances.empty() || o.rounds < 1 || o.rounds > 20) return usage();
    for (int n : o.instances)
      if (n < 1 || n > 8) return usage();
    int rc = 0;
    for (int r = 1; r <= o.rounds; ++r)
      for (int p : o.pools) {
        const auto k = o.instances.size();
        for (std::size_t j = 0; j < k; ++j)  // the order of the instance counts rotates
          rc |= run_pool_pg(o, p, o.instances[(j + static_cast<std::size_t>(r) - 1) % k], r);
      }
    return rc;
  }
  if (o.backend != "sqlite") return usage();
  int rc = 0;
  for (int p : o.pools) rc |= run_pool(o, p);
  return rc;
}
