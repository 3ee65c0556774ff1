// memoryd: long-term memory for chat assistants. The command-line front end.
//
// Exit status: 0 ok, 2 usage or config error, 1 runtime failure.
#include <caf/all.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/protocol.hpp"
#include "app/commands.hpp"
#include "app/config.hpp"
#include "app/pipeline.hpp"
#include "app/storage.hpp"
#include "core/log.hpp"
#include "extract/dry_run.hpp"
#include "extract/extractor.hpp"
#include "http/json_render.hpp"
#include "store/search/lexicon.hpp"

#ifndef MEMORYD_VERSION
#define MEMORYD_VERSION "dev"
#endif

namespace memoryd {
namespace {

constexpr int exit_ok = 0, exit_failure = 1, exit_usage = 2;

const char* usage_text = R"(memoryd - long-term memory for chat assistants

Usage:
  memoryd [serve] [OPTIONS]           run the service (webhooks, API, background processor)
  memoryd process-once [OPTIONS]      claim and process one cycle, print its result as JSON
  memoryd extract [FILE.jsonl] [OPTIONS]
                                      dry run of the configured extractor (stdin without FILE):
                                      records {"id","user_id","messages":[...]} in,
                                      {"id","facts":[{"text","category"}]} out, one per line
  memoryd import FILE.jsonl [OPTIONS] load historical messages, one per line
                                      ({user_id, role, content, channel?, created_at?,
                                      external_id?}; "-" for stdin); idempotent on external_id
  memoryd facts USER_ID [--json] [--history]
                                      a user's facts
  memoryd search USER_ID QUERY [--limit N] [--json]
                                      a user's facts ranked by relevance to QUERY (N: 1-100,
                                      default 10)
  memoryd stats [--json]              queue counts by status and the number of facts
  memoryd migrate                     bring the databases' schema up to date and exit (run it
                                      once before starting several instances of a new version)
  memoryd --help | --version

Options:
  --config FILE          TOML config file (see config/memoryd.toml for every key)
  --listen HOST:PORT     same as --server.listen
  --KEY VALUE, --KEY=VALUE
                         set any config key, e.g. --processor.interval_ms=5000
Precedence: defaults < config file < environment variables < options.

Config keys (environment variable, default):
)";

struct cli {
  std::string command = "serve";
  std::vector<std::string> positional;
  config_sources sources;
  bool help = false, version = false, json = false, history = false;
  std::string limit;  // search --limit
};

bool is_command(const std::string& a) {
  for (auto c :
       {"serve", "process-once", "extract", "import", "facts", "search", "stats", "migrate"})
    if (a == c) return true;
  return false;
}

// How many positional arguments each command takes: {at least, at most}.
std::pair<std::size_t, std::size_t> positional_range(const std::string& command) {
  if (command == "extract") return {0, 1};
  if (command == "import" || command == "facts") return {1, 1};
  if (command == "search") return {2, 2};
  return {0, 0};
}

// Throws config_error for usage problems (exit 2).
cli parse_cli(int argc, char** argv) {
  cli c;
  bool have_command = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      c.help = true;
    } else if (a == "--version") {
      c.version = true;
    } else if (a == "--json") {
      c.json = true;
    } else if (a == "--history") {
      c.history = true;
    } else if (a == "--limit" || a.rfind("--limit=", 0) == 0) {
      if (a == "--limit" && i + 1 >= argc) throw config_error("limit", "--limit needs a value");
      c.limit = a == "--limit" ? argv[++i] : a.substr(8);
    } else if (a.rfind("--", 0) == 0) {
      std::string key = a.substr(2), value;
      auto eq = key.find('=');
      if (eq != std::string::npos) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      } else {
        if (i + 1 >= argc) throw config_error(key, "option --" + key + " needs a value");
        value = argv[++i];
      }
      if (key == "config") {
        c.sources.file = value;
      } else {
        c.sources.flags.emplace_back(key == "listen" ? "server.listen" : key, value);
      }
    } else if (!have_command && is_command(a)) {
      c.command = a;
      have_command = true;
    } else if (have_command && c.positional.size() < positional_range(c.command).second) {
      c.positional.push_back(a);
    } else {
      throw config_error("command line", "unexpected argument '" + a + "' (see --help)");
    }
  }
  if (!c.help && !c.version && c.positional.size() < positional_range(c.command).first)
    throw config_error("command line", "'" + c.command + "' needs an argument (see --help)");
  if (!c.sources.file) {
    if (const char* f = std::getenv("MEMORYD_CONFIG")) c.sources.file = f;
  }
  return c;
}

void print_help() {
  std::cout << usage_text;
  for (auto& k : config_keys()) {
    std::cout << "  " << k.key;
    if (!k.env.empty()) std::cout << " (" << k.env << ")";
    std::cout << " = " << (k.default_value.empty() ? "\"\"" : k.default_value) << "\n";
  }
}

struct caf_config : caf::actor_system_config {
  caf_config() {
    add_message_types<caf::id_block::memoryd>();
    set("logger.file-name", "");
    // One scheduler worker per core. CAF's default (4) polls on a 2-core machine and steals
    // CPU from the io threads and the persistence thread: +36% ingest req/s and -43% p99 at
    // 64 connections in A/B runs (docs/PERFORMANCE.md). Blocking actors are detached, so
    // the workers never wait on I/O.
    set("scheduler.max-threads",
        static_cast<size_t>(std::max(2u, std::thread::hardware_concurrency())));
    set("logger.verbosity", caf::atom("quiet"));
  }
};

// SIGINT/SIGTERM (shut down) and SIGHUP (reload) are blocked in every thread and taken here by
// sigwait, so no handler runs in the middle of an actor or an io thread.
sigset_t service_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

