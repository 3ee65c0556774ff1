// Claim cost against a large backlog: conversation_store::claim at N pending user messages.
//
// usage: bench_claim [--pending 10000,100000,1000000] [--users 1000]
//                    [--layout spread,one_user_half] [--sync full,normal] [--claims 50]
//                    [--batch 100] [--per-user 25] [--dir DIR] [--context]
//
// --context: the claims read each message's context (the assistant turn before it), as they
// do for an LLM extractor; the fill holds user messages only, so each probe finds none.
//
// For each N and layout, fills a fresh conversation.db (a real file in a temporary directory,
// or DIR) with N pending user messages: bulk ingest through the store's own ingest path in
// transactions of 10,000 messages with synchronous=normal (the fill is not what is measured).
//   spread         message i belongs to user i % U (every user has N/U waiting messages)
//   one_user_half  the oldest N/2 messages belong to one user, the rest spread over the
//                  other U-1 users (the FIFO head is a user with half the backlog)
//   backfill_live  the N messages are backfill (an import), spread; then 10,000 live
//                  messages, one for each of 10,000 other users, written now (issue 18).
//                  With --quiet-ms Q those live users are inside their quiet period for
//                  the first Q ms of the claims: the rows a claim reads past its batch.
// --quiet-ms Q (default 0) and --backfill-share S (default 0.2) go into every claim_request.
// Then, for each synchronous mode, reopens the database with that mode and runs K times:
// claim(batch, per_user) (timed), then mark_done of every claimed user batch (timed
// separately), so that each claim does real work on a fresh head. Prints one JSON line per
// (N, layout, synchronous) with median / p90 / max of the claim and the process RSS after the
// claims (VmRSS) and its peak during the claims (VmHWM, reset after the fill through
// /proc/self/clear_refs). Then, untimed, 5 more claims report how many WAL pages a claim and
// its mark_done write (checkpoint before each, PRAGMA wal_checkpoint after).
//
// PostgreSQL (issue 15):
//   bench_claim --backend postgres --url URL [--pending 1000000] [--users 1000,100000]
//               [--layout spread,one_user_half,backfill_live] [--claims 200] [--claimers 1,2]
//               [--batch 100] [--per-user 25] [--explain]
// For each N, U and layout, a schema of its own (bench_claim_*, dropped afterwards) is
// migrated and filled straight in SQL with what the store's ingest would have written: N
// pending user messages (INSERT ... SELECT generate_series, seq in arrival order, one
// statement) and one user_queue row per user (head_seq = the user's oldest message,
// available_at 0), then VACUUM ANALYZE and CHECKPOINT (the fill is not what is measured; a
// live database gets the same from autovacuum). Then for each claimer count C, C threads
// with a store (a connection) each run K claims, each followed by mark_done of every user
// batch it got (the batcher's outcome path, timed per call and per claim). One JSON line per
// (N, U, layout, C): claim p50 / p99 / max, mark_done p50 / p99 per call and per claim,
// claims/s and messages/s over all threads, WAL bytes per claim + its mark_dones.
// --explain prints the claim's plan (EXPLAIN with the first chunk's parameters) to stderr.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/conversation_store.hpp"
#include "store/postgres/schema.hpp"
#include "store/sqlite/conversation_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using memoryd::bench::percentile;
using memoryd::bench::split;
using memoryd::bench::wall_ms;

using memoryd::millis;
using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// VmRSS / VmHWM from /proc/self/status, in MB.
double proc_status_mb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream s(line.substr(key.size() + 1));
      double kb = 0;
      s >> kb;
      return kb / 1024.0;
    }
  }
  return -1;
}

double load_avg() {
  std::ifstream in("/proc/loadavg");
  double v = -1;
  in >> v;
  return v;
}

void reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

const char* k_contents[] = {
    "I have a dog named Max and I'm allergic to peanuts.",
    "I live in Boston and I love hiking on weekends.",
    "hey how are you doing today? lol",
    "My wife's name is Anna and we just moved here from Chicago last spring.",
    "i work as a nurse at the children's hospital",
    "thanks so much! talk to you later",
};

