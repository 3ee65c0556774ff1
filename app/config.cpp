#include "app/config.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>

namespace memoryd {
namespace {

// One configuration key: how to read it from a string (env, flags) or a TOML node, and
// where it lives in the struct.
struct key_def {
  std::string key;
  std::vector<std::string> env;
  std::function<void(config&, const std::string&)> set;  // throws std::invalid_argument
  std::function<std::string(const config&)> get;
  bool text = false;  // a string (quoted in TOML), not an integer or a boolean
};

std::int64_t parse_int(const std::string& s, std::int64_t lo, std::int64_t hi) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
    throw std::invalid_argument("'" + s + "' is not an integer");
  if (v < lo || v > hi)
    throw std::invalid_argument(std::to_string(v) + " is out of range [" + std::to_string(lo) +
                                ", " + std::to_string(hi) + "]");
  return v;
}

double parse_fraction(const std::string& s) {
  char* end = nullptr;
  const double v = s.empty() ? 0 : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v == v))
    throw std::invalid_argument("'" + s + "' is not a number");
  if (v < 0 || v > 1) throw std::invalid_argument(s + " is out of range [0, 1]");
  return v;
}

bool parse_bool(const std::string& s) {
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  throw std::invalid_argument("'" + s + "' is not a boolean (true/false)");
}

std::string one_of(const std::string& s, std::initializer_list<const char*> allowed) {
  std::string list;
  for (auto a : allowed) {
    if (s == a) return s;
    list += list.empty() ? a : std::string(", ") + a;
  }
  throw std::invalid_argument("'" + s + "' is not one of: " + list);
}

std::string non_empty(const std::string& v) {
  if (v.empty()) throw std::invalid_argument("must not be empty");
  return v;
}

constexpr std::int64_t max_i64 = std::numeric_limits<std::int64_t>::max();

template <class Section>
key_def int_field(std::string key, std::vector<std::string> env, Section config::*sec,
                  std::int64_t Section::*field, std::int64_t lo, std::int64_t hi) {
  return {std::move(key), std::move(env),
          [=](config& c, const std::string& v) { (c.*sec).*field = parse_int(v, lo, hi); },
          [=](const config& c) { return std::to_string((c.*sec).*field); }};
}

template <class Section>
key_def string_field(std::string key, std::vector<std::string> env, Section config::*sec,
                     std::string Section::*field,
                     std::function<std::string(const std::string&)> check = {}) {
  return {std::move(key), std::move(env),
          [=](config& c, const std::string& v) { (c.*sec).*field = check ? check(v) : v; },
          [=](const config& c) { return (c.*sec).*field; }, true};
}

template <class Section>
key_def fraction_field(std::string key, std::vector<std::string> env, Section config::*sec,
                       double Section::*field) {
  return {std::move(key), std::move(env),
          [=](config& c, const std::string& v) { (c.*sec).*field = parse_fraction(v); },
          [=](const config& c) {
            std::string s = std::to_string((c.*sec).*field);
            while (s.size() > 1 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
            return s;
          }};
}

template <class Section>
key_def bool_field(std::string key, std::vector<std::string> env, Section config::*sec,
                   bool Section::*field) {
  return {std::move(key), std::move(env),
          [=](config& c, const std::string& v) { (c.*sec).*field = parse_bool(v); },
          [=](const config& c) { return std::string((c.*sec).*field ? "true" : "false"); }};
}

std::pair<std::string, std::uint16_t> split_listen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 == s.size())
    throw std::invalid_argument("'" + s + "' is not HOST:PORT");
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) throw std::invalid_argument("'" + s + "' has no host");
  auto port = parse_int(s.substr(colon + 1), 0, 65535);
  return {host, static_cast<std::uint16_t>(port)};
}

