// bench_search: fact search at scale (issue 16, docs/PERFORMANCE.md "Fact search").
//
//   bench_search --backend sqlite --db FILE | --backend postgres --url URL
//                [--users 10000] [--facts 100] [--heavy 20000] [--queries 2000]
//                [--paths-out PREFIX] [--skip-load] [--skip-size]
//                [--only search|search_heavy|context]
//
// Loads `users` users with `facts` facts each plus one user ("heavy") with `heavy` facts through
// the memory store (what the fact writer does, in group commits), then prints JSON lines:
//   {"bench":"search_load", facts, seconds, facts_per_s}        writes with the index
//   {"bench":"search_index_build", facts, seconds}              the index dropped, then built
//                                                                again as migration 3 does
//   {"bench":"search_index_size", bytes, bytes_per_fact, parts} the index on disk
//   {"bench":"search_store", kind, calls, p50_ms, p99_ms, max_ms, mean_results}
//        kind: search (random users), search_heavy (the heavy user), context
// Store calls go through a search reader with its own connection (open_fact_search), as the
// service does. --paths-out writes PREFIX.search, PREFIX.heavy and PREFIX.context: request
// targets for bench_load --target get (bench/search.sh runs the HTTP part).
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "bench/fact_corpus.hpp"
#include "store/open.hpp"
#include "store/postgres/connection.hpp"
#include "store/search/context.hpp"
#include "store/search/lexicon.hpp"
#include "store/sqlite/database.hpp"

using namespace memoryd;
using clk = std::chrono::steady_clock;

