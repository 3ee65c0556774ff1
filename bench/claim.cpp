// Claim cost against a large backlog: conversation_store::claim at N pending user messages.
//
// usage: bench_claim [--pending 10000,100000,1000000] [--users 1000]
//                    [--layout spread,one_user_half] [--sync full,normal] [--claims 50]
//                    [--batch 100] [--per-user 25] [--dir DIR]
//
// For each N and layout, fills a fresh conversation.db (a real file in a temporary directory,
// or DIR) with N pending user messages: bulk ingest through the store's own ingest path in
// transactions of 10,000 messages with synchronous=normal (the fill is not what is measured).
//   spread         message i belongs to user i % U (every user has N/U waiting messages)
//   one_user_half  the oldest N/2 messages belong to one user, the rest spread over the
//                  other U-1 users (the FIFO head is a user with half the backlog)
// Then, for each synchronous mode, reopens the database with that mode and runs K times:
// claim(batch, per_user) (timed), then mark_done of every claimed user batch (timed
// separately), so that each claim does real work on a fresh head. Prints one JSON line per
// (N, layout, synchronous) with median / p90 / max of the claim and the process RSS after the
// claims (VmRSS) and its peak during the claims (VmHWM, reset after the fill through
// /proc/self/clear_refs). Then, untimed, 5 more claims report how many WAL pages a claim and
// its mark_done write (checkpoint before each, PRAGMA wal_checkpoint after).
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
#include <vector>

#include "bench/bench_util.hpp"
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
      if (layout == "spread")
        u = i % users;
      else  // one_user_half: user 0 owns the oldest half
        u = i < n / 2 ? 0 : 1 + (i % (users - 1));
      memoryd::new_message m;
      m.user_id = user_name(u);
      m.role = "user";
      m.content = k_contents[i % (sizeof k_contents / sizeof k_contents[0])];
      m.channel = "sms";
      m.created_at = base + i;
      msgs.push_back(std::move(m));
    }
    store.ingest(msgs, wall_ms());
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
  std::vector<std::int64_t> pending{10000, 100000, 1000000};
  std::int64_t users = 1000;
  std::vector<std::string> layouts{"spread", "one_user_half"};
  std::vector<std::string> syncs{"full", "normal"};
  int claims = 50;
  int batch = 100;
  int per_user = 25;
  std::string dir;
};

int usage() {
  std::cerr << "usage: bench_claim [--pending N,...] [--users U] [--layout spread,one_user_half] "
               "[--sync full,normal] [--claims K] [--batch B] [--per-user P] [--dir DIR]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    if (a == "--pending") {
      o.pending.clear();
      for (auto& s : split(v)) o.pending.push_back(std::stoll(s));
    } else if (a == "--users") {
      o.users = std::stoll(v);
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
    } else if (a == "--dir") {
      o.dir = v;
    } else {
      return usage();
    }
  }
  if (o.users < 2 || o.claims < 1) return usage();
  for (auto& l : o.layouts)
    if (l != "spread" && l != "one_user_half") return usage();

  memoryd::testing::temp_dir tmp;
  const std::string dir = o.dir.empty() ? tmp.path() : o.dir;
  for (auto n : o.pending) {
    for (const auto& layout : o.layouts) {
      const std::string path = dir + "/claim-" + std::to_string(n) + "-" + layout + ".db";
      for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
      const double fill_ms = fill(path, n, o.users, layout);
      for (const auto& sync : o.syncs) {
        std::vector<double> claim_ms, done_ms, claim_frames, done_frames, done_txns;
        std::int64_t claimed = 0;
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
            const auto t0 = clock_type::now();
            auto res = store.claim(req);
            claim_ms.push_back(ms_since(t0));
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
            "\"done_wal_pages\":%.0f,\"done_txns\":%.0f}\n",
            static_cast<long long>(n), static_cast<long long>(o.users), layout.c_str(),
            sync.c_str(), o.claims, o.batch, o.per_user, static_cast<long long>(claimed),
            percentile(claim_ms, 0.5), percentile(claim_ms, 0.9),
            *std::max_element(claim_ms.begin(), claim_ms.end()), claim_ms.front(),
            percentile(done_ms, 0.5), open_ms, fill_ms / 1000.0, rss, hwm,
            percentile(claim_frames, 0.5), percentile(done_frames, 0.5),
            percentile(done_txns, 0.5));
        std::fflush(stdout);
      }
      if (o.dir.empty())
        for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    }
  }
  return 0;
}
