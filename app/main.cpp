// memoryd: long-term memory for chat assistants. The command-line front end.
//
// Exit status: 0 ok, 2 usage or config error, 1 runtime failure.
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <caf/all.hpp>

#include <cerrno>
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
#include "app/instance_lock.hpp"
#include "app/ops_commands.hpp"
#include "app/pipeline.hpp"
#include "app/sd_notify.hpp"
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
  memoryd import FILE.jsonl [--priority live|backfill] [OPTIONS]
                                      load historical messages, one per line
                                      ({user_id, role, content, channel?, created_at?,
                                      external_id?}; "-" for stdin); idempotent on external_id;
                                      processed as backfill (after live work) unless
                                      --priority live
  memoryd facts USER_ID [--json] [--history]
                                      a user's facts
  memoryd search USER_ID QUERY [--limit N] [--json]
                                      a user's facts ranked by relevance to QUERY (N: 1-100,
                                      default 10)
  memoryd stats [--json]              queue counts by status and the number of facts
  memoryd migrate                     bring the databases' schema up to date and exit (run it
                                      once before starting several instances of a new version)
  memoryd check-config [OPTIONS]      print the effective configuration (secrets redacted) and
                                      every problem in it; exit 2 if there is any
  memoryd backup DIR [OPTIONS]        copy both SQLite databases into the new directory DIR
                                      while the service runs, with a manifest (counts, sha256)
  memoryd restore DIR [OPTIONS]       verify the backup in DIR and put it in place of the
                                      configured databases (memoryd must be stopped)
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
  std::string limit;                                       // search --limit
  message_priority priority = message_priority::backfill;  // import --priority
};

bool is_command(const std::string& a) {
  for (auto c : {"serve", "process-once", "extract", "import", "facts", "search", "stats",
                 "migrate", "check-config", "backup", "restore"})
    if (a == c) return true;
  return false;
}