const std::vector<key_def>& key_defs() {
  using C = config;
  static const std::vector<key_def> defs = {
      string_field("server.listen", {"MEMORYD_LISTEN"}, &C::server, &C::server_section::listen,
                   [](const std::string& v) {
                     split_listen(v);
                     return v;
                   }),
      string_field("server.api_token", {"MEMORYD_API_TOKEN"}, &C::server,
                   &C::server_section::api_token),
      string_field("server.api_tokens", {"MEMORYD_API_TOKENS"}, &C::server,
                   &C::server_section::api_tokens,
                   [](const std::string& v) {
                     parse_api_tokens(v);
                     return v;
                   }),
      bool_field("server.metrics_public", {"MEMORYD_METRICS_PUBLIC"}, &C::server,
                 &C::server_section::metrics_public),
      int_field("server.io_threads", {}, &C::server, &C::server_section::io_threads, 1, 64),
      int_field("server.max_body_bytes", {"MEMORYD_MAX_BODY_BYTES"}, &C::server,
                &C::server_section::max_body_bytes, 1024, 64 << 20),
      int_field("server.max_header_bytes", {}, &C::server, &C::server_section::max_header_bytes,
                1024, 1 << 20),
      int_field("server.read_timeout_ms", {}, &C::server, &C::server_section::read_timeout_ms, 1,
                3600000),
      int_field("server.idle_timeout_ms", {}, &C::server, &C::server_section::idle_timeout_ms, 1,
                3600000),
      int_field("server.max_connections", {}, &C::server, &C::server_section::max_connections, 1,
                1000000),
      int_field("server.shutdown_grace_ms", {}, &C::server, &C::server_section::shutdown_grace_ms,
                0, 600000),
      string_field("server.tls_cert", {"MEMORYD_TLS_CERT"}, &C::server,
                   &C::server_section::tls_cert),
      string_field("server.tls_key", {"MEMORYD_TLS_KEY"}, &C::server, &C::server_section::tls_key),
      string_field("storage.backend", {"MEMORYD_STORAGE"}, &C::storage,
                   &C::storage_section::backend,
                   [](const std::string& v) {
                     return one_of(v, {"sqlite", "postgres"});
                   }),
      string_field("storage.database_url", {"DATABASE_URL"}, &C::storage,
                   &C::storage_section::database_url),
      string_field("storage.conversation_db", {"CONVERSATION_DB_PATH"}, &C::storage,
                   &C::storage_section::conversation_db, non_empty),
      string_field("storage.memory_db", {"MEMORY_DB_PATH"}, &C::storage,
                   &C::storage_section::memory_db, non_empty),
      string_field("storage.synchronous", {"MEMORYD_SYNCHRONOUS"}, &C::storage,
                   &C::storage_section::synchronous,
                   [](const std::string& v) {
                     return one_of(v, {"full", "normal"});
                   }),
      int_field("storage.busy_timeout_ms", {}, &C::storage, &C::storage_section::busy_timeout_ms, 0,
                600000),
      int_field("storage.group_commit_max", {}, &C::storage, &C::storage_section::group_commit_max,
                1, 1000000),
      bool_field("processor.enabled", {"MEMORY_PROCESSOR_ENABLED"}, &C::processor,
                 &C::processor_section::enabled),
      int_field("processor.interval_ms", {"MEMORY_PROCESSOR_INTERVAL_MS"}, &C::processor,
                &C::processor_section::interval_ms, 10, max_i64 / 4),
      int_field("processor.batch_size", {"MEMORY_PROCESSOR_BATCH_SIZE"}, &C::processor,
                &C::processor_section::batch_size, 1, 100000),
      int_field("processor.per_user_batch_size", {"MEMORY_PROCESSOR_PER_USER_BATCH_SIZE"},
                &C::processor, &C::processor_section::per_user_batch_size, 1, 100000),
      int_field("processor.max_attempts", {"MEMORY_PROCESSOR_MAX_ATTEMPTS"}, &C::processor,
                &C::processor_section::max_attempts, 1, 1000),
      int_field("processor.retry_base_ms", {"MEMORY_PROCESSOR_RETRY_BASE_MS"}, &C::processor,
                &C::processor_section::retry_base_ms, 1, max_i64 / 4),
      int_field("processor.retry_max_ms", {"MEMORY_PROCESSOR_RETRY_MAX_MS"}, &C::processor,
                &C::processor_section::retry_max_ms, 1, max_i64 / 4),
      int_field("processor.lease_ms", {"MEMORY_PROCESSOR_LEASE_MS"}, &C::processor,
                &C::processor_section::lease_ms, 1000, max_i64 / 4),
      fraction_field("processor.backfill_share", {"MEMORY_PROCESSOR_BACKFILL_SHARE"},
                     &C::processor, &C::processor_section::backfill_share),
      int_field("processor.quiet_ms", {"MEMORY_PROCESSOR_QUIET_MS"}, &C::processor,
                &C::processor_section::quiet_ms, 0, max_i64 / 4),
      int_field("processor.max_wait_ms", {"MEMORY_PROCESSOR_MAX_WAIT_MS"}, &C::processor,
                &C::processor_section::max_wait_ms, 0, max_i64 / 4),
      string_field("extractor.backend", {"EXTRACTOR"}, &C::extractor,
                   &C::extractor_section::backend,
                   [](const std::string& v) {
                     return one_of(v, {"rules", "anthropic", "openai"});
                   }),
      int_field("extractor.pool_size", {"EXTRACTOR_POOL_SIZE"}, &C::extractor,
                &C::extractor_section::pool_size, 1, 256),
      int_field("llm.timeout_ms", {"LLM_TIMEOUT_MS"}, &C::llm, &C::llm_section::timeout_ms, 100,
                3600000),
      int_field("llm.max_tokens", {"LLM_MAX_TOKENS"}, &C::llm, &C::llm_section::max_tokens, 1,
                1000000),
      string_field("llm.ca_file", {"LLM_CA_FILE"}, &C::llm, &C::llm_section::ca_file),
      bool_field("llm.structured_output", {"LLM_STRUCTURED_OUTPUT"}, &C::llm,
                 &C::llm_section::structured_output),
      string_field("anthropic.api_key", {"ANTHROPIC_API_KEY"}, &C::anthropic,
                   &C::provider_section::api_key),
      string_field("anthropic.model", {"ANTHROPIC_MODEL"}, &C::anthropic,
                   &C::provider_section::model),
      string_field("anthropic.base_url", {"ANTHROPIC_BASE_URL"}, &C::anthropic,
                   &C::provider_section::base_url),
      string_field("openai.api_key", {"OPENAI_API_KEY"}, &C::openai, &C::provider_section::api_key),
      string_field("openai.model", {"OPENAI_MODEL"}, &C::openai, &C::provider_section::model),
      string_field("openai.base_url", {"OPENAI_BASE_URL"}, &C::openai,
                   &C::provider_section::base_url),
      string_field("openai.max_tokens_field", {"OPENAI_MAX_TOKENS_FIELD"}, &C::openai,
                   &C::provider_section::max_tokens_field,
                   [](const std::string& v) {
                     return one_of(v, {"auto", "max_tokens", "max_completion_tokens"});
                   }),
      string_field("twilio.auth_token", {"TWILIO_AUTH_TOKEN"}, &C::twilio,
                   &C::twilio_section::auth_token),
      string_field("twilio.webhook_url", {"TWILIO_WEBHOOK_URL"}, &C::twilio,
                   &C::twilio_section::webhook_url),
      bool_field("twilio.allow_unsigned", {"TWILIO_ALLOW_UNSIGNED"}, &C::twilio,
                 &C::twilio_section::allow_unsigned),
      fraction_field("alerts.failure_rate", {"MEMORYD_ALERT_FAILURE_RATE"}, &C::alerts,
                     &C::alerts_section::failure_rate),
      int_field("alerts.min_attempts", {"MEMORYD_ALERT_MIN_ATTEMPTS"}, &C::alerts,
                &C::alerts_section::min_attempts, 1, 1000000),
      int_field("alerts.window_ms", {"MEMORYD_ALERT_WINDOW_MS"}, &C::alerts,
                &C::alerts_section::window_ms, 1000, 86400000),
      int_field("alerts.oldest_pending_ms", {"MEMORYD_ALERT_OLDEST_PENDING_MS"}, &C::alerts,
                &C::alerts_section::oldest_pending_ms, 0, max_i64 / 4),
      int_field("alerts.dead_letters", {"MEMORYD_ALERT_DEAD_LETTERS"}, &C::alerts,
                &C::alerts_section::dead_letters, 0, 1000000000),
      string_field("alerts.webhook_url", {"MEMORYD_ALERT_WEBHOOK_URL"}, &C::alerts,
                   &C::alerts_section::webhook_url,
                   [](const std::string& v) {
                     if (!v.empty() && v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0)
                       throw std::invalid_argument("'" + v + "' is not an http(s) URL");
                     return v;
                   }),
      int_field("history.interval_ms", {"MEMORYD_HISTORY_INTERVAL_MS"}, &C::history,
                &C::history_section::interval_ms, 1000, 600000),
      string_field("log.level", {"MEMORYD_LOG_LEVEL"}, &C::log, &C::log_section::level,
                   [](const std::string& v) {
                     return one_of(v, {"trace", "debug", "info", "warn", "error", "off"});
                   }),
  };
  return defs;
}

