// memoryd's configuration: defaults, then the TOML file, then environment variables, then
// command-line flags. Every key is checked; a bad value throws config_error naming the key.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace memoryd {

struct config {
  struct server_section {
    std::string listen = "127.0.0.1:8080";
    std::string api_token;        // one token with every scope (admin)
    std::string api_tokens;       // "scope:TOKEN,scope:TOKEN" (see parse_api_tokens)
    bool metrics_public = false;  // GET /metrics without a token beyond loopback
    std::int64_t io_threads = 2;
    std::int64_t max_body_bytes = 64 * 1024;
    std::int64_t max_header_bytes = 8 * 1024;
    std::int64_t read_timeout_ms = 10000;
    std::int64_t idle_timeout_ms = 60000;
    std::int64_t max_connections = 1024;
    std::int64_t shutdown_grace_ms = 5000;
    // HTTPS: PEM certificate (chain) and private key, both or neither; reloaded on SIGHUP.
    std::string tls_cert;
    std::string tls_key;
  } server;
  struct storage_section {
    std::string backend = "sqlite";  // sqlite | postgres
    // postgres: a libpq URI (postgresql://user:password@host:5432/database); a secret.
    std::string database_url;
    std::string conversation_db = "./data/conversation.db";
    std::string memory_db = "./data/memory.db";
    std::string synchronous = "full";
    std::int64_t busy_timeout_ms = 5000;
    std::int64_t group_commit_max = 1024;  // messages per transaction at most
  } storage;
  struct processor_section {
    bool enabled = true;
    std::int64_t interval_ms = 300000;
    std::int64_t batch_size = 100;
    std::int64_t per_user_batch_size = 25;
    std::int64_t max_attempts = 3;
    std::int64_t retry_base_ms = 30000;
    std::int64_t retry_max_ms = 3600000;
    std::int64_t lease_ms = 600000;
    double backfill_share = 0.2;        // of each claim, for backfill while it waits
    std::int64_t quiet_ms = 0;          // 0: off
    std::int64_t max_wait_ms = 600000;  // bounds the quiet period of a user who never stops
  } processor;
  struct extractor_section {
    std::string backend = "rules";
    std::int64_t pool_size = 4;
  } extractor;
  struct llm_section {
    std::int64_t timeout_ms = 60000;
    std::int64_t max_tokens = 1024;
    std::string ca_file;  // PEM bundle to verify the LLM's certificate; empty: system store
    // Schema-constrained answers (json_schema / a forced tool), falling back to plain JSON
    // mode when the server rejects the schema (llm_backend.hpp).
    bool structured_output = true;
  } llm;
  struct provider_section {
    std::string api_key, model, base_url;
    // OpenAI-compatible only: the request field for llm.max_tokens ("auto", "max_tokens",
    // "max_completion_tokens"); "auto" picks by base_url (llm_backend.hpp).
    std::string max_tokens_field = "auto";
  };
  // Defaults are a starting point, current when written (2026-12); the model is the user's
  // choice (README, config/memoryd.toml).
  provider_section anthropic{"", "claude-sonnet-4-6", "https://api.anthropic.com"};
  provider_section openai{"", "gpt-6-luna", "https://api.openai.com/v1"};
  struct twilio_section {
    std::string auth_token, webhook_url;
    bool allow_unsigned = false;  // accept unsigned webhooks beyond loopback (DESIGN §2.10)
  } twilio;
  // Alerts on the queue's health (docs/OPERATIONS.md); a threshold of 0 turns its alert off.
  struct alerts_section {
    double failure_rate = 0.2;        // share of extractions failing within the window
    std::int64_t min_attempts = 10;   // fewer extractions in the window: no verdict
    std::int64_t window_ms = 300000;  // for failure_rate and dead_letters
    std::int64_t oldest_pending_ms = 1800000;
    std::int64_t dead_letters = 1;  // dead-lettered within the window
    std::string webhook_url;        // POST each crossing here (Slack-compatible)
  } alerts;
  struct history_section {
    std::int64_t interval_ms = 10000;  // one sample per interval; the ring keeps 8,640
  } history;
  struct log_section {
    std::string level = "info";
  } log;

  // server.listen split into host and port; valid after load_config.
  std::string listen_host() const;
  std::uint16_t listen_port() const;
};

class config_error : public std::runtime_error {
 public:
  config_error(std::string key, const std::string& what)
      : std::runtime_error(key + ": " + what), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

struct config_sources {
  std::optional<std::string> file;                                       // TOML file; nullopt: none
  std::function<std::optional<std::string>(const std::string&)> getenv;  // null: real env
  std::vector<std::pair<std::string, std::string>> flags;                // dotted key -> value
};

config load_config(const config_sources& sources);

// The same, but every problem is collected in `problems` instead of the first one thrown (a
// key with a bad value keeps its default): for `memoryd check-config`.
config load_config_collecting(const config_sources& sources, std::vector<config_error>& problems);

// server.api_tokens taken apart: "ingest:T1,read:T2,admin:T3". Scopes are ingest, read,
// metrics and admin (every scope); one token may be listed with several scopes. Throws
// std::invalid_argument saying what is wrong (never echoing a token).
struct api_grant {
  std::string scope;
  std::string token;
};
std::vector<api_grant> parse_api_tokens(const std::string& list);

// 127.0.0.0/8, ::1 and "localhost": the addresses only this machine can reach.
bool is_loopback_host(const std::string& host);

// What `memoryd serve` may expose where it listens (DESIGN §2.10): beyond loopback every
// route that writes needs a credential. Throws config_error naming the key to set; returns
// the warnings to log at start (e.g. twilio.allow_unsigned in force).
std::vector<std::string> check_exposure(const config& c);
// The same, collecting every refusal in `problems`.
std::vector<std::string> check_exposure_collecting(const config& c,
                                                   std::vector<config_error>& problems);

// Every key with its value as `memoryd check-config` prints it: secrets (server.api_token,
// the tokens of server.api_tokens, anthropic.api_key, openai.api_key, twilio.auth_token and
// the password in storage.database_url) are replaced by "<redacted>" / "***".
struct effective_setting {
  std::string key, value;
  bool text = false;  // a string: quoted in TOML; otherwise an integer or a boolean
};
std::vector<effective_setting> effective_settings(const config& c);

// A libpq URI or key=value string with its password (user:PASSWORD@, ?password=,
// password=) replaced by "***".
std::string redact_database_url(const std::string& url);

// Every key: dotted name, environment variable(s) and its value in `values` (by default:
// the defaults), for --help, docs and tests.
struct config_key_info {
  std::string key;
  std::string env;
  std::string default_value;
};
std::vector<config_key_info> config_keys(const config& values = config{});

}  // namespace memoryd