std::string user_name(std::int64_t u) { return "+1555" + std::to_string(1000000 + u); }

// Fills `path` with n pending user messages in the given layout.
double fill(const std::string& path, std::int64_t n, std::int64_t users,
            const std::string& layout) {
  memoryd::sqlite::conversation_store store({path, "normal", 5000});
  const auto t0 = clock_type::now();
  const millis base = wall_ms() - n;  // created_at increases with arrival order
  constexpr std::int64_t chunk = 10000;
  std::vector<memoryd::new_message> msgs;
  for (std::int64_t i = 0; i < n;) {
    msgs.clear();
    for (std::int64_t j = 0; j < chunk && i < n; ++j, ++i) {
      std::int64_t u = 0;
      if (layout == "spread" || layout == "backfill_live")
        u = i % users;
      else  // one_user_half: user 0 owns the oldest half
        u = i < n / 2 ? 0 : 1 + (i % (users - 1));
      memoryd::new_message m;
      m.user_id = user_name(u);
      m.role = "user";
      m.content = k_contents[i % (sizeof k_contents / sizeof k_contents[0])];
      m.channel = "sms";
      m.created_at = base + i;
      if (layout == "backfill_live") m.priority = memoryd::message_priority::backfill;
      msgs.push_back(std::move(m));
    }
    store.ingest(msgs, wall_ms());
  }
  if (layout == "backfill_live") {
    msgs.clear();
    const millis now = wall_ms();
    for (std::int64_t u = 0; u < 10000; ++u) {
      memoryd::new_message m;
      m.user_id = user_name(users + u);
      m.role = "user";
      m.content = k_contents[u % (sizeof k_contents / sizeof k_contents[0])];
      m.channel = "sms";
      m.created_at = now;
      msgs.push_back(std::move(m));
    }
    store.ingest(msgs, now);
  }
  store.db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return ms_since(t0);
}

// Frames in the WAL now (after a TRUNCATE checkpoint: the frames written since).
double wal_frames(memoryd::sqlite::conversation_store& store) {
  auto st = store.db().prepare("PRAGMA wal_checkpoint(PASSIVE)");
  return st.step() ? static_cast<double>(st.col_int(1)) : -1;
}

struct options {
  std::string backend = "sqlite";
  std::string url;  // postgres
  bool explain = false;
  std::vector<int> claimers{1};  // postgres
  std::vector<std::int64_t> pending{10000, 100000, 1000000};
  std::vector<std::int64_t> users{1000};
  std::vector<std::string> layouts{"spread", "one_user_half"};
  std::vector<std::string> syncs{"full", "normal"};
  int claims = 50;
  int batch = 100;
  int per_user = 25;
  millis quiet_ms = 0;
  double backfill_share = 0.2;
  bool context = false;  // claims read the assistant turn before each message (LLM extractors)
  std::string dir;
};

int usage() {
  std::cerr << "usage: bench_claim [--pending N,...] [--users U,...] "
               "[--layout spread,one_user_half] [--sync full,normal] [--claims K] [--batch B] "
               "[--per-user P] [--dir DIR] [--quiet-ms Q] [--backfill-share S] [--context]\n"
               "       (layouts: spread, one_user_half, backfill_live)\n"
               "       bench_claim --backend postgres --url URL [--pending N,...] [--users U,...] "
               "[--layout ...] [--claims K] [--claimers C,...] [--batch B] [--per-user P] "
               "[--explain] [--context]\n";
  return 2;
}

// ---- PostgreSQL ----

// `url` without its query, with search_path set to `schema`.
std::string schema_url(const std::string& url, const std::string& schema) {
  return url.substr(0, url.find('?')) + "?options=-csearch_path%3D" + schema;
}

