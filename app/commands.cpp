#include "app/commands.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "app/storage.hpp"
#include "core/clock.hpp"
#include "http/json_render.hpp"
#include "http/request_parsing.hpp"
#include "http/search_params.hpp"

namespace memoryd {
namespace {

constexpr std::size_t lines_per_transaction = 1000;
constexpr std::int64_t progress_every_lines = 100000;

struct import_counts {
  std::int64_t lines = 0, imported = 0, duplicates = 0, bad = 0;
};

void flush(conversation_store& store, std::vector<new_message>& pending, import_counts& n) {
  if (pending.empty()) return;
  for (auto& o : store.ingest(pending, wall_clock_ms()))
    (o.duplicate ? n.duplicates : n.imported)++;
  pending.clear();
}

void progress(const import_counts& n) {
  std::cerr << "import: " << n.lines << " lines, " << n.imported << " imported, " << n.duplicates
            << " duplicates, " << n.bad << " bad\n";
}

}  // namespace

int run_import(const config& cfg, const std::string& file, message_priority priority) {
  std::ifstream in_file;
  if (file != "-") {
    in_file.open(file);
    if (!in_file) {
      std::cerr << "memoryd: cannot read " << file << "\n";
      return 1;
    }
  }
  std::istream& in = file == "-" ? std::cin : in_file;
  auto store = open_conversation_store(storage_options_of(cfg));
  import_counts n;
  std::vector<new_message> pending;
  std::string line;
  while (std::getline(in, line)) {
    ++n.lines;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto parsed = parse_messages_json(line, 1);
    if (parsed.error) {
      ++n.bad;
      std::cerr << "line " << n.lines << ": " << parsed.error->code << ": " << parsed.error->message
                << "\n";
      continue;
    }
    for (auto& m : parsed.messages) {
      m.priority = priority;
      pending.push_back(std::move(m));
    }
    if (pending.size() >= lines_per_transaction) flush(*store, pending, n);
    if (n.lines % progress_every_lines == 0) progress(n);
  }
  flush(*store, pending, n);
  progress(n);
  std::cout << "{\"lines\":" << n.lines << ",\"imported\":" << n.imported
            << ",\"duplicates\":" << n.duplicates << ",\"bad_lines\":" << n.bad << "}" << std::endl;
  return n.bad == 0 ? 0 : 1;
}

int run_facts(const config& cfg, const std::string& user_id, bool json, bool history) {
  auto store = open_memory_store(storage_options_of(cfg));
  fact_listing listing{store->active_facts(user_id), {}};
  if (history) listing.events = store->events(user_id);
  if (json) {
    // Every fact and event: the shape of the API's last page.
    std::cout << render_facts(user_id, listing, "",
                              history ? std::optional<std::string>("") : std::nullopt)
              << "\n";
    return 0;
  }
  if (listing.facts.empty()) std::cout << "no facts for " << user_id << "\n";
  for (auto& f : listing.facts) std::cout << "- " << f.text << " (" << f.category << ")\n";
  for (auto& e : listing.events) {
    std::cout << "  " << e.kind << ": ";
    if (!e.old_text.empty()) std::cout << e.old_text << " -> ";
    std::cout << e.new_text << " [" << e.cause << "]\n";
  }
  return 0;
}

int run_search(const config& cfg, const std::string& user_id, const std::string& query,
               const std::string& limit, bool json) {
  query_params params{{"q", query}};
  if (!limit.empty()) params.emplace_back("limit", limit);
  auto parsed = parse_search_params(params, user_id);
  if (parsed.error) {
    std::cerr << "memoryd: " << parsed.error->message << "\n";
    return 2;
  }
  auto store = open_memory_store(storage_options_of(cfg));
  const auto found = store->search(parsed.request);
  if (json) {
    std::cout << render_search(user_id, parsed.request.query, found) << "\n";
    return 0;
  }
  if (found.empty()) std::cout << "no matching facts for " << user_id << "\n";
  for (const auto& s : found) {
    char score[32];
    std::snprintf(score, sizeof score, "%7.3f", s.score);
    std::cout << score << "  " << s.f.text << " (" << s.f.category << ")\n";
  }
  return 0;
}

int run_migrate(const config& cfg) {
  const auto report = migrate_stores(storage_options_of(cfg));
  std::cout << "{\"backend\":\"" << cfg.storage.backend << "\",\"applied\":" << report.applied
            << ",\"version\":" << report.version << "}\n";
  return 0;
}

int run_stats(const config& cfg, bool json) {
  auto [conversations, memory] = open_stores(storage_options_of(cfg));
  auto q = conversations->stats(wall_clock_ms());
  auto facts = memory->count_facts();
  if (json) {
    std::cout << "{\"queue\":{\"pending\":" << q.pending << ",\"leased\":" << q.leased
              << ",\"done\":" << q.done << ",\"dead\":" << q.dead << ",\"skipped\":" << q.skipped
              << ",\"retry_scheduled\":" << q.retry_scheduled
              << ",\"oldest_pending_age_ms\":" << q.oldest_pending_age_ms
              << ",\"users_waiting\":" << q.users_waiting << ",\"priorities\":{";
    for (const auto* cls : {&q.live, &q.backfill})
      std::cout << (cls == &q.live ? "\"live\":" : ",\"backfill\":")
                << "{\"users_waiting\":" << cls->users_waiting
                << ",\"messages_waiting\":" << cls->messages_waiting
                << ",\"oldest_age_ms\":" << cls->oldest_age_ms << "}";
    std::cout << "}},\"facts\":" << facts << "}\n";
    return 0;
  }
  std::cout << "messages: " << q.pending << " pending, " << q.leased << " leased, " << q.done
            << " done, " << q.dead << " dead, " << q.skipped << " skipped\n"
            << "retries scheduled: " << q.retry_scheduled << "\n"
            << "oldest pending: " << q.oldest_pending_age_ms / 1000.0 << " s\n"
            << "users waiting: " << q.users_waiting << "\n";
  for (const auto* cls : {&q.live, &q.backfill})
    std::cout << (cls == &q.live ? "live: " : "backfill: ") << cls->users_waiting << " users, "
              << cls->messages_waiting << " messages waiting, oldest "
              << cls->oldest_age_ms / 1000.0 << " s\n";
  std::cout << "facts: " << facts << "\n";
  return 0;
}

}  // namespace memoryd
