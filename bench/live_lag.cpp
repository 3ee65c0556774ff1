// Live lag behind a history import (issue 18): how long a live message waits for its fact
// while a million backfill messages are pending, with priorities and without.
//
// usage: bench_live_lag [--backfill 1000000] [--backfill-users 100000] [--modes priorities,fifo]
//                       [--rounds 1] [--pool 8] [--latency-ms 200] [--batch-mult 4]
//                       [--per-user 25] [--interval-ms 100] [--live-rate 2] [--live-s 30]
//                       [--grace-s 10] [--backfill-share 0.2] [--binary PATH]
//
// For each round and mode (the modes alternate, the first one changing each round), with the
// real memoryd binary on temporary databases:
//  1. conversation.db is prefilled with `backfill` messages spread round-robin over
//     `backfill_users` users (an import: one transaction per 10,000). Mode `priorities`
//     stores them as backfill (what `memoryd import` does); mode `fifo` stores them as live,
//     which is the scheduling without priorities: one class, FIFO over users.
//  2. memoryd serve starts (EXTRACTOR=openai against a fake LLM on 127.0.0.1 that answers
//     every request after latency_ms with one "add"; pool, batch_size = batch_mult * pool).
//  3. Live traffic: one message per new user over HTTP (POST /v1/messages, priority live) at
//     live_rate per second for live_s seconds. A reader polls memory.db every 5 ms; lag =
//     the user's fact visible - POST sent.
//  4. After the last POST the run waits at most grace_s for the live facts, then stops
//     memoryd. A live message without a fact by then is censored: its lag counts as at least
//     (end - sent), so the reported percentiles are lower bounds when `censored` > 0.
// One JSON line per (round, mode): live lag p50 / p99 / max, live messages done and
// censored, backfill messages done during the run (their rate is what backfill still gets).
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.hpp"
#include "bench/pipeline_watch.hpp"
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
using memoryd::bench::wall_ms;
using namespace std::chrono_literals;
namespace mt = memoryd::testing;

struct options {
  std::int64_t backfill = 1000000;
  int backfill_users = 100000;
  std::vector<std::string> modes{"priorities", "fifo"};
  int rounds = 1;
  int pool = 8;
  int latency_ms = 200;
  int batch_mult = 4;
  int per_user = 25;
  int interval_ms = 100;
  double live_rate = 2;
  double live_s = 30;
  double grace_s = 10;
  double backfill_share = 0.2;
  std::string binary = MEMORYD_BINARY;
};

void prefill(const std::string& path, const options& o, memoryd::message_priority priority) {
  memoryd::sqlite::conversation_store store({path, "normal", 5000});
  const std::int64_t now = wall_ms();
  std::vector<memoryd::new_message> msgs;
  for (std::int64_t i = 0; i < o.backfill; ++i) {
    memoryd::new_message m{"import-" + std::to_string(i % o.backfill_users),
                           "user",
                           "I like coffee.",
                           "api",
                           "",
                           now - o.backfill + i};
    m.priority = priority;
    msgs.push_back(std::move(m));
    if (msgs.size() == 10000 || i + 1 == o.backfill) {
      store.ingest(msgs, now);
      msgs.clear();
    }
  }
}

