// The ceiling for HTTP ingest: conversation_store ingest alone, on one thread, no HTTP, no
// actors. Whatever rate this reaches is the most the persistence actor can commit, so it
// bounds the ingest benchmark's memoryd / raw-Beast ratio from above.
//
// usage: bench_store_ingest [--messages 100000] [--groups 1,64,1024] [--sync full,normal]
//                           [--users 300] [--external random,none] [--prefill 0]
//                           [--wal-autocheckpoint PAGES] [--cache-kib KIB] [--dir DIR]
//
// For each (synchronous, group size, external id kind): a fresh conversation.db (a real file),
// optionally prefilled with --prefill pending messages (normal, 10,000 per transaction, not
// timed), then --messages user messages ingested in transactions of `group` messages, like the
// persistence actor's group commit: one ingest_group of `group` one-message requests. Senders
// rotate over
// --users; external ids are random 34-character Twilio-like SIDs or absent.
// Prints one JSON line per configuration: messages/s, µs per message, commits/s, and the
// bytes written to the database files per message (wchar of /proc/self/io: WAL frames and
// checkpoints).
// For A/B runs of the store's own settings: --wal-autocheckpoint PAGES gives the writer back
// SQLite's in-commit checkpoint (it replaces the store's background checkpointer; JSON
// "checkpoint":"in_commit_PAGES" instead of "background"); --cache-kib sets the page cache.
//
// PostgreSQL: bench_store_ingest --backend postgres --url URL [--groups 1,32,64]
//                                [--writers 1,2] [--rounds R] [--messages N] [--users U]
//                                [--external random,none] [--prefill N]
// The same through the PostgreSQL store (durable commits, the server's synchronous_commit),
// each configuration on a fresh schema of its own (bench_store_ingest_*, dropped after;
// CHECKPOINT before the timed part), with W writers: W threads, each with its own store (one
// connection, like one instance's persistence actor), each ingesting N / W messages in
// groups of `group`. Writers > 1 is what two instances do to each other (the per-user queue
// rows they both upsert). --rounds repeats every configuration, in turn.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "bench/bench_util.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/conversation_store.hpp"
#include "store/postgres/schema.hpp"
#include "store/sqlite/conversation_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using memoryd::bench::split;
using memoryd::bench::wall_ms;

using clock_type = std::chrono::steady_clock;

// Bytes this process has passed to write(2)/pwrite(2) so far.
std::int64_t written_bytes() {
  std::ifstream in("/proc/self/io");
  std::string key;
  std::int64_t value = 0;
  while (in >> key >> value)
    if (key == "wchar:") return value;
  return -1;
}

struct options {
  std::int64_t messages = 100000;
  std::vector<std::int64_t> groups{1, 64, 1024};
  std::vector<std::string> syncs{"full", "normal"};
  std::vector<std::string> externals{"random", "none"};
  std::int64_t users = 300;
  std::int64_t prefill = 0;
  std::int64_t autocheckpoint = 0;  // 0: the store's background checkpointer
  std::int64_t cache_kib = 0;       // 0: the store's page cache
  std::string dir;
  std::string backend = "sqlite";
  std::string url;              // postgres
  std::vector<int> writers{1};  // postgres
  int rounds = 1;               // postgres
};

const char* k_contents[] = {
    "I have a dog named Max and I'm allergic to peanuts.",
    "I live in Boston and I love hiking on weekends.",
    "hey how are you doing today? lol",
    "i work as a nurse at the children's hospital",
};

class message_maker {
 public:
  message_maker(std::int64_t users, bool external, std::uint64_t seed = 42)
      : users_(users), external_(external), rng_(seed) {}

  memoryd::new_message next() {
    memoryd::new_message m;
    m.user_id = "+1555" + std::to_string(1000000 + (n_ % users_));
    m.role = "user";
    m.content = k_contents[n_ % 4];
    m.channel = "sms";
    if (external_) {  // Twilio MessageSids are "SM" + 32 random hex digits
      static const char hex[] = "0123456789abcdef";
      m.external_id = "SM";
      for (int i = 0; i < 32; ++i) m.external_id += hex[rng_() & 15];
    }
    ++n_;
    return m;
  }

 private:
  std::int64_t users_;
  bool external_;
  std::int64_t n_ = 0;
  std::mt19937_64 rng_;
};

double load_avg() {
  std::ifstream in("/proc/loadavg");
  double v = -1;
  in >> v;
  return v;
}