// How many positional arguments each command takes: {at least, at most}.
std::pair<std::size_t, std::size_t> positional_range(const std::string& command) {
  if (command == "extract") return {0, 1};
  if (command == "import" || command == "facts" || command == "backup" || command == "restore")
    return {1, 1};
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
    } else if (a == "--priority" || a.rfind("--priority=", 0) == 0) {
      if (a == "--priority" && i + 1 >= argc)
        throw config_error("priority", "--priority needs a value (live or backfill)");
      const std::string value = a == "--priority" ? argv[++i] : a.substr(11);
      if (!parse_priority(value, c.priority))
        throw config_error("priority", "--priority must be live or backfill, not '" + value + "'");
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

// SIGHUP: what can change without a restart is reloaded: the log level (log.level, from
// the config file read again) and the TLS certificate and key (read by the ingress, which
// owns the HTTP server: docs/ARCHITECTURE.md, "TLS"). Any other key that changed is named in
// a "reload_needs_restart" warning. A failed reload keeps what is in force and the service
// running.
void reload(caf::actor_system& sys, const pipeline& p, const config_sources& sources, config& cfg) {
  config next;
  try {
    next = load_config(sources);
  } catch (const config_error& e) {
    log::error("reload_failed",
               {{"error", e.what()}, {"kept", "the configuration loaded at start or last reload"}});
    next = cfg;
  }
  if (next.log.level != cfg.log.level) {
    spdlog::default_logger_raw()->set_level(spdlog::level::from_str(next.log.level));
    log::warn("log_level_changed", {{"from", cfg.log.level}, {"to", next.log.level}});
    cfg.log.level = next.log.level;
  }
  std::string needs_restart;
  const auto before = config_keys(cfg), after = config_keys(next);
  for (std::size_t i = 0; i < before.size() && i < after.size(); ++i)
    if (before[i].default_value != after[i].default_value)
      needs_restart += (needs_restart.empty() ? "" : ",") + before[i].key;
  if (!needs_restart.empty())
    log::warn("reload_needs_restart",
              {{"keys", needs_restart},
               {"detail",
                "only log.level and the TLS files' contents are reloaded; these keys "
                "take effect at the next restart"}});
  if (cfg.server.tls_cert.empty()) {
    log::info("reload_skipped",
              {{"what", "tls"}, {"reason", "no TLS certificate is configured (server.tls_cert)"}});
    log::info("reload_complete", {{"log_level", cfg.log.level}, {"tls", false}});
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
  log::info("reload_complete", {{"log_level", cfg.log.level}, {"tls", true}});
}

// The systemd watchdog is fed only while the pipeline answers: the ingress (whose health
// call asks both stores) and the batcher must reply within `bound`. A database outage does
// not stop the feed (memoryd reconnects by itself; a restart would not help), a wedged actor
// does, and systemd then restarts the service (Restart=on-failure).
bool pipeline_answers(caf::actor_system& sys, const pipeline& p, std::chrono::milliseconds bound) {
  caf::scoped_actor self{sys};
  bool ok = false;
  self->request(p.ingress, bound, health_atom_v)
      .receive(
          [&](health_report& h) {
            ok = true;
            if (!h.ok) log::warn("watchdog_pipeline_unhealthy", {{"detail", h.detail}});
          },
          [&](caf::error& e) {
            log::error("watchdog_not_fed", {{"actor", "ingress"}, {"error", sys.render(e)}});
          });
  if (!ok || !p.batcher) return ok;
  self->request(p.batcher, bound, status_atom_v)
      .receive([](processor_status&) {},
               [&](caf::error& e) {
                 ok = false;
                 log::error("watchdog_not_fed", {{"actor", "batcher"}, {"error", sys.render(e)}});
               });
  return ok;
}

// Waits for a service signal; with a watchdog, feeds it every half interval meanwhile.
int wait_signal(const sigset_t& signals, caf::actor_system& sys, const pipeline& p,
                std::chrono::microseconds watchdog) {
  if (watchdog.count() == 0) {
    int sig = 0;
    sigwait(&signals, &sig);
    return sig;
  }
  const auto half = watchdog / 2;
  for (;;) {
    timespec ts{static_cast<time_t>(half.count() / 1000000),
                static_cast<long>((half.count() % 1000000) * 1000)};
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno != EAGAIN && errno != EINTR) continue;
    if (errno == EAGAIN &&
        pipeline_answers(sys, p,
                         std::max(std::chrono::milliseconds(100),
                                  std::chrono::duration_cast<std::chrono::milliseconds>(half) / 2)))
      sd::notify("WATCHDOG=1");
  }
}

int serve(const config_sources& sources, config cfg) {
  try {
    for (const auto& w : check_exposure(cfg)) log::warn("insecure_configuration", {{"detail", w}});
  } catch (const config_error& e) {
    std::cerr << "memoryd: config error: " << e.what() << "\n";
    return exit_usage;
  }
  auto signals = service_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts
  // WordNet (~1 s) before the service takes requests: the fact writer needs it for the first
  // fact (its broader terms), the search readers for the first search. (Read on a thread of
  // its own while the listener started, the first remember or cycle after a start waited for
  // it: past the clients' timeouts in a sanitizer build, where it takes 7 s.)
  search::lexicon::shared();
  // Destroyed after the actor system, i.e. after every SQLite connection is closed (closing
  // the lock's descriptor earlier would drop SQLite's own fcntl locks: instance_lock.hpp).
  std::vector<file_lock> locks;
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
  if (cfg.storage.backend == "sqlite") {
    for (const auto& path : {cfg.storage.conversation_db, cfg.storage.memory_db}) {
      if (path == ":memory:") continue;
      file_lock l(path, file_lock::mode::shared);
      if (l.busy()) {
        const std::string error = "memoryd restore is replacing " + path;
        log::error("startup_failed", {{"error", error}});
        std::cerr << "memoryd: " << error << "\n";
        stop_pipeline(sys, p, std::chrono::milliseconds(1000));
        return exit_failure;
      }
      if (l.held()) locks.push_back(std::move(l));
    }
  }
  log::info("server_started", {{"listen", cfg.listen_host()},
                               {"port", p.port},
                               {"tls", !cfg.server.tls_cert.empty()},
                               {"version", MEMORYD_VERSION}});
  // systemd (Type=notify): the databases are open and the listener is up.
  const bool notified =
      sd::notify("READY=1\nMAINPID=" + std::to_string(::getpid()) + "\nSTATUS=serving on " +
                 cfg.listen_host() + ":" + std::to_string(p.port));
  // 0: no watchdog (not under systemd, no WatchdogSec, or meant for another process).
  const auto watchdog = sd::watchdog_interval().value_or(std::chrono::microseconds(0));
  if (notified || watchdog.count() > 0)
    log::info("systemd_notified", {{"ready_sent", notified},
                                   {"watchdog_usec", static_cast<std::int64_t>(watchdog.count())}});
  int sig = 0;
  for (;;) {
    sig = wait_signal(signals, sys, p, watchdog);
    if (sig != SIGHUP) break;
    sd::notify("RELOADING=1");
    reload(sys, p, sources, cfg);
    sd::notify("READY=1");
  }
  sd::notify("STOPPING=1");
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
    if (c.command == "check-config") return run_check_config(c.sources);
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
    if (c.command == "import") return run_import(cfg, c.positional[0], c.priority);
    if (c.command == "facts") return run_facts(cfg, c.positional[0], c.json, c.history);
    if (c.command == "search")
      return run_search(cfg, c.positional[0], c.positional[1], c.limit, c.json);
    if (c.command == "stats") return run_stats(cfg, c.json);
    if (c.command == "migrate") return run_migrate(cfg);
    if (c.command == "backup") return run_backup(cfg, c.positional[0]);
    if (c.command == "restore") return run_restore(cfg, c.positional[0]);
  } catch (const std::exception& e) {
    std::cerr << "memoryd: " << e.what() << "\n";
    return exit_failure;
  }
  return serve(c.sources, cfg);
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