const key_def* find_key(const std::string& key) {
  for (auto& d : key_defs())
    if (d.key == key) return &d;
  return nullptr;
}

// Where problems go: thrown (load_config: the first one stops start-up) or collected
// (check_config: every one is reported).
struct problems {
  std::vector<config_error>* out = nullptr;
  void report(config_error e) const {
    if (!out) throw e;
    out->push_back(std::move(e));
  }
};

void apply(config& c, const key_def& d, const std::string& value, const std::string& source,
           const problems& p) {
  try {
    d.set(c, value);
  } catch (const std::invalid_argument& e) {
    p.report(config_error(d.key, std::string(e.what()) + " (from " + source + ")"));
  }
}

// TOML values become strings and go through the same checks as env and flags.
std::optional<std::string> toml_scalar(const toml::node& n, const std::string& key,
                                       const problems& p) {
  if (auto s = n.as_string()) return s->get();
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  if (auto f = n.as_floating_point()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", f->get());
    return buf;
  }
  p.report(config_error(key, "expected a string, number or boolean"));
  return std::nullopt;
}

void load_file(config& c, const std::string& path, const problems& p) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string where = e.source().begin ? " at line " + std::to_string(e.source().begin.line) : "";
    p.report(config_error("config file", path + where + ": " + std::string(e.description())));
    return;
  }
  for (auto& [section, node] : tbl) {
    auto* sub = node.as_table();
    if (!sub) {
      p.report(config_error(std::string(section.str()), "expected a [section]"));
      continue;
    }
    for (auto& [name, value] : *sub) {
      std::string key = std::string(section.str()) + "." + std::string(name.str());
      auto* d = find_key(key);
      if (!d) {
        p.report(config_error(key, "unknown key in " + path));
        continue;
      }
      if (auto v = toml_scalar(value, key, p)) apply(c, *d, *v, path, p);
    }
  }
}

