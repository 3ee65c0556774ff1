// memoryd check-config: every problem at once, secrets never printed, exit 2 on any problem.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "tests/app/config_sources.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace memoryd;
using memoryd::testing::run_command;
using memoryd::testing::temp_dir;
using memoryd::testing::with_env;

namespace {

std::vector<std::string> keys_of(const std::vector<config_error>& problems) {
  std::vector<std::string> out;
  for (auto& p : problems) out.push_back(p.key());
  return out;
}

const std::string binary = MEMORYD_BINARY;

// The environment of a check-config run: data in `dir`, and every secret-bearing variable
// the test runner may have set given a value here.
std::map<std::string, std::string> env_in(const temp_dir& dir) {
  return {{"CONVERSATION_DB_PATH", dir.file("data/conversation.db")},
          {"MEMORY_DB_PATH", dir.file("data/memory.db")},
          {"MEMORYD_STORAGE", "sqlite"},
          {"MEMORYD_LISTEN", "127.0.0.1:8080"}};
}

}  // namespace

TEST_CASE("check-config: load_config_collecting reports every problem, not only the first") {
  std::vector<config_error> problems;
  auto s = with_env({{"MEMORY_PROCESSOR_BATCH_SIZE", "many"},
                     {"MEMORYD_LOG_LEVEL", "loud"},
                     {"EXTRACTOR", "anthropic"},
                     {"ANTHROPIC_BASE_URL", "ftp://x"},
                     {"MEMORYD_TLS_CERT", "/tmp/cert.pem"}});
  s.flags.emplace_back("no.such_key", "1");
  auto c = load_config_collecting(s, problems);
  auto keys = keys_of(problems);
  CHECK(keys == std::vector<std::string>{"processor.batch_size", "log.level", "no.such_key",
                                         "anthropic.api_key", "anthropic.base_url",
                                         "server.tls_key"});
  CHECK(c.processor.batch_size == 100);  // a bad value keeps the default
  // load_config still stops at the first.
  CHECK_THROWS_AS(load_config(s), config_error);
  std::vector<config_error> none;
  load_config_collecting(with_env({}), none);
  CHECK(none.empty());
}

TEST_CASE("check-config: both exposure refusals are collected") {
  std::vector<config_error> problems;
  auto c = load_config(with_env({{"MEMORYD_LISTEN", "0.0.0.0:8080"}}));
  check_exposure_collecting(c, problems);
  CHECK(keys_of(problems) == std::vector<std::string>{"server.api_token", "twilio.auth_token"});
}

TEST_CASE("check-config: secrets are redacted in the effective settings") {
  auto c = load_config(with_env({{"MEMORYD_API_TOKEN", "admintoken123"},
                                 {"MEMORYD_API_TOKENS", "ingest:ingesttok9,read:readtok8"},
                                 {"ANTHROPIC_API_KEY", "sk-ant-secret"},
                                 {"OPENAI_API_KEY", "sk-openai-secret"},
                                 {"TWILIO_AUTH_TOKEN", "twiliosecret"},
                                 {"DATABASE_URL", "postgresql://mem:pgsecret@db:5432/memoryd"}}));
  std::string all;
  std::map<std::string, std::string> by_key;
  for (auto& s : effective_settings(c)) {
    all += s.key + "=" + s.value + "\n";
    by_key[s.key] = s.value;
    if (s.key == "server.io_threads" || s.key == "processor.enabled") CHECK(!s.text);
    if (s.key == "server.listen" || s.key == "log.level") CHECK(s.text);
  }
  for (auto secret : {"admintoken123", "ingesttok9", "readtok8", "sk-ant-secret",
                      "sk-openai-secret", "twiliosecret", "pgsecret"})
    CHECK(all.find(secret) == std::string::npos);
  CHECK(by_key["server.api_token"] == "<redacted>");
  CHECK(by_key["server.api_tokens"] == "ingest:<redacted>,read:<redacted>");
  CHECK(by_key["storage.database_url"] == "postgresql://mem:***@db:5432/memoryd");
  CHECK(by_key["server.listen"] == "127.0.0.1:8080");
  CHECK(by_key["openai.api_key"] == "<redacted>");
  CHECK(by_key.size() == config_keys().size());
}