namespace {

struct options {
  storage_options storage;
  int users = 10000, facts = 100, heavy = 20000, queries = 2000;
  std::string paths_out;
  bool skip_load = false, skip_size = false;
  std::string only;  // one kind of store call (search, search_heavy, context); empty: all
};

double seconds_since(clk::time_point t) {
  return std::chrono::duration<double>(clk::now() - t).count();
}

std::string user_name(int i) { return i < 0 ? "heavy" : "user-" + std::to_string(i); }

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Users' facts in batches of 10, 100 batches per transaction.
void load(memory_store& store, const options& o) {
  bench::fact_corpus corpus(42);
  std::vector<fact_batch> group;
  std::int64_t n = 0;
  auto flush = [&] {
    if (!group.empty()) store.apply_group(group);
    group.clear();
  };
  const auto start = clk::now();
  for (int u = -1; u < o.users; ++u) {
    const int count = u < 0 ? o.heavy : o.facts;
    for (int i = 0; i < count; i += 10) {
      fact_batch b;
      b.user_id = user_name(u);
      b.now = bench::wall_ms();
      for (int k = i; k < std::min(count, i + 10); ++k, ++n)
        b.ops.push_back({"add", "", corpus.fact(), "other", b.now, {}});
      group.push_back(std::move(b));
      if (group.size() == 100) flush();
    }
  }
  flush();
  const double s = seconds_since(start);
  std::printf(
      "{\"bench\":\"search_load\",\"backend\":\"%s\",\"facts\":%lld,\"seconds\":%.1f,"
      "\"facts_per_s\":%.0f}\n",
      o.storage.backend.c_str(), static_cast<long long>(n), s, n / s);
}

// Takes the index back to before migration 3 built it, then times the build.
void rebuild(const options& o, std::int64_t facts) {
  if (o.storage.backend == "postgres") {
    pg::connection c(o.storage.database_url);
    c.exec("UPDATE facts SET terms = NULL, pos = NULL, tokens = NULL; DELETE FROM search_users");
  } else {
    sqlite::database db(o.storage.memory_db, "normal", 60000);
    db.exec(
        "UPDATE facts SET terms = NULL, pos = NULL; DELETE FROM search_users; "
        "INSERT INTO facts_fts (facts_fts) VALUES ('delete-all'); VACUUM");
  }
  const auto start = clk::now();
  open_memory_store(o.storage);
  std::printf(
      "{\"bench\":\"search_index_build\",\"backend\":\"%s\",\"facts\":%lld,"
      "\"seconds\":%.1f}\n",
      o.storage.backend.c_str(), static_cast<long long>(facts), seconds_since(start));
}

void index_size(const options& o, std::int64_t facts) {
  std::int64_t bytes = 0;
  std::string parts;
  auto add = [&](const std::string& name, std::int64_t b) {
    bytes += b;
    parts += (parts.empty() ? "\"" : ",\"") + name + "\":" + std::to_string(b);
  };
  if (o.storage.backend == "postgres") {
    pg::connection c(o.storage.database_url);
    for (const char* rel : {"facts_tokens", "search_users", "facts_user_pos",
                            "facts_user_remembered", "facts_unindexed"})
      add(rel, c.exec(std::string("SELECT pg_total_relation_size('") + rel + "')").integer(0, 0));
    add("facts.terms+pos+tokens",
        c.exec("SELECT sum(pg_column_size(terms) + 8 + coalesce(pg_column_size(tokens), 0)) "
               "FROM facts")
            .integer(0, 0));
  } else {
    sqlite::database db(o.storage.memory_db, "normal", 60000);
    add("facts_fts", db.scalar_int("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'facts_fts%'"));
    for (const char* name :
         {"search_users", "facts_user_pos", "facts_user_remembered", "facts_unindexed"})
      add(name, db.scalar_int(std::string("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE "
                                          "name = '") +
                              name + "'"));
    add("facts.terms+pos", db.scalar_int("SELECT sum(length(terms) + 4) FROM facts"));
  }
  std::printf(
      "{\"bench\":\"search_index_size\",\"backend\":\"%s\",\"facts\":%lld,\"bytes\":%lld,"
      "\"bytes_per_fact\":%.1f,\"parts\":{%s}}\n",
      o.storage.backend.c_str(), static_cast<long long>(facts), static_cast<long long>(bytes),
      double(bytes) / double(facts), parts.c_str());
}

template <class F>
void timed(const options& o, const char* kind, int calls, F&& call) {
  std::vector<double> ms;
  double results = 0;
  for (int i = 0; i < calls; ++i) {
    const auto t = clk::now();
    results += static_cast<double>(call(i));
    ms.push_back(seconds_since(t) * 1000);
  }
  std::printf(
      "{\"bench\":\"search_store\",\"backend\":\"%s\",\"kind\":\"%s\",\"calls\":%d,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"mean_results\":%.1f}\n",
      o.storage.backend.c_str(), kind, calls, bench::percentile(ms, 0.5),
      bench::percentile(ms, 0.99), bench::percentile(ms, 1.0), results / calls);
}

void paths(const options& o) {
  bench::fact_corpus corpus(7);
  std::ofstream search(o.paths_out + ".search"), heavy(o.paths_out + ".heavy"),
      context(o.paths_out + ".context");
  for (int i = 0; i < o.queries; ++i) {
    const std::string q = url_escape(corpus.question());
    const std::string user = user_name((i * 7919) % o.users);
    search << "/v1/users/" << user << "/facts/search?q=" << q << "\n";
    heavy << "/v1/users/heavy/facts/search?q=" << q << "\n";
    context << "/v1/users/" << user << "/context?q=" << q << "\n";
  }
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--backend")
      o.storage.backend = next();
    else if (a == "--db")
      o.storage.memory_db = next();
    else if (a == "--url")
      o.storage.database_url = next();
    else if (a == "--users")
      o.users = std::stoi(next());
    else if (a == "--facts")
      o.facts = std::stoi(next());
    else if (a == "--heavy")
      o.heavy = std::stoi(next());
    else if (a == "--queries")
      o.queries = std::stoi(next());
    else if (a == "--paths-out")
      o.paths_out = next();
    else if (a == "--skip-load")
      o.skip_load = true;
    else if (a == "--skip-size")
      o.skip_size = true;
    else if (a == "--only")
      o.only = next();
    else {
      std::cerr << "bench_search: unknown argument " << a << "\n";
      std::exit(2);
    }
  }
  o.storage.synchronous = "normal";
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each result line as it comes
  const options o = parse(argc, argv);
  const std::int64_t facts = std::int64_t(o.users) * o.facts + o.heavy;
  if (!o.skip_load) {
    load(*open_memory_store(o.storage), o);
    rebuild(o, facts);
  }
  if (!o.skip_size) index_size(o, facts);
  if (!o.paths_out.empty()) paths(o);
  search::lexicon::shared();  // loaded once per process, before the timed calls
  auto reader = open_fact_search(o.storage);
  bench::fact_corpus corpus(7);
  std::vector<std::string> qs;
  for (int i = 0; i < o.queries; ++i) qs.push_back(corpus.question());
  auto ask = [&](const std::string& user, int i) {
    return reader->search({user, qs[static_cast<std::size_t>(i)], "", 10}).size();
  };
  auto wanted = [&](const char* kind) { return o.only.empty() || o.only == kind; };
  if (wanted("search"))
    timed(o, "search", o.queries, [&](int i) { return ask(user_name((i * 7919) % o.users), i); });
  if (wanted("search_heavy"))
    timed(o, "search_heavy", o.queries, [&](int i) { return ask("heavy", i); });
  if (wanted("context"))
    timed(o, "context", o.queries, [&](int i) {
      return search::build_context(
                 *reader, {user_name((i * 7919) % o.users), qs[static_cast<std::size_t>(i)], 2000})
          .facts.size();
    });
  return 0;
}