bool is_http_url(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

// The chosen LLM backend needs a model, a base URL and (Anthropic) a key: say which key is
// missing at start-up rather than failing on the first extraction.
void check_llm_provider(const config& c, const problems& out) {
  const auto& backend = c.extractor.backend;
  if (backend == "rules") return;
  const auto& p = backend == "anthropic" ? c.anthropic : c.openai;
  if (backend == "anthropic" && p.api_key.empty())
    out.report(config_error("anthropic.api_key",
                            "required with extractor.backend = anthropic (env ANTHROPIC_API_KEY)"));
  if (p.model.empty()) out.report(config_error(backend + ".model", "must not be empty"));
  if (!is_http_url(p.base_url))
    out.report(
        config_error(backend + ".base_url", "'" + p.base_url + "' is not an http(s) URL"));
}

config load(const config_sources& src, const problems& p) {
  config c;
  if (src.file) load_file(c, *src.file, p);
  for (auto& d : key_defs()) {
    for (auto& name : d.env) {
      std::optional<std::string> v;
      if (src.getenv) {
        v = src.getenv(name);
      } else if (const char* e = std::getenv(name.c_str())) {
        v = e;
      }
      if (v) apply(c, d, *v, "environment " + name, p);
    }
  }
  for (auto& [key, value] : src.flags) {
    auto* d = find_key(key);
    if (!d) {
      p.report(config_error(key, "unknown option --" + key));
      continue;
    }
    apply(c, *d, value, "--" + key, p);
  }
  // Relations between keys.
  if (c.processor.per_user_batch_size > c.processor.batch_size)
    c.processor.per_user_batch_size = c.processor.batch_size;
  if (c.processor.retry_max_ms < c.processor.retry_base_ms)
    p.report(config_error("processor.retry_max_ms", "must be >= processor.retry_base_ms"));
  check_llm_provider(c, p);
  if (c.alerts.window_ms < c.history.interval_ms)
    p.report(config_error("alerts.window_ms", "must be >= history.interval_ms (" +
                                                  std::to_string(c.history.interval_ms) + ")"));
  if (c.storage.backend == "postgres" && c.storage.database_url.empty())
    p.report(config_error(
        "storage.database_url",
        "required with storage.backend = postgres (env DATABASE_URL, a libpq URI "
        "postgresql://user:password@host:5432/database)"));
  // A certificate without its key (or the reverse) cannot serve HTTPS, and silently serving
  // plain HTTP instead would be worse. The files themselves are read when the server starts.
  if (c.server.tls_cert.empty() != c.server.tls_key.empty()) {
    const bool no_key = c.server.tls_key.empty();
    p.report(config_error(no_key ? "server.tls_key" : "server.tls_cert",
                          no_key ? "required with server.tls_cert (env MEMORYD_TLS_KEY)"
                                 : "required with server.tls_key (env MEMORYD_TLS_CERT)"));
  }
  return c;
}

std::vector<std::string> exposure(const config& c, const problems& p) {
  std::vector<std::string> warnings;
  bool loopback = true;
  try {
    loopback = is_loopback_host(c.listen_host());
  } catch (const std::invalid_argument&) {
    return warnings;  // server.listen itself is already reported
  }
  bool has_token = !c.server.api_token.empty();
  try {
    has_token = has_token || !parse_api_tokens(c.server.api_tokens).empty();
  } catch (const std::invalid_argument&) {
    // reported as server.api_tokens when it was set
  }
  if (!loopback && !has_token)
    p.report(config_error(
        "server.api_token",
        "refusing to listen on " + c.server.listen +
            " without an API token: the API would expose every user's messages "
            "and facts to the network. Set MEMORYD_API_TOKEN (server.api_token) "
            "or MEMORYD_API_TOKENS (server.api_tokens), or listen on 127.0.0.1."));
  if (c.twilio.auth_token.empty()) {
    if (!loopback && !c.twilio.allow_unsigned)
      p.report(config_error(
          "twilio.auth_token",
          "refusing to listen on " + c.server.listen +
              " without TWILIO_AUTH_TOKEN (twilio.auth_token): anyone who can reach "
              "the port could post unsigned webhooks and plant facts in any "
              "phone number's memory. Set it, or set twilio.allow_unsigned = true "
              "(TWILIO_ALLOW_UNSIGNED) if something in front of memoryd "
              "authenticates the webhook."));
    if (c.twilio.allow_unsigned)
      warnings.push_back(
          "twilio.allow_unsigned is set and twilio.auth_token is not: POST /webhooks/twilio and "
          "/sms store unsigned requests from anyone who can reach " +
          c.server.listen);
  }
  return warnings;
}

}  // namespace