// What the store's ingest writes for n pending user messages in the layout, in one
// statement each: messages in arrival order (seq = 1..n, created_at increasing, a
// time-ordered UUIDv7-shaped id, no external id), then a user_queue row per user at their
// oldest message.
double fill_pg(memoryd::pg::connection& c, std::int64_t n, std::int64_t users,
               const std::string& layout) {
  const auto t0 = clock_type::now();
  const std::string user_expr =
      layout != "one_user_half" ? "i % " + std::to_string(users)
                                : "CASE WHEN i < " + std::to_string(n / 2) +
                                      " THEN 0 ELSE 1 + i % " + std::to_string(users - 1) + " END";
  const std::string base = std::to_string(wall_ms() - n);
  std::string contents = "ARRAY[";
  const std::size_t k = sizeof k_contents / sizeof k_contents[0];
  for (std::size_t j = 0; j < k; ++j) {
    std::string text = k_contents[j];
    std::string quoted;
    for (char ch : text) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
    contents += (j ? ",'" : "'") + quoted + "'";
  }
  contents += "]";
  c.exec(
      "INSERT INTO messages (seq, id, user_id, role, content, channel, created_at, status, "
      "priority) SELECT i + 1, substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(h, 14, "
      "3) || "
      "'-' || substr(h, 17, 4) || '-' || substr(h, 21, 12), "
      "'+1555' || (1000000 + " +
      user_expr + "), 'user', (" + contents + ")[1 + i % " + std::to_string(k) + "], 'sms', " +
      base + " + i, 'pending', " + std::string(layout == "backfill_live" ? "1" : "0") +
      " "
      "FROM generate_series(0, " +
      std::to_string(n - 1) +
      ") AS i, "
      "LATERAL (SELECT lpad(to_hex(" +
      base +
      " + i), 12, '0') || md5(i::text) AS h) AS x "
      "ORDER BY i");
  std::int64_t total = n;
  if (layout == "backfill_live") {
    // The N are an import; then one live message, written now, for each of 10,000 other users.
    const std::string now = std::to_string(wall_ms());
    c.exec(
        "INSERT INTO messages (seq, id, user_id, role, content, channel, created_at, status) "
        "SELECT " +
        std::to_string(n) +
        " + i + 1, md5('live' || i)::uuid::text, '+1555' || "
        "(1000000 + " +
        std::to_string(users) + " + i), 'user', 'I moved to Denver', 'sms', " + now +
        ", 'pending' FROM generate_series(0, 9999) AS i");
    total += 10000;
  }
  c.exec("SELECT setval(pg_get_serial_sequence('messages', 'seq'), " + std::to_string(total) + ")");
  c.exec(
      "INSERT INTO user_queue (user_id, head_seq, live_seq) "
      "SELECT user_id, min(seq), COALESCE(min(seq) FILTER (WHERE priority = 0), 0) "
      "FROM messages WHERE status = 'pending' GROUP BY user_id");
  c.exec("VACUUM ANALYZE messages");
  c.exec("VACUUM ANALYZE user_queue");
  c.exec("CHECKPOINT");
  return ms_since(t0);
}

struct pg_thread_result {
  std::vector<double> claim_ms, done_call_ms, done_claim_ms;
  std::int64_t claimed = 0, empty = 0, users = 0, live = 0, backfill = 0;
  std::string error;
};

void pg_claimer(const std::string& url, const options& o, pg_thread_result& out) {
  try {
    memoryd::pg::conversation_store store(url);
    for (int k = 0; k < o.claims; ++k) {
      memoryd::claim_request req;
      req.now = wall_ms();
      req.batch_size = o.batch;
      req.per_user_batch_size = o.per_user;
      req.quiet_ms = o.quiet_ms;
      req.backfill_share = o.backfill_share;
      req.with_context = o.context;
      const auto t0 = clock_type::now();
      auto res = store.claim(req);
      out.claim_ms.push_back(ms_since(t0));
      if (res.users.empty()) ++out.empty;
      for (auto& u : res.users)
        for (auto& m : u.messages)
          (m.priority == memoryd::message_priority::live ? out.live : out.backfill)++;
      const auto t1 = clock_type::now();
      for (auto& u : res.users) {
        std::vector<std::string> ids;
        for (auto& m : u.messages) ids.push_back(m.id);
        out.claimed += static_cast<std::int64_t>(ids.size());
        ++out.users;
        const auto t2 = clock_type::now();
        store.mark_done(u.user_id, ids, wall_ms(), "", u.lease_until);
        out.done_call_ms.push_back(ms_since(t2));
      }
      out.done_claim_ms.push_back(ms_since(t1));
    }
  } catch (const std::exception& e) {
    out.error = e.what();
  }
}

