// Configuration: defaults < TOML file < environment < flags; bad values name their key.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "app/config.hpp"
#include "tests/app/config_sources.hpp"
#include "tests/support/temp_dir.hpp"

using memoryd::config;
using memoryd::config_error;
using memoryd::config_sources;
using memoryd::load_config;

using memoryd::testing::error_key;
using memoryd::testing::no_env;
using memoryd::testing::with_env;

namespace {

std::string write(const memoryd::testing::temp_dir& dir, const std::string& text) {
  auto path = dir.file("memoryd.toml");
  std::ofstream(path) << text;
  return path;
}

std::string error_message(const config_sources& s) {
  try {
    load_config(s);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

// Where a setting comes from.
enum class source { file, env, flag };
const char* name_of(source s) {
  return s == source::file ? "file" : s == source::env ? "environment" : "flag";
}

struct setting {
  source from;
  std::string key;  // dotted: "processor.batch_size"
  std::string value;
};

bool is_integer(const std::string& v) {
  const auto digits = v.substr(!v.empty() && v[0] == '-' ? 1 : 0);
  return !digits.empty() && digits.size() <= 18 &&
         std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The environment variable of a key ("" if it has none).
std::string env_name(const std::string& key) {
  for (const auto& k : memoryd::config_keys())
    if (k.key == key) return k.env;
  FAIL("no key " << key);
  return {};
}

// Sources holding the settings: file ones in a TOML file in `dir` (integers and booleans
// bare, other values as strings), environment ones under the key's variable, flags as given.
config_sources sources_of(const memoryd::testing::temp_dir& dir,
                          const std::vector<setting>& settings) {
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> sections;  // section -> its "name = value" lines
  config_sources s;
  for (const auto& st : settings) {
    if (st.from == source::env) {
      const auto name = env_name(st.key);
      REQUIRE(!name.empty());
      env[name] = st.value;
    } else if (st.from == source::flag) {
      s.flags.emplace_back(st.key, st.value);
    } else {
      const auto dot = st.key.find('.');
      const bool bare = is_integer(st.value) || st.value == "true" || st.value == "false";
      sections[st.key.substr(0, dot)] +=
          st.key.substr(dot + 1) + " = " + (bare ? st.value : "\"" + st.value + "\"") + "\n";
    }
  }
  if (!sections.empty()) {
    std::string text;
    for (const auto& [section, lines] : sections) text += "[" + section + "]\n" + lines;
    s.file = write(dir, text);
  }
  s.getenv = with_env(env).getenv;
  return s;
}

// The value of every key, by dotted name.
std::map<std::string, std::string> values_of(const config& c) {
  std::map<std::string, std::string> out;
  for (const auto& k : memoryd::config_keys(c)) out[k.key] = k.default_value;
  return out;
}

// server.tls_cert and server.tls_key are only valid together: the other one's key and env.
std::pair<std::string, std::string> tls_partner(const std::string& key) {
  if (key == "server.tls_cert") return {"server.tls_key", "MEMORYD_TLS_KEY"};
  if (key == "server.tls_key") return {"server.tls_cert", "MEMORYD_TLS_CERT"};
  // postgres needs its URL (see "postgres needs storage.database_url").
  if (key == "storage.backend") return {"storage.database_url", "DATABASE_URL"};
  return {};
}

}  // namespace

TEST_CASE("defaults are the design's") {
  auto c = load_config(no_env());
  CHECK(c.storage.conversation_db == "./data/conversation.db");
  CHECK(c.storage.memory_db == "./data/memory.db");
  CHECK(c.processor.interval_ms == 300000);
  CHECK(c.processor.batch_size == 100);
  CHECK(c.processor.per_user_batch_size == 25);
  CHECK(c.processor.enabled);
  CHECK(c.processor.max_attempts == 3);
  CHECK(c.processor.retry_base_ms == 30000);
  CHECK(c.processor.retry_max_ms == 3600000);
  CHECK(c.processor.lease_ms == 600000);
  CHECK(c.llm.timeout_ms == 60000);
  CHECK(c.extractor.backend == "rules");
  CHECK(c.extractor.pool_size == 4);
  CHECK(c.server.listen == "127.0.0.1:8080");
  CHECK(c.storage.synchronous == "full");
  CHECK(c.server.max_body_bytes == 65536);
  CHECK(c.listen_host() == "127.0.0.1");
  CHECK(c.listen_port() == 8080);
}

TEST_CASE("file then environment then flags") {
  memoryd::testing::temp_dir dir;
  auto s = with_env({{"MEMORY_PROCESSOR_BATCH_SIZE", "50"}, {"MEMORYD_LISTEN", "127.0.0.1:9000"}});
  s.file = write(dir, R"(
[processor]
interval_ms = 1000
batch_size = 10
enabled = false
[storage]
memory_db = "/tmp/m.db"
)");
  s.flags = {{"server.listen", "[::1]:9100"}};
  auto c = load_config(s);
  CHECK(c.processor.interval_ms == 1000);  // file
  CHECK(c.processor.batch_size == 50);     // env over file
  CHECK_FALSE(c.processor.enabled);
  CHECK(c.storage.memory_db == "/tmp/m.db");
  CHECK(c.listen_host() == "::1");  // flag over env
  CHECK(c.listen_port() == 9100);

  // Each key set in any subset of the three sources: the last source in that order wins.
  const std::vector<std::pair<std::string, std::vector<std::string>>> keys = {
      {"processor.interval_ms", {"1111", "2222", "3333"}},
      {"storage.memory_db", {"/file/m.db", "/env/m.db", "/flag/m.db"}},
      {"server.listen", {"127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003"}},
  };
  const source order[] = {source::file, source::env, source::flag};
  const auto defaults = values_of(config{});
  for (int mask = 0; mask < 8; ++mask) {
    std::vector<setting> settings;
    for (const auto& [key, values] : keys)
      for (int i = 0; i < 3; ++i)
        if (mask & (1 << i)) settings.push_back({order[i], key, values[i]});
    const auto got = values_of(load_config(sources_of(dir, settings)));
    for (const auto& [key, values] : keys) {
      INFO(key << " set in the file " << ((mask & 1) != 0) << ", the environment "
               << ((mask & 2) != 0) << ", a flag " << ((mask & 4) != 0));
      const int last = mask & 4 ? 2 : mask & 2 ? 1 : mask & 1 ? 0 : -1;
      CHECK(got.at(key) == (last < 0 ? defaults.at(key) : values[last]));
    }
  }
}

TEST_CASE("every environment name is read into its own key") {
  // The names of the original service, each with its own value.
  const std::map<std::string, std::string> original = {
      {"CONVERSATION_DB_PATH", "/x/c.db"},
      {"MEMORY_DB_PATH", "/x/m.db"},
      {"MEMORY_PROCESSOR_INTERVAL_MS", "5000"},
      {"MEMORY_PROCESSOR_PER_USER_BATCH_SIZE", "7"},
      {"MEMORY_PROCESSOR_ENABLED", "false"},
      {"MEMORY_PROCESSOR_MAX_ATTEMPTS", "9"},
      {"MEMORY_PROCESSOR_RETRY_BASE_MS", "10"},
      {"MEMORY_PROCESSOR_RETRY_MAX_MS", "20"},
      {"MEMORY_PROCESSOR_LEASE_MS", "30000"},
      {"LLM_TIMEOUT_MS", "1234"},
      {"EXTRACTOR_POOL_SIZE", "16"},
      {"MEMORYD_SYNCHRONOUS", "normal"},
      {"TWILIO_AUTH_TOKEN", "tok"},
      {"MEMORYD_API_TOKEN", "api"}};
  auto c = load_config(with_env(original));
  CHECK(c.storage.conversation_db == "/x/c.db");
  CHECK(c.storage.memory_db == "/x/m.db");
  CHECK(c.processor.interval_ms == 5000);
  CHECK(c.processor.per_user_batch_size == 7);
  CHECK_FALSE(c.processor.enabled);
  CHECK(c.processor.max_attempts == 9);
  CHECK(c.processor.retry_base_ms == 10);
  CHECK(c.processor.retry_max_ms == 20);
  CHECK(c.processor.lease_ms == 30000);
  CHECK(c.llm.timeout_ms == 1234);
  CHECK(c.extractor.pool_size == 16);
  CHECK(c.storage.synchronous == "normal");
  CHECK(c.twilio.auth_token == "tok");
  CHECK(c.server.api_token == "api");

  // Every variable of config_keys(), alone: its key takes the value, no other key changes.
  const std::map<std::string, std::string> valid = {{"server.listen", "127.0.0.1:9999"},
                                                    {"storage.synchronous", "normal"},
                                                    {"processor.enabled", "false"},
                                                    {"server.api_tokens", "read:tok-1234"},
                                                    {"server.metrics_public", "true"},
                                                    {"twilio.allow_unsigned", "true"},
                                                    {"llm.structured_output", "false"},
                                                    {"storage.backend", "postgres"},
                                                    {"extractor.backend", "openai"},
                                                    {"log.level", "debug"},
                                                    {"anthropic.base_url", "http://anthropic.test"},
                                                    {"openai.base_url", "http://openai.test"},
                                                    {"openai.max_tokens_field", "max_tokens"},
                                                    {"alerts.failure_rate", "0.5"},
                                                    {"processor.backfill_share", "0.5"},
                                                    {"alerts.webhook_url", "http://hooks.test/a"}};
  const auto defaults = memoryd::config_keys();
  std::vector<std::string> read;
  for (const auto& k : defaults) {
    if (k.env.empty()) continue;
    INFO(k.env << " -> " << k.key);
    REQUIRE(k.env.find(',') == std::string::npos);  // one variable a key
    std::string value = "set-" + k.key;
    if (valid.count(k.key)) {
      value = valid.at(k.key);
    } else if (is_integer(k.default_value)) {
      value = std::to_string(std::stoll(k.default_value) + 1);
    }
    auto expected = values_of(config{});
    REQUIRE(expected.at(k.key) != value);
    expected[k.key] = value;
    std::map<std::string, std::string> env = {{k.env, value}};
    // The TLS files come as a pair (see "TLS certificate and key come together").
    if (const auto partner = tls_partner(k.key); !partner.first.empty()) {
      env[partner.second] = "set-" + partner.first;
      expected[partner.first] = "set-" + partner.first;
    }
    CHECK(values_of(load_config(with_env(env))) == expected);
    read.push_back(k.env);
  }
  for (const auto& name : original) {
    CAPTURE(name.first);
    CHECK(std::find(read.begin(), read.end(), name.first) != read.end());
  }
}

TEST_CASE("TLS certificate and key come together") {
  auto both = load_config(with_env({{"MEMORYD_TLS_CERT", "/etc/memoryd/cert.pem"},
                                    {"MEMORYD_TLS_KEY", "/etc/memoryd/key.pem"}}));
  CHECK(both.server.tls_cert == "/etc/memoryd/cert.pem");
  CHECK(both.server.tls_key == "/etc/memoryd/key.pem");
  auto neither = load_config(no_env());
  CHECK(neither.server.tls_cert.empty());
  CHECK(neither.server.tls_key.empty());
  CHECK(error_key(with_env({{"MEMORYD_TLS_CERT", "/etc/memoryd/cert.pem"}})) == "server.tls_key");
  CHECK(error_key(with_env({{"MEMORYD_TLS_KEY", "/etc/memoryd/key.pem"}})) == "server.tls_cert");
  // From the file and the flags alike, and an empty value counts as unset.
  memoryd::testing::temp_dir dir;
  CHECK(error_key(sources_of(dir, {{source::file, "server.tls_cert", "c.pem"}})) ==
        "server.tls_key");
  CHECK(error_key(sources_of(dir, {{source::flag, "server.tls_key", "k.pem"},
                                   {source::flag, "server.tls_cert", ""}})) == "server.tls_cert");
  try {
    load_config(with_env({{"MEMORYD_TLS_CERT", "c.pem"}}));
    FAIL("loaded");
  } catch (const memoryd::config_error& e) {
    CHECK(std::string(e.what()).find("MEMORYD_TLS_KEY") != std::string::npos);
  }
}

TEST_CASE("invalid values name their key") {
  CHECK(error_key(with_env({{"MEMORY_PROCESSOR_BATCH_SIZE", "lots"}})) == "processor.batch_size");
  CHECK(error_key(with_env({{"MEMORY_PROCESSOR_BATCH_SIZE", "0"}})) == "processor.batch_size");
  CHECK(error_key(with_env({{"MEMORY_PROCESSOR_ENABLED", "maybe"}})) == "processor.enabled");
  CHECK(error_key(with_env({{"MEMORYD_SYNCHRONOUS", "off"}})) == "storage.synchronous");
  CHECK(error_key(with_env({{"MEMORYD_LISTEN", "localhost"}})) == "server.listen");
  CHECK(error_key(with_env({{"MEMORYD_LISTEN", "127.0.0.1:70000"}})) == "server.listen");
  CHECK(error_key(with_env({{"EXTRACTOR", "magic"}})) == "extractor.backend");
  CHECK(error_key(with_env({{"EXTRACTOR", "anthropic"}})) == "anthropic.api_key");
  CHECK(error_key(with_env({{"EXTRACTOR", "openai"}, {"OPENAI_BASE_URL", "ftp://x"}})) ==
        "openai.base_url");
  CHECK(error_key(with_env({{"EXTRACTOR", "openai"}, {"OPENAI_MODEL", ""}})) == "openai.model");
  CHECK(load_config(with_env({{"EXTRACTOR", "openai"}})).extractor.backend == "openai");
  CHECK(load_config(with_env({{"EXTRACTOR", "anthropic"}, {"ANTHROPIC_API_KEY", "k"}}))
            .extractor.backend == "anthropic");
  CHECK(error_key(with_env({{"EXTRACTOR_POOL_SIZE", "-1"}})) == "extractor.pool_size");
  CHECK(error_key(with_env({{"MEMORY_PROCESSOR_RETRY_MAX_MS", "10"}})) == "processor.retry_max_ms");
  auto s = no_env();
  s.flags = {{"processor.nope", "1"}};
  CHECK(error_key(s) == "processor.nope");

  // Every integer key and a few others, with bad values from each of its sources.
  memoryd::testing::temp_dir dir;
  std::vector<std::pair<std::string, std::vector<std::string>>> bad = {
      {"processor.enabled", {"maybe", ""}},       {"storage.synchronous", {"off", "FULL"}},
      {"extractor.backend", {"magic"}},           {"log.level", {"loud"}},
      {"server.listen", {"localhost", "[::1]:"}}, {"storage.memory_db", {""}}};
  for (const auto& k : memoryd::config_keys())
    if (is_integer(k.default_value))
      bad.push_back({k.key, {"lots", "", "-1", "1e3", "99999999999999999999"}});
  REQUIRE(bad.size() > 20);
  for (const auto& [key, values] : bad) {
    for (const auto& value : values) {
      for (const auto from : {source::file, source::env, source::flag}) {
        if (from == source::env && env_name(key).empty()) continue;
        INFO(key << " = '" << value << "' from the " << name_of(from));
        CHECK(error_key(sources_of(dir, {{from, key, value}})) == key);
      }
    }
  }
}

TEST_CASE("bad files name the key or the line") {
  memoryd::testing::temp_dir dir;
  auto s = no_env();
  s.file = write(dir, "[processor]\nbatch_sise = 3\n");
  CHECK(error_key(s) == "processor.batch_sise");
  s.file = write(dir, "[processor]\nbatch_size = \"ten\"\n");
  CHECK(error_key(s) == "processor.batch_size");
  s.file = write(dir, "[processor\nbatch_size = 3\n");
  CHECK(error_key(s) == "config file");
  CHECK(error_message(s).find(" at line 1: ") != std::string::npos);
  s.file = write(dir, "[processor]\nbatch_size = 3\n\ninterval_ms = = 4\n");
  CHECK(error_key(s) == "config file");
  CHECK(error_message(s).find(" at line 4: ") != std::string::npos);
  s.file = dir.file("missing.toml");
  CHECK(error_key(s) == "config file");
  CHECK(error_message(s).find("missing.toml") != std::string::npos);
}

TEST_CASE("the per-user cap is lowered to the total cap and kept when not above it") {
  auto c = load_config(with_env({{"MEMORY_PROCESSOR_BATCH_SIZE", "10"}}));
  CHECK(c.processor.per_user_batch_size == 10);

  // Both caps from any source or left at their defaults (100 and 25), over values below,
  // at and above each other: the total cap is kept, the per-user cap becomes the smaller.
  memoryd::testing::temp_dir dir;
  const config defaults;
  const std::vector<std::int64_t> batches = {1, 2, 10, 25, 99, 100, 1000, 100000};
  const std::vector<std::int64_t> per_users = {1, 2, 9, 10, 11, 25, 100, 101, 1000, 100000};
  const std::vector<std::optional<source>> froms = {std::nullopt, source::file, source::env,
                                                    source::flag};
  for (const auto& batch_from : froms) {
    for (const auto& per_user_from : froms) {
      for (const auto batch : batch_from ? batches : std::vector<std::int64_t>{-1}) {
        for (const auto per_user : per_user_from ? per_users : std::vector<std::int64_t>{-1}) {
          std::vector<setting> settings;
          if (batch_from)
            settings.push_back({*batch_from, "processor.batch_size", std::to_string(batch)});
          if (per_user_from)
            settings.push_back(
                {*per_user_from, "processor.per_user_batch_size", std::to_string(per_user)});
          const auto b = batch_from ? batch : defaults.processor.batch_size;
          const auto p = per_user_from ? per_user : defaults.processor.per_user_batch_size;
          INFO("batch_size " << b << " from " << (batch_from ? name_of(*batch_from) : "default")
                             << ", per_user_batch_size " << p << " from "
                             << (per_user_from ? name_of(*per_user_from) : "default"));
          const auto c = load_config(sources_of(dir, settings));
          CHECK(c.processor.batch_size == b);
          CHECK(c.processor.per_user_batch_size == std::min(p, b));
        }
      }
    }
  }

  // Only the final values count: a cap overridden by a later source does not lower the other.
  const std::vector<std::pair<std::vector<setting>, std::pair<std::int64_t, std::int64_t>>>
      layered = {
          {{{source::file, "processor.batch_size", "5"},
            {source::flag, "processor.batch_size", "50"},
            {source::env, "processor.per_user_batch_size", "20"}},
           {50, 20}},
          {{{source::file, "processor.per_user_batch_size", "1000"},
            {source::env, "processor.per_user_batch_size", "30"},
            {source::flag, "processor.batch_size", "40"}},
           {40, 30}},
          {{{source::file, "processor.per_user_batch_size", "1000"},
            {source::flag, "processor.batch_size", "10"}},
           {10, 10}},
          {{{source::env, "processor.batch_size", "7"},
            {source::flag, "processor.per_user_batch_size", "7"}},
           {7, 7}},
      };
  for (const auto& [settings, expected] : layered) {
    INFO("expected batch_size " << expected.first << ", per_user_batch_size " << expected.second);
    const auto c = load_config(sources_of(dir, settings));
    CHECK(c.processor.batch_size == expected.first);
    CHECK(c.processor.per_user_batch_size == expected.second);
  }
}

TEST_CASE("config/memoryd.toml documents every key with its default") {
  auto s = no_env();
  s.file = std::string(MEMORYD_SOURCE_DIR) + "/config/memoryd.toml";
  auto from_file = memoryd::config_keys(load_config(s));
  auto defaults = memoryd::config_keys();
  std::ifstream in(*s.file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The file sets each key once, in its own section, and nothing else.
  std::vector<std::string> documented, keys;
  std::istringstream lines(text);
  std::string section;
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 2 && line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
    } else if (const auto eq = line.find(" = "); eq != std::string::npos && line[0] != '#') {
      documented.push_back(section + "." + line.substr(0, eq));
    }
  }
  for (const auto& d : defaults) keys.push_back(d.key);
  std::sort(documented.begin(), documented.end());
  std::sort(keys.begin(), keys.end());
  REQUIRE(documented == keys);
  for (std::size_t i = 0; i < defaults.size(); ++i) {
    INFO(defaults[i].key);
    CHECK(from_file[i].default_value == defaults[i].default_value);
    auto dot = defaults[i].key.find('.');
    CHECK(text.find("[" + defaults[i].key.substr(0, dot) + "]") != std::string::npos);
    CHECK(text.find("\n" + defaults[i].key.substr(dot + 1) + " = ") != std::string::npos);
  }
}

TEST_CASE("postgres needs storage.database_url") {
  try {
    load_config(with_env({{"MEMORYD_STORAGE", "postgres"}}));
    FAIL("no error");
  } catch (const config_error& e) {
    CHECK(e.key() == "storage.database_url");
  }
  auto c = load_config(
      with_env({{"MEMORYD_STORAGE", "postgres"}, {"DATABASE_URL", "postgresql://h/db"}}));
  CHECK(c.storage.backend == "postgres");
  CHECK(c.storage.database_url == "postgresql://h/db");
}