std::string config::listen_host() const { return split_listen(server.listen).first; }
std::uint16_t config::listen_port() const { return split_listen(server.listen).second; }

config load_config(const config_sources& src) { return load(src, problems{}); }

config load_config_collecting(const config_sources& src, std::vector<config_error>& out) {
  return load(src, problems{&out});
}

std::vector<api_grant> parse_api_tokens(const std::string& list) {
  std::vector<api_grant> out;
  std::size_t n = 0;
  for (std::size_t pos = 0; pos <= list.size(); ++n) {
    auto comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(pos, comma - pos);
    pos = comma + 1;
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.erase(0, 1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.pop_back();
    if (item.empty()) {
      if (list.find_first_not_of(" \t,") == std::string::npos) break;  // "" or only separators
      continue;
    }
    const std::string where = "entry " + std::to_string(n + 1);
    auto colon = item.find(':');
    if (colon == std::string::npos)
      throw std::invalid_argument(where +
                                  " is not SCOPE:TOKEN (scopes: ingest, read, metrics, admin)");
    std::string scope = item.substr(0, colon), token = item.substr(colon + 1);
    if (scope != "ingest" && scope != "read" && scope != "metrics" && scope != "admin")
      throw std::invalid_argument(where + ": unknown scope '" + scope +
                                  "' (scopes: ingest, read, metrics, admin)");
    if (token.empty()) throw std::invalid_argument(where + ": the token is empty");
    for (unsigned char ch : token)
      if (ch <= 0x20 || ch >= 0x7f)
        throw std::invalid_argument(where + ": the token must be printable ASCII without spaces");
    out.push_back({std::move(scope), std::move(token)});
  }
  return out;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::vector<std::string> check_exposure(const config& c) { return exposure(c, problems{}); }

std::vector<std::string> check_exposure_collecting(const config& c,
                                                   std::vector<config_error>& out) {
  return exposure(c, problems{&out});
}

std::vector<config_key_info> config_keys(const config& defaults) {
  std::vector<config_key_info> out;
  for (auto& d : key_defs()) {
    std::string env;
    for (auto& e : d.env) env += (env.empty() ? "" : ", ") + e;
    out.push_back({d.key, env, d.get(defaults)});
  }
  return out;
}

namespace {

// Replaces the value after "password" "=" (spaces allowed, quoted or not) up to a separator.
std::string redact_password_params(std::string s, const std::string& separators) {
  for (std::size_t pos = 0; (pos = s.find("password", pos)) != std::string::npos;) {
    auto i = pos + 8;
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size() || s[i] != '=') {
      pos = i;
      continue;
    }
    ++i;
    while (i < s.size() && s[i] == ' ') ++i;
    auto end = i;
    if (end < s.size() && s[end] == '\'') {
      for (++end; end < s.size() && s[end] != '\''; ++end)
        if (s[end] == '\\') ++end;
      if (end < s.size()) ++end;
    } else {
      while (end < s.size() && separators.find(s[end]) == std::string::npos) ++end;
    }
    s.replace(i, end - i, "***");
    pos = i + 3;
  }
  return s;
}

bool is_secret_key(const std::string& key) {
  return key == "server.api_token" || key == "anthropic.api_key" || key == "openai.api_key" ||
         key == "twilio.auth_token";
}

}  // namespace

std::string redact_database_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return redact_password_params(url, " \t");  // key=value form
  std::string out = url;
  const auto start = scheme + 3;
  const auto authority_end = out.find_first_of("/?", start);
  const auto at = out.rfind('@', authority_end == std::string::npos ? out.size() : authority_end);
  if (at != std::string::npos && at >= start) {
    const auto colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  auto query = out.find('?');
  if (query == std::string::npos) return out;
  return out.substr(0, query) + redact_password_params(out.substr(query), "&");
}

std::vector<effective_setting> effective_settings(const config& c) {
  std::vector<effective_setting> out;
  for (auto& d : key_defs()) {
    std::string v = d.get(c);
    if (is_secret_key(d.key) && !v.empty()) {
      v = "<redacted>";
    } else if (d.key == "server.api_tokens" && !v.empty()) {
      std::string scopes;
      try {
        for (auto& g : parse_api_tokens(v)) scopes += (scopes.empty() ? "" : ",") + g.scope + ":<redacted>";
      } catch (const std::invalid_argument&) {
        scopes = "<redacted>";
      }
      v = scopes;
    } else if (d.key == "storage.database_url") {
      v = redact_database_url(v);
    } else if (d.key == "alerts.webhook_url" && !v.empty()) {
      // Chat webhooks (Slack, Teams) carry their secret in the path or query: keep the host.
      const auto scheme = v.find("://");
      const auto path = v.find_first_of("/?", scheme == std::string::npos ? 0 : scheme + 3);
      if (path != std::string::npos) v = v.substr(0, path) + "/<redacted>";
    }
    out.push_back({d.key, v, d.text});
  }
  return out;
}

}  // namespace memoryd