void run_pg(const options& o, std::int64_t group, const std::string& ext, int writers, int round) {
  const std::string schema = "bench_store_ingest_" + std::to_string(::getpid()) + "_" +
                             std::to_string(round) + "_" + std::to_string(group) + "_" +
                             std::to_string(writers) + "_" + ext;
  const std::string url = o.url.substr(0, o.url.find('?')) + "?options=-csearch_path%3D" + schema;
  memoryd::pg::connection admin(o.url.substr(0, o.url.find('?')));
  admin.exec("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + schema +
             " CASCADE; CREATE SCHEMA " + schema);
  {
    memoryd::pg::connection c(url);
    memoryd::pg::migrate(c);
  }
  if (o.prefill > 0) {
    memoryd::pg::conversation_store fill(url);
    message_maker make(o.users, ext == "random", 7);
    std::vector<memoryd::new_message> chunk;
    for (std::int64_t i = 0; i < o.prefill;) {
      chunk.clear();
      for (int j = 0; j < 10000 && i < o.prefill; ++j, ++i) chunk.push_back(make.next());
      fill.ingest(chunk, wall_ms());
    }
    admin.exec("VACUUM ANALYZE " + schema + ".messages");
  }
  // Every writer's groups, made before the clock starts.
  std::vector<std::vector<std::vector<std::vector<memoryd::new_message>>>> work(
      static_cast<std::size_t>(writers));
  for (int w = 0; w < writers; ++w) {
    message_maker make(o.users, ext == "random", 42 + static_cast<std::uint64_t>(w));
    const std::int64_t mine = o.messages / writers;
    for (std::int64_t i = 0; i < mine;) {
      work[w].emplace_back();
      for (std::int64_t j = 0; j < group && i < mine; ++j, ++i)
        work[w].back().push_back({make.next()});
    }
  }
  std::vector<std::unique_ptr<memoryd::pg::conversation_store>> stores;
  for (int w = 0; w < writers; ++w)
    stores.push_back(std::make_unique<memoryd::pg::conversation_store>(url));
  admin.exec("CHECKPOINT");
  const auto lsn = [&] {
    return admin.exec("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").integer(0, 0);
  };
  const auto wal0 = lsn();
  const double load = load_avg();
  std::vector<std::string> errors(static_cast<std::size_t>(writers));
  const auto t0 = clock_type::now();
  {
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
      threads.emplace_back([&, w] {
        try {
          for (const auto& b : work[w]) stores[w]->ingest_group(b, wall_ms());
        } catch (const std::exception& e) {
          errors[w] = e.what();
        }
      });
    for (auto& t : threads) t.join();
  }
  const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  const auto wal = lsn() - wal0;
  std::int64_t commits = 0;
  for (auto& w : work) commits += static_cast<std::int64_t>(w.size());
  const double n = static_cast<double>(o.messages / writers * writers);
  for (auto& e : errors)
    if (!e.empty()) std::fprintf(stderr, "bench_store_ingest: %s\n", e.c_str());
  std::printf(
      "{\"bench\":\"store_ingest\",\"backend\":\"postgres\",\"round\":%d,\"group\":%lld,"
      "\"writers\":%d,\"external_id\":\"%s\",\"users\":%lld,\"prefill\":%lld,"
      "\"messages\":%.0f,\"seconds\":%.3f,\"msg_per_s\":%.0f,\"us_per_msg\":%.2f,"
      "\"commits_per_s\":%.0f,\"wal_bytes_per_msg\":%.0f,\"load_avg\":%.2f}\n",
      round, static_cast<long long>(group), writers, ext.c_str(), static_cast<long long>(o.users),
      static_cast<long long>(o.prefill), n, s, n / s, 1e6 * s / n, static_cast<double>(commits) / s,
      static_cast<double>(wal) / n, load);
  std::fflush(stdout);
  stores.clear();
  admin.exec("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + schema + " CASCADE");
}

void run(const options& o, const std::string& sync, std::int64_t group, const std::string& ext) {
  memoryd::testing::temp_dir tmp;
  const std::string path = (o.dir.empty() ? tmp.path() : o.dir) + "/conversation.db";
  std::remove(path.c_str());
  message_maker make(o.users, ext == "random");
  if (o.prefill > 0) {
    memoryd::sqlite::conversation_store fill({path, "normal", 5000});
    std::vector<memoryd::new_message> chunk;
    for (std::int64_t i = 0; i < o.prefill;) {
      chunk.clear();
      for (int j = 0; j < 10000 && i < o.prefill; ++j, ++i) chunk.push_back(make.next());
      fill.ingest(chunk, wall_ms());
    }
    fill.db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  memoryd::sqlite::conversation_store store({path, sync, 5000});
  std::string checkpoint = "background";
  if (o.autocheckpoint > 0) {
    store.db().exec("PRAGMA wal_autocheckpoint=" + std::to_string(o.autocheckpoint));
    checkpoint = "in_commit_" + std::to_string(o.autocheckpoint);
  }
  if (o.cache_kib > 0) store.db().exec("PRAGMA cache_size=" + std::to_string(-o.cache_kib));
  const auto cache_kib = -store.db().scalar_int("PRAGMA cache_size");
  std::vector<std::vector<std::vector<memoryd::new_message>>> batches;  // groups of requests
  for (std::int64_t i = 0; i < o.messages;) {
    batches.emplace_back();
    for (std::int64_t j = 0; j < group && i < o.messages; ++j, ++i)
      batches.back().push_back({make.next()});
  }
  const auto bytes0 = written_bytes();
  const auto t0 = clock_type::now();
  for (const auto& b : batches) store.ingest_group(b, wall_ms());
  const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  const auto bytes = written_bytes() - bytes0;
  const double n = static_cast<double>(o.messages);
  std::printf(
      "{\"bench\":\"store_ingest\",\"synchronous\":\"%s\",\"group\":%lld,\"external_id\":\"%s\","
      "\"users\":%lld,\"prefill\":%lld,\"checkpoint\":\"%s\",\"cache_kib\":%lld,\"messages\":%lld,"
      "\"seconds\":%."
      "3f,\"msg_per_s\":%.0f,"
      "\"us_per_msg\":%.2f,\"commits_per_s\":%.0f,\"bytes_written_per_msg\":%.0f}\n",
      sync.c_str(), static_cast<long long>(group), ext.c_str(), static_cast<long long>(o.users),
      static_cast<long long>(o.prefill), checkpoint.c_str(), static_cast<long long>(cache_kib),
      static_cast<long long>(o.messages), s, n / s, 1e6 * s / n,
      static_cast<double>(batches.size()) / s, static_cast<double>(bytes) / n);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_store_ingest: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--messages") {
      o.messages = std::stoll(value());
    } else if (a == "--groups") {
      o.groups.clear();
      for (auto& g : split(value())) o.groups.push_back(std::max(1LL, std::stoll(g)));
    } else if (a == "--sync") {
      o.syncs = split(value());
    } else if (a == "--external") {
      o.externals = split(value());
    } else if (a == "--users") {
      o.users = std::max(1LL, std::stoll(value()));
    } else if (a == "--prefill") {
      o.prefill = std::stoll(value());
    } else if (a == "--wal-autocheckpoint") {
      o.autocheckpoint = std::stoll(value());
    } else if (a == "--cache-kib") {
      o.cache_kib = std::stoll(value());
    } else if (a == "--dir") {
      o.dir = value();
    } else if (a == "--backend") {
      o.backend = value();
    } else if (a == "--url") {
      o.url = value();
    } else if (a == "--writers") {
      o.writers.clear();
      for (auto& w : split(value())) o.writers.push_back(std::clamp(std::stoi(w), 1, 64));
    } else if (a == "--rounds") {
      o.rounds = std::clamp(std::stoi(value()), 1, 50);
    } else {
      std::fprintf(stderr,
                   "usage: bench_store_ingest [--messages N] [--groups 1,64,1024] "
                   "[--sync full,normal] [--external random,none] [--users U] [--prefill N] "
                   "[--wal-autocheckpoint PAGES] [--cache-kib KIB] [--dir DIR]\n"
                   "       bench_store_ingest --backend postgres --url URL [--groups ...] "
                   "[--writers 1,2] [--rounds R] [--messages N] [--users U] [--external ...] "
                   "[--prefill N]\n");
      return 2;
    }
  }
  if (o.backend == "postgres") {
    if (o.url.empty()) return 2;
    for (int r = 1; r <= o.rounds; ++r)
      for (auto g : o.groups)
        for (int w : o.writers)
          for (const auto& ext : o.externals) run_pg(o, g, ext, w, r);
    return 0;
  }
  for (const auto& sync : o.syncs)
    for (auto g : o.groups)
      for (const auto& ext : o.externals) run(o, sync, g, ext);
  return 0;
}
