// bench_fact_write: what a fact write costs the fact writer (issue 16: the search index must not
// slow fact writes by more than 15%). Writes `facts` facts for `users` users into a fresh
// SQLite memory.db (or, with --url, an empty PostgreSQL database, migrated here), `per_batch`
// facts per batch, `batches_per_commit` batches per transaction (the fact writer's group
// commit), and prints one JSON line:
//   {"bench":"fact_write","facts","seconds","facts_per_s","us_per_fact", <options>}
//
//   bench_fact_write (--db FILE | --url POSTGRES_URL) [--facts 100000] [--users 1000]
//                    [--per-batch 5] [--batches-per-commit 1] [--synchronous normal|full]
//
// It uses only open_memory_store and memory_store::apply_group, so the same file builds against
// a tree without the index for the "before" figure (docs/perf/fact_writes.md has the command).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bench/fact_corpus.hpp"
#include "store/open.hpp"
#include "store/search/lexicon.hpp"

using namespace memoryd;

int main(int argc, char** argv) {
  std::string db, url, sync = "normal";
  long facts = 100000, users = 1000, per_batch = 5, per_commit = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--db")
      db = next();
    else if (a == "--url")
      url = next();
    else if (a == "--facts")
      facts = std::stol(next());
    else if (a == "--users")
      users = std::stol(next());
    else if (a == "--per-batch")
      per_batch = std::stol(next());
    else if (a == "--batches-per-commit")
      per_commit = std::stol(next());
    else if (a == "--synchronous")
      sync = next();
    else {
      std::cerr << "bench_fact_write: unknown argument " << a << "\n";
      return 2;
    }
  }
  if (db.empty() == url.empty()) {
    std::cerr << "bench_fact_write: --db FILE or --url POSTGRES_URL is required\n";
    return 2;
  }
  storage_options o;
  o.synchronous = sync;
  if (url.empty()) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    o.memory_db = db;
  } else {
    o.backend = "postgres";
    o.database_url = url;
  }
  auto store_ptr = open_memory_store(o);
  auto& store = *store_ptr;
  bench::fact_corpus corpus(42);
  std::vector<fact_batch> group;
  search::lexicon::shared();  // loaded once per process (the service: at start), not timed
  const auto start = std::chrono::steady_clock::now();
  long written = 0;
  for (long b = 0; written < facts; ++b) {
    fact_batch batch;
    batch.user_id = "user-" + std::to_string(b % users);
    batch.now = 1'700'000'000'000 + b;
    for (long k = 0; k < per_batch && written < facts; ++k, ++written)
      batch.ops.push_back({"add", "", corpus.fact(), "other", batch.now, {}});
    group.push_back(std::move(batch));
    if (static_cast<long>(group.size()) == per_commit) {
      store.apply_group(group);
      group.clear();
    }
  }
  if (!group.empty()) store.apply_group(group);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "{\"bench\":\"fact_write\",\"facts\":%ld,\"seconds\":%.2f,\"facts_per_s\":%.0f,"
      "\"us_per_fact\":%.1f,\"per_batch\":%ld,\"batches_per_commit\":%ld,"
      "\"synchronous\":\"%s\",\"backend\":\"%s\"}\n",
      written, s, written / s, s * 1e6 / written, per_batch, per_commit, sync.c_str(),
      o.backend.c_str());
  return 0;
}