TEST_CASE("check-config: every form of a database password is redacted") {
  CHECK(redact_database_url("postgresql://u:p%40ss@h/db") == "postgresql://u:***@h/db");
  CHECK(redact_database_url("postgresql://u@h/db") == "postgresql://u@h/db");
  CHECK(redact_database_url("postgresql://h/db?user=u&password=xyz&sslmode=require") ==
        "postgresql://h/db?user=u&password=***&sslmode=require");
  CHECK(redact_database_url("host=h password = 'a b\\' c' dbname=x") ==
        "host=h password = *** dbname=x");
  CHECK(redact_database_url("host=h password=abc dbname=x") == "host=h password=*** dbname=x");
  CHECK(redact_database_url("") == "");
}

TEST_CASE("check-config: the command prints the configuration and exits 0 when it is good") {
  temp_dir dir;
  auto env = env_in(dir);
  env["MEMORYD_API_TOKEN"] = "admintoken123";
  auto r = run_command(
      {binary, "check-config", "--config", MEMORYD_SOURCE_DIR "/config/memoryd.toml"}, env);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("[server]\n") != std::string::npos);
  CHECK(r.out.find("\nio_threads = 2\n") != std::string::npos);  // TOML: integers bare
  CHECK(r.out.find("\nenabled = true\n") != std::string::npos);
  CHECK(r.out.find("listen = \"127.0.0.1:8080\"") != std::string::npos);
  CHECK(r.out.find("api_token = \"<redacted>\"") != std::string::npos);
  CHECK(r.out.find("conversation_db = \"" + dir.file("data/conversation.db") + "\"") !=
        std::string::npos);
  CHECK(r.out.find("admintoken123") == std::string::npos);
  CHECK(r.err.find("configuration ok") != std::string::npos);
  // What it prints is a config file memoryd reads back to the same settings.
  std::ofstream(dir.file("printed.toml")) << r.out;
  config_sources printed;
  printed.file = dir.file("printed.toml");
  printed.getenv = [](const std::string&) { return std::optional<std::string>{}; };
  auto back = load_config(printed);
  CHECK(back.storage.conversation_db == dir.file("data/conversation.db"));
  CHECK(back.server.io_threads == 2);
  CHECK(back.processor.interval_ms == 300000);
  CHECK(back.server.api_token == "<redacted>");
}

TEST_CASE("check-config: the command lists every problem and exits 2") {
  temp_dir dir;
  const auto file = dir.file("bad.toml");
  std::ofstream(file) << "[server]\nlisten = \"0.0.0.0:8080\"\ntls_cert = \""
                      << dir.file("none.pem") << "\"\ntls_key = \"" << dir.file("none.key")
                      << "\"\n"
                      << "[processor]\nbatch_size = 0\n[log]\nlevel = \"loud\"\n"
                      << "[storage]\nbackend = \"postgres\"\n";
  std::ofstream(dir.file("notadir")) << "x";
  auto env = env_in(dir);
  env["MEMORYD_LISTEN"] = "0.0.0.0:8080";  // the environment wins over the file
  env["DATABASE_URL"] = "postgresql://memoryd:pgsecret@127.0.0.1:5432/memoryd";
  env["TWILIO_AUTH_TOKEN"] = "";
  env["MEMORYD_API_TOKEN"] = "";
  env["MEMORYD_API_TOKENS"] = "";
  auto r = run_command({binary, "check-config", "--config", file}, env);
  CHECK(r.exit_code == 2);
  for (auto key : {"processor.batch_size", "log.level", "server.api_token", "twilio.auth_token",
                   "server.tls_cert", "server.tls_key"})
    CHECK(r.err.find(std::string("config error: ") + key + ":") != std::string::npos);
  CHECK(r.err.find("6 problems") != std::string::npos);
  CHECK(r.out.find("database_url = \"postgresql://memoryd:***@127.0.0.1:5432/memoryd\"") !=
        std::string::npos);
  CHECK((r.out + r.err).find("pgsecret") == std::string::npos);

  // A database path under a file is a problem too (SQLite only).
  auto env2 = env_in(dir);
  env2["CONVERSATION_DB_PATH"] = dir.file("notadir/conversation.db");
  auto r2 = run_command({binary, "check-config"}, env2);
  CHECK(r2.exit_code == 2);
  CHECK(r2.err.find("storage.conversation_db:") != std::string::npos);

  // A file that cannot be parsed is reported with its line.
  std::ofstream(dir.file("broken.toml")) << "[server\n";
  auto r3 = run_command({binary, "check-config", "--config", dir.file("broken.toml")}, env_in(dir));
  CHECK(r3.exit_code == 2);
  CHECK(r3.err.find("config file:") != std::string::npos);
}