std::int64_t wal_lsn(memoryd::pg::connection& c) {
  return c.exec("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").integer(0, 0);
}

int run_postgres(const options& o) {
  memoryd::pg::connection admin(o.url.substr(0, o.url.find('?')));
  int rc = 0;
  for (auto n : o.pending) {
    for (auto users : o.users) {
      for (const auto& layout : o.layouts) {
        const std::string schema = "bench_claim_" + std::to_string(::getpid()) + "_" +
                                   std::to_string(n) + "_" + std::to_string(users) + "_" +
                                   layout.substr(0, 1);
        const std::string url = schema_url(o.url, schema);
        admin.exec("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + schema +
                   " CASCADE; CREATE SCHEMA " + schema);
        double fill = 0;
        {
          memoryd::pg::connection c(url);
          memoryd::pg::migrate(c);
          fill = fill_pg(c, n, users, layout);
        }
        if (o.explain) {
          memoryd::pg::conversation_store store(url);
          std::cerr << "claim plan (" << n << " pending, " << users << " users, " << layout
                    << "):\n";
          for (auto& line : store.explain_claim()) std::cerr << "  " << line << "\n";
        }
        for (int claimers : o.claimers) {
          std::vector<pg_thread_result> res(static_cast<std::size_t>(claimers));
          const auto lsn0 = wal_lsn(admin);
          const auto t0 = clock_type::now();
          {
            std::vector<std::thread> threads;
            for (int t = 0; t < claimers; ++t)
              threads.emplace_back(pg_claimer, url, std::cref(o), std::ref(res[t]));
            for (auto& t : threads) t.join();
          }
          const double wall_s = ms_since(t0) / 1000.0;
          const auto wal = wal_lsn(admin) - lsn0;
          pg_thread_result all;
          for (auto& r : res) {
            all.claim_ms.insert(all.claim_ms.end(), r.claim_ms.begin(), r.claim_ms.end());
            all.done_call_ms.insert(all.done_call_ms.end(), r.done_call_ms.begin(),
                                    r.done_call_ms.end());
            all.done_claim_ms.insert(all.done_claim_ms.end(), r.done_claim_ms.begin(),
                                     r.done_claim_ms.end());
            all.claimed += r.claimed;
            all.empty += r.empty;
            all.users += r.users;
            all.live += r.live;
            all.backfill += r.backfill;
            if (!r.error.empty()) all.error = r.error;
          }
          if (!all.error.empty()) {
            std::cerr << "bench_claim: " << all.error << "\n";
            rc = 1;
          }
          const double claims = static_cast<double>(all.claim_ms.size());
          std::printf(
              "{\"bench\":\"claim\",\"backend\":\"postgres\",\"pending\":%lld,"
              "\"users\":%lld,\"layout\":\"%s\",\"claimers\":%d,\"claims\":%.0f,"
              "\"batch\":%d,\"per_user\":%d,\"claimed\":%lld,\"users_per_claim\":%.2f,"
              "\"empty_claims\":%lld,\"median_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
              "\"max_ms\":%.3f,\"first_ms\":%.3f,\"done_call_median_ms\":%.3f,"
              "\"done_call_p99_ms\":%.3f,\"done_median_ms\":%.3f,\"done_p99_ms\":%.3f,"
              "\"cycles_per_s\":%.1f,\"messages_per_s\":%.0f,\"wal_bytes_per_cycle\":%.0f,"
              "\"fill_s\":%.1f,\"load_avg\":%.2f,\"quiet_ms\":%lld,\"claimed_live\":%lld,"
              "\"claimed_backfill\":%lld,\"context\":%s}\n",
              static_cast<long long>(n), static_cast<long long>(users), layout.c_str(), claimers,
              claims, o.batch, o.per_user, static_cast<long long>(all.claimed),
              all.claim_ms.empty() ? 0.0 : static_cast<double>(all.users) / claims,
              static_cast<long long>(all.empty), percentile(all.claim_ms, 0.5),
              percentile(all.claim_ms, 0.9), percentile(all.claim_ms, 0.99),
              all.claim_ms.empty() ? 0.0
                                   : *std::max_element(all.claim_ms.begin(), all.claim_ms.end()),
              res.front().claim_ms.empty() ? 0.0 : res.front().claim_ms.front(),
              percentile(all.done_call_ms, 0.5), percentile(all.done_call_ms, 0.99),
              percentile(all.done_claim_ms, 0.5), percentile(all.done_claim_ms, 0.99),
              wall_s > 0 ? claims / wall_s : 0.0, wall_s > 0 ? all.claimed / wall_s : 0.0,
              claims > 0 ? static_cast<double>(wal) / claims : 0.0, fill / 1000.0, load_avg(),
              static_cast<long long>(o.quiet_ms), static_cast<long long>(all.live),
              static_cast<long long>(all.backfill), o.context ? "true" : "false");
          std::fflush(stdout);
        }
        admin.exec("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + schema +
                   " CASCADE");
      }
    }
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--explain") {
      o.explain = true;
      continue;
    }
    if (a == "--context") {
      o.context = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    if (a == "--backend") {
      o.backend = v;
    } else if (a == "--url") {
      o.url = v;
    } else if (a == "--claimers") {
      o.claimers.clear();
      for (auto& s : split(v)) o.claimers.push_back(std::stoi(s));
    } else if (a == "--pending") {
      o.pending.clear();
      for (auto& s : split(v)) o.pending.push_back(std::stoll(s));
    } else if (a == "--users") {
      o.users.clear();
      for (auto& s : split(v)) o.users.push_back(std::stoll(s));
    } else if (a == "--layout") {
      o.layouts = split(v);
    } else if (a == "--sync") {
      o.syncs = split(v);
    } else if (a == "--claims") {
      o.claims = std::stoi(v);
    } else if (a == "--batch") {
      o.batch = std::stoi(v);
    } else if (a == "--per-user") {
      o.per_user = std::stoi(v);
    } else if (a == "--quiet-ms") {
      o.quiet_ms = std::atoll(v.c_str());
    } else if (a == "--backfill-share") {
      o.backfill_share = std::atof(v.c_str());
    } else if (a == "--dir") {
      o.dir = v;
    } else {
      return usage();
    }
  }
  if (o.users.empty() || o.claims < 1 || o.claims > 100000) return usage();
  for (auto u : o.users)
    if (u < 2) return usage();
  for (auto c : o.claimers)
    if (c < 1 || c > 64) return usage();
  for (auto& l : o.layouts)
    if (l != "spread" && l != "one_user_half" && l != "backfill_live") return usage();
  if (o.backend == "postgres") {
    if (o.url.empty()) return usage();
    return run_postgres(o);
  }
  if (o.backend != "sqlite") return usage();
  const std::int64_t users = o.users.front();

  memoryd::testing::temp_dir tmp;
  const std::string dir = o.dir.empty() ? tmp.path() : o.dir;
  for (auto n : o.pending) {
    for (const auto& layout : o.layouts) {
      const std::string path = dir + "/claim-" + std::to_string(n) + "-" + layout + ".db";
      for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
      const double fill_ms = fill(path, n, users, layout);
      for (const auto& sync : o.syncs) {
        std::vector<double> claim_ms, done_ms, claim_frames, done_frames, done_txns;
        std::int64_t claimed = 0, claimed_live = 0, claimed_backfill = 0;
        double open_ms = 0, rss = 0, hwm = 0;
        {
          reset_peak_rss();
          const auto t_open = clock_type::now();
          memoryd::sqlite::conversation_store store({path, sync, 5000});
          open_ms = ms_since(t_open);
          for (int k = 0; k < o.claims; ++k) {
            memoryd::claim_request req;
            req.now = wall_ms();
            req.batch_size = o.batch;
            req.per_user_batch_size = o.per_user;
            req.quiet_ms = o.quiet_ms;
            req.backfill_share = o.backfill_share;
            req.with_context = o.context;
            const auto t0 = clock_type::now();
            auto res = store.claim(req);
            claim_ms.push_back(ms_since(t0));
            for (auto& u : res.users)
              for (auto& m : u.messages)
                (m.priority == memoryd::message_priority::live ? claimed_live : claimed_backfill)++;
            const auto t1 = clock_type::now();
            for (auto& u : res.users) {
              std::vector<std::string> ids;
              for (auto& m : u.messages) ids.push_back(m.id);
              claimed += static_cast<std::int64_t>(ids.size());
              store.mark_done(u.user_id, ids, wall_ms());
            }
            done_ms.push_back(ms_since(t1));
          }
          rss = proc_status_mb("VmRSS");
          hwm = proc_status_mb("VmHWM");
          // Diagnostic, not timed: WAL frames (pages) one claim and its mark_done write.
          for (int k = 0; k < 5; ++k) {
            store.db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
            memoryd::claim_request req;
            req.now = wall_ms();
            req.batch_size = o.batch;
            req.per_user_batch_size = o.per_user;
            auto res = store.claim(req);
            claim_frames.push_back(wal_frames(store));
            store.db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
            for (auto& u : res.users) {
              std::vector<std::string> ids;
              for (auto& m : u.messages) ids.push_back(m.id);
              store.mark_done(u.user_id, ids, wall_ms());
            }
            done_frames.push_back(wal_frames(store));
            done_txns.push_back(static_cast<double>(res.users.size()));
          }
        }
        std::printf(
            "{\"bench\":\"claim\",\"pending\":%lld,\"users\":%lld,\"layout\":\"%s\","
            "\"synchronous\":\"%s\",\"claims\":%d,\"batch\":%d,\"per_user\":%d,"
            "\"claimed\":%lld,\"median_ms\":%.3f,\"p90_ms\":%.3f,\"max_ms\":%.3f,"
            "\"first_ms\":%.3f,\"done_median_ms\":%.3f,\"open_ms\":%.1f,\"fill_s\":%.1f,"
            "\"rss_mb\":%.1f,\"peak_rss_mb\":%.1f,\"claim_wal_pages\":%.0f,"
            "\"done_wal_pages\":%.0f,\"done_txns\":%.0f,\"quiet_ms\":%lld,"
            "\"claimed_live\":%lld,\"claimed_backfill\":%lld,\"context\":%s}\n",
            static_cast<long long>(n), static_cast<long long>(users), layout.c_str(), sync.c_str(),
            o.claims, o.batch, o.per_user, static_cast<long long>(claimed),
            percentile(claim_ms, 0.5), percentile(claim_ms, 0.9),
            *std::max_element(claim_ms.begin(), claim_ms.end()), claim_ms.front(),
            percentile(done_ms, 0.5), open_ms, fill_ms / 1000.0, rss, hwm,
            percentile(claim_frames, 0.5), percentile(done_frames, 0.5), percentile(done_txns, 0.5),
            static_cast<long long>(o.quiet_ms), static_cast<long long>(claimed_live),
            static_cast<long long>(claimed_backfill), o.context ? "true" : "false");
        std::fflush(stdout);
      }
      if (o.dir.empty())
        for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    }
  }
  return 0;
}