std::int64_t count_done(const std::string& path) {
  sqlite3* db = nullptr;
  std::int64_t n = -1;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(db,
                         "SELECT count(*) FROM messages WHERE status = 'done' AND user_id LIKE "
                         "'import-%'",
                         -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

int run_mode(const options& o, const std::string& mode, int round) {
  mt::temp_dir dir;
  const auto prefill_start = now_ms();
  prefill(dir.file("conversation.db"), o,
          mode == "fifo" ? memoryd::message_priority::live : memoryd::message_priority::backfill);
  const double prefill_s = (now_ms() - prefill_start) / 1000.0;

  mt::fake_llm llm;
  // Enough answers for the whole run at the pool's full rate, with room to spare.
  const double run_s = o.live_s + o.grace_s + 30;
  push_fact_answers(llm, static_cast<int>(run_s * o.pool * 1000.0 / o.latency_ms) + 100,
                    o.latency_ms);

  std::map<std::string, std::string> env{
      {"CONVERSATION_DB_PATH", dir.file("conversation.db")},
      {"MEMORY_DB_PATH", dir.file("memory.db")},
      {"MEMORYD_LISTEN", "127.0.0.1:0"},
      {"MEMORYD_LOG_LEVEL", "info"},  // server_started (the port) is info
      {"MEMORY_PROCESSOR_ENABLED", "true"},
      {"MEMORY_PROCESSOR_INTERVAL_MS", std::to_string(o.interval_ms)},
      {"MEMORY_PROCESSOR_BATCH_SIZE", std::to_string(o.batch_mult * o.pool)},
      {"MEMORY_PROCESSOR_PER_USER_BATCH_SIZE", std::to_string(o.per_user)},
      {"MEMORY_PROCESSOR_BACKFILL_SHARE", std::to_string(o.backfill_share)},
      {"EXTRACTOR", "openai"},
      {"EXTRACTOR_POOL_SIZE", std::to_string(o.pool)},
      {"OPENAI_BASE_URL", llm.url() + "/v1"},
      {"OPENAI_MODEL", "fake"},
      {"OPENAI_API_KEY", ""},
      {"LLM_TIMEOUT_MS", "30000"},
  };
  fact_watcher watcher(dir.file("memory.db"));
  mt::child_process proc({o.binary, "serve"}, env, dir.path());
  if (!proc.wait_for_output("\"server_started\"", 60s)) {
    std::cerr << "memoryd did not start: " << proc.err() << proc.out() << "\n";
    return 1;
  }
  const auto port = port_of(proc.out());
  const double start = now_ms();

  // Live traffic at a steady rate, one new user per message.
  std::map<std::string, double> sent;
  int http_errors = 0;
  const int live_n = static_cast<int>(o.live_rate * o.live_s);
  for (int i = 0; i < live_n; ++i) {
    const double due = start + i * 1000.0 / o.live_rate;
    while (now_ms() < due) std::this_thread::sleep_for(1ms);
    const std::string user = "live-" + std::to_string(i);
    const double at = now_ms();
    if (!post_message(port, user)) ++http_errors;
    sent[user] = at;
  }
  auto live_done = [&] {
    auto seen = watcher.seen();
    std::size_t n = 0;
    for (auto& [user, at] : sent) n += seen.count(user);
    return n;
  };
  const double grace_end = now_ms() + o.grace_s * 1000.0;
  while (live_done() < sent.size() && now_ms() < grace_end) std::this_thread::sleep_for(20ms);
  const double end = now_ms();
  const auto seen = watcher.seen();
  const std::size_t calls = llm.requests().size();
  proc.signal(SIGTERM);
  auto rc = proc.wait(60s);
  const std::int64_t backfill_done = count_done(dir.file("conversation.db"));

  std::vector<double> lags;
  std::size_t done = 0;
  for (auto& [user, at] : sent) {
    auto it = seen.find(user);
    if (it != seen.end()) {
      lags.push_back(it->second - at);
      ++done;
    } else {
      lags.push_back(end - at);  // censored: at least this long
    }
  }
  std::printf(
      "{\"bench\":\"live_lag\",\"round\":%d,\"mode\":\"%s\",\"backfill\":%lld,"
      "\"backfill_users\":%d,\"prefill_s\":%.1f,\"pool\":%d,\"llm_latency_ms\":%d,"
      "\"batch_size\":%d,\"per_user\":%d,\"interval_ms\":%d,\"backfill_share\":%.2f,"
      "\"live_rate\":%.2f,\"live_sent\":%zu,\"live_done\":%zu,\"censored\":%zu,"
      "\"http_errors\":%d,\"lag_p50_ms\":%.1f,\"lag_p99_ms\":%.1f,\"lag_max_ms\":%.1f,"
      "\"run_s\":%.1f,\"llm_calls\":%zu,\"backfill_done\":%lld,\"backfill_done_per_s\":%.1f,"
      "\"exit\":%d}\n",
      round, mode.c_str(), static_cast<long long>(o.backfill), o.backfill_users, prefill_s, o.pool,
      o.latency_ms, o.batch_mult * o.pool, o.per_user, o.interval_ms, o.backfill_share, o.live_rate,
      sent.size(), done, sent.size() - done, http_errors, percentile(lags, 0.5),
      percentile(lags, 0.99), lags.empty() ? 0.0 : *std::max_element(lags.begin(), lags.end()),
      (end - start) / 1000.0, calls, static_cast<long long>(backfill_done),
      backfill_done * 1000.0 / (end - start), rc ? *rc : -1);
  std::fflush(stdout);
  if (!rc) std::cerr << "memoryd did not exit in time: " << proc.err() << "\n";
  return rc && *rc == 0 && http_errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--backfill")
      o.backfill = std::stoll(next());
    else if (a == "--backfill-users")
      o.backfill_users = std::stoi(next());
    else if (a == "--modes")
      o.modes = split(next());
    else if (a == "--rounds")
      o.rounds = std::stoi(next());
    else if (a == "--pool")
      o.pool = std::stoi(next());
    else if (a == "--latency-ms")
      o.latency_ms = std::stoi(next());
    else if (a == "--batch-mult")
      o.batch_mult = std::stoi(next());
    else if (a == "--per-user")
      o.per_user = std::stoi(next());
    else if (a == "--interval-ms")
      o.interval_ms = std::stoi(next());
    else if (a == "--live-rate")
      o.live_rate = std::stod(next());
    else if (a == "--live-s")
      o.live_s = std::stod(next());
    else if (a == "--grace-s")
      o.grace_s = std::stod(next());
    else if (a == "--backfill-share")
      o.backfill_share = std::stod(next());
    else if (a == "--binary")
      o.binary = next();
    else {
      std::cerr << "usage: bench_live_lag [--backfill N] [--backfill-users U] "
                   "[--modes priorities,fifo] [--rounds R] [--pool P] [--latency-ms L] "
                   "[--batch-mult B] [--per-user K] [--interval-ms I] [--live-rate R] "
                   "[--live-s S] [--grace-s G] [--backfill-share F] [--binary PATH]\n";
      return 2;
    }
  }
  if (o.backfill_users < 1 || o.live_rate <= 0 || o.pool < 1) {
    std::cerr << "--backfill-users, --live-rate and --pool must be positive\n";
    return 2;
  }
  int rc = 0;
  for (int round = 1; round <= o.rounds; ++round) {
    auto modes = o.modes;
    if (round % 2 == 0) std::reverse(modes.begin(), modes.end());
    for (auto& mode : modes) {
      if (mode != "priorities" && mode != "fifo") {
        std::cerr << "unknown mode " << mode << " (priorities, fifo)\n";
        return 2;
      }
      rc |= run_mode(o, mode, round);
    }
  }
  return rc;
}
