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
    std::string api_token;
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
  } processor;
  struct extractor_section {
    std::string backend = "rules";
    std::int64_t pool_size = 4;
  } extractor;
  struct llm_section {
    std::int64_t timeout_ms = 60000;
    std::int64_t max_tokens = 1024;
    std::string ca_file;  // PEM bundle to verify the LLM's certificate; empty: system store
  } llm;
  struct provider_section {
    std::string api_key, model, base_url;
  };
  provider_section anthropic{"", "claude-sonnet-4-5", "https://api.anthropic.com"};
  provider_section openai{"", "gpt-4o-mini", "https://api.openai.com/v1"};
  struct twilio_section {
    std::string auth_token, webhook_url;
  } twilio;
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

// Every key: dotted name, environment variable(s) and its value in `values` (by default:
// the defaults), for --help, docs and tests.
struct config_key_info {
  std::string key;
  std::string env;
  std::string default_value;
};
std::vector<config_key_info> config_keys(const config& values = config{});

}  // namespace memoryd