// SIGHUP: what can change without a restart is reloaded; today that is the TLS certificate
// and key (read by the ingress, which owns the HTTP server: docs/ARCHITECTURE.md, "TLS"). A
// failed reload keeps what is served and the service running.
void reload(caf::actor_system& sys, const pipeline& p, const config& cfg) {
  if (cfg.server.tls_cert.empty()) {
    log::info("reload_skipped",
              {{"reason", "nothing reloadable is configured (server.tls_cert, server.tls_key)"}});
    return;
  }
  caf::scoped_actor self{sys};
  // Reading two small files; the bound only keeps a wedged ingress from wedging signals too.
  self->request(p.ingress, std::chrono::seconds(10), reload_atom_v)
      .receive(
          [&](bool ok, std::string& message) {
            if (ok) {
              log::info("tls_reloaded", {{"cert", cfg.server.tls_cert},
                                         {"key", cfg.server.tls_key},
                                         {"certificate", message}});
            } else {
              log::error("tls_reload_failed",
                         {{"error", message}, {"kept", "the certificate served before"}});
            }
          },
          [&](caf::error& e) {
            log::error("tls_reload_failed",
                       {{"error", sys.render(e)}, {"kept", "the certificate served before"}});
          });
}

int serve(const config& cfg) {
  try {
    for (const auto& w : check_exposure(cfg)) log::warn("insecure_configuration", {{"detail", w}});
  } catch (const config_error& e) {
    std::cerr << "memoryd: config error: " << e.what() << "\n";
    return exit_usage;
  }
  auto signals = service_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts
  // WordNet (~1 s) before the service takes requests: the fact writer needs it for the first
  // fact (its broader terms), the search readers for the first search.
  search::lexicon::shared();
  caf_config caf_cfg;
  caf::actor_system sys{caf_cfg};
  pipeline p;
  try {
    p = start_pipeline(sys, cfg, pipeline_mode::serve);
  } catch (const config_error& e) {  // e.g. a certificate that cannot be used
    log::error("startup_failed", {{"error", e.what()}});
    std::cerr << "memoryd: config error: " << e.what() << "\n";
    return exit_usage;
  } catch (const std::exception& e) {
    log::error("startup_failed", {{"error", e.what()}});
    std::cerr << "memoryd: " << e.what() << "\n";
    return exit_failure;
  }
  log::info("server_started", {{"listen", cfg.listen_host()},
                               {"port", p.port},
                               {"tls", !cfg.server.tls_cert.empty()},
                               {"version", MEMORYD_VERSION}});
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    reload(sys, p, cfg);
  }
  log::info("shutdown_requested", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  stop_pipeline(sys, p, std::chrono::milliseconds(cfg.server.shutdown_grace_ms));
  log::info("server_stopped");
  return exit_ok;
}

int process_once(const config& cfg) {
  caf_config caf_cfg;
  caf::actor_system sys{caf_cfg};
  pipeline p;
  try {
    p = start_pipeline(sys, cfg, pipeline_mode::process_once);
  } catch (const std::exception& e) {
    std::cerr << "memoryd: " << e.what() << "\n";
    return exit_failure;
  }
  int rc = exit_ok;
  {
    caf::scoped_actor self{sys};
    self->request(p.batcher, std::chrono::milliseconds(cfg.processor.lease_ms) * 2, run_atom_v)
        .receive([](cycle_result& r) { std::cout << render_cycle(r) << std::endl; },
                 [&](caf::error& e) {
                   std::cerr << "memoryd: process-once failed: " << sys.render(e) << "\n";
                   rc = exit_failure;
                 });
  }
  stop_pipeline(sys, p, std::chrono::milliseconds(cfg.server.shutdown_grace_ms));
  return rc;
}

int extract(const config& cfg, const std::vector<std::string>& files) {
  auto backend = make_extractor_backend(cfg);
  if (files.empty()) return run_dry_run(std::cin, std::cout, std::cerr, *backend);
  std::ifstream in(files[0]);
  if (!in) {
    std::cerr << "memoryd: cannot read " << files[0] << "\n";
    return exit_failure;
  }
  return run_dry_run(in, std::cout, std::cerr, *backend);
}

int run(int argc, char** argv) {
  cli c;
  config cfg;
  try {
    c = parse_cli(argc, argv);
    if (c.help) {
      print_help();
      return exit_ok;
    }
    if (c.version) {
      std::cout << "memoryd " << MEMORYD_VERSION << "\n";
      return exit_ok;
    }
    cfg = load_config(c.sources);
    check_storage(cfg);
  } catch (const config_error& e) {
    std::cerr << "memoryd: config error: " << e.what() << "\n";
    return exit_usage;
  }
  // The service logs to stdout; the other commands print their result there, so they log
  // to stderr.
  log::init(c.command == "extract" ? "warn" : cfg.log.level, c.command != "serve");
  if (c.command == "extract") return extract(cfg, c.positional);
  if (c.command == "process-once") return process_once(cfg);
  try {
    if (c.command == "import") return run_import(cfg, c.positional[0]);
    if (c.command == "facts") return run_facts(cfg, c.positional[0], c.json, c.history);
    if (c.command == "search")
      return run_search(cfg, c.positional[0], c.positional[1], c.limit, c.json);
    if (c.command == "stats") return run_stats(cfg, c.json);
    if (c.command == "migrate") return run_migrate(cfg);
  } catch (const std::exception& e) {
    std::cerr << "memoryd: " << e.what() << "\n";
    return exit_failure;
  }
  return serve(cfg);
}

}  // namespace
}  // namespace memoryd

int main(int argc, char** argv) {
  try {
    return memoryd::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "memoryd: " << e.what() << "\n";
    return 1;
  }
}
