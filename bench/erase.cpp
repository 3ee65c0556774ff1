// The ingest pause of an erasure. conversation_store::erase_user deletes the user's rows and
// then checkpoints the WAL with TRUNCATE (DESIGN §2.9), on the persistence actor's thread: for
// that long no ingest group commits. This measures erase_user as the actor runs it, and the
// TRUNCATE checkpoint's share of it, against how much WAL has built up since the last
// checkpoint.
//
// usage: bench_erase [--prefill 100000] [--since 0,1000,10000,50000] [--repeat 7]
//                    [--sync full,normal] [--dir DIR]
//
// For each (synchronous, `since`): a fresh conversation.db prefilled with --prefill messages
// over 1,000 users (checkpointed, not timed); then, --repeat times: `since` more messages in
// groups of 64 (the erasee's 20 among them), and erase_user(erasee), timed. Prints one JSON
// line per configuration with the median and max of the erase and the WAL size before it.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "store/sqlite/conversation_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using memoryd::bench::percentile;
using memoryd::bench::split;
using clock_type = std::chrono::steady_clock;

struct options {
  std::int64_t prefill = 100000;
  std::vector<std::int64_t> since{0, 1000, 10000, 50000};
  int repeat = 7;
  std::vector<std::string> syncs{"full", "normal"};
  std::string dir;
};

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

void ingest(memoryd::sqlite::conversation_store& s, std::int64_t n, std::int64_t& seq,
            const std::string& erasee, std::int64_t erasee_every) {
  std::vector<std::vector<memoryd::new_message>> group;
  for (std::int64_t i = 0; i < n; ++i, ++seq) {
    std::string user =
        erasee_every > 0 && i % erasee_every == 0 ? erasee : "user-" + std::to_string(seq % 1000);
    group.push_back(
        {{user, "user",
          "I like tea and long walks by the river, message " + std::to_string(seq) + ".", "api", "",
          0}});
    if (group.size() == 64 || i + 1 == n) {
      s.ingest_group(group, 1000 + seq);
      group.clear();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--prefill")
      o.prefill = std::stoll(v);
    else if (k == "--since") {
      o.since.clear();
      for (auto& x : split(v)) o.since.push_back(std::stoll(x));
    } else if (k == "--repeat")
      o.repeat = std::stoi(v);
    else if (k == "--sync")
      o.syncs = split(v);
    else if (k == "--dir")
      o.dir = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  for (const auto& sync : o.syncs) {
    for (auto since : o.since) {
      memoryd::testing::temp_dir tmp;
      const std::string path = (o.dir.empty() ? tmp.path() : o.dir) + "/bench_erase.db";
      std::filesystem::remove(path);
      std::filesystem::remove(path + "-wal");
      memoryd::sqlite::conversation_store s({path, sync, 5000});
      std::int64_t seq = 0;
      ingest(s, o.prefill, seq, "", 0);
      s.db().truncate_wal(std::chrono::seconds(5));
      std::vector<double> erase_ms, truncate_ms, wal_mib;
      for (int r = 0; r < o.repeat; ++r) {
        const std::string erasee = "erasee-" + std::to_string(r);
        ingest(s, since, seq, erasee, since >= 20 ? since / 20 : 1);
        if (since == 0) ingest(s, 20, seq, erasee, 1);
        wal_mib.push_back(static_cast<double>(std::filesystem::file_size(path + "-wal")) /
                          (1 << 20));
        auto t0 = clock_type::now();
        s.erase_user(erasee);
        erase_ms.push_back(ms_since(t0));
        // The checkpoint's share: the same erasure's delete again costs nothing, so time a
        // truncate alone after an equal amount of new WAL.
        ingest(s, since, seq, "", 0);
        auto t1 = clock_type::now();
        s.db().truncate_wal(std::chrono::seconds(5));
        truncate_ms.push_back(ms_since(t1));
      }
      std::printf(
          "{\"bench\":\"erase\",\"sync\":\"%s\",\"prefill\":%lld,\"since_checkpoint\":%lld,"
          "\"repeat\":%d,\"wal_mib_median\":%.1f,\"erase_ms_median\":%.2f,\"erase_ms_max\":%.2f,"
          "\"truncate_ms_median\":%.2f}\n",
          sync.c_str(), static_cast<long long>(o.prefill), static_cast<long long>(since), o.repeat,
          percentile(wal_mib, 0.5), percentile(erase_ms, 0.5),
          *std::max_element(erase_ms.begin(), erase_ms.end()), percentile(truncate_ms, 0.5));
      std::fflush(stdout);
    }
  }
}
