// DESIGN §2.10, no anonymous writers: what `memoryd serve` refuses to expose, for every
// combination of listen address, API token, Twilio auth token and twilio.allow_unsigned; and
// the syntax of server.api_tokens.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>

#include "app/config.hpp"
#include "tests/app/config_sources.hpp"

using namespace memoryd;

namespace {

config load(std::map<std::string, std::string> env) {
  return load_config(memoryd::testing::with_env(std::move(env)));
}

// The key check_exposure names, "" when it lets the configuration start.
std::string refused_key(const config& c) {
  try {
    check_exposure(c);
    return "";
  } catch (const config_error& e) {
    return e.key();
  }
}

}  // namespace

TEST_CASE("exposure: every combination of address, tokens and allow_unsigned") {
  struct row {
    const char* listen;
    bool api_token, scoped_token, twilio_token, allow_unsigned;
    const char* refused;  // the key named, "" when it starts
    bool warns;
  };
  const row rows[] = {
      // Loopback: nothing is required; allow_unsigned without a Twilio token still warns.
      {"127.0.0.1:8080", false, false, false, false, "", false},
      {"127.0.0.1:8080", false, false, false, true, "", true},
      {"127.0.0.1:8080", false, false, true, true, "", false},
      {"[::1]:8080", false, false, false, false, "", false},
      {"localhost:8080", false, false, false, false, "", false},
      // Beyond loopback: an API token first, then the webhook's signature or the opt-out.
      {"0.0.0.0:8080", false, false, false, false, "server.api_token", false},
      {"0.0.0.0:8080", false, false, true, false, "server.api_token", false},
      {"0.0.0.0:8080", true, false, false, false, "twilio.auth_token", false},  // issue 13's hole
      {"0.0.0.0:8080", false, true, false, false, "twilio.auth_token", false},
      {"0.0.0.0:8080", true, false, false, true, "", true},
      {"0.0.0.0:8080", true, false, true, false, "", false},
      {"0.0.0.0:8080", false, true, true, false, "", false},
      {"[::]:8080", true, false, false, false, "twilio.auth_token", false},
      {"10.1.2.3:8080", true, false, true, true, "", false},
      {"memoryd.internal:8080", true, false, false, false, "twilio.auth_token", false},
  };
  for (const auto& r : rows) {
    std::map<std::string, std::string> env{{"MEMORYD_LISTEN", r.listen}};
    if (r.api_token) env["MEMORYD_API_TOKEN"] = "admin-token-0123456789";
    if (r.scoped_token) env["MEMORYD_API_TOKENS"] = "ingest:bot-token-0123456789";
    if (r.twilio_token) env["TWILIO_AUTH_TOKEN"] = "twilio-secret";
    if (r.allow_unsigned) env["TWILIO_ALLOW_UNSIGNED"] = "true";
    INFO(r.listen << " api=" << r.api_token << " scoped=" << r.scoped_token
                  << " twilio=" << r.twilio_token << " allow_unsigned=" << r.allow_unsigned);
    const auto c = load(env);
    CHECK(refused_key(c) == r.refused);
    if (std::string(r.refused).empty()) CHECK(check_exposure(c).empty() == !r.warns);
  }
}

TEST_CASE("exposure: the refusal names both keys that would fix it") {
  const auto c = load({{"MEMORYD_LISTEN", "0.0.0.0:8080"}, {"MEMORYD_API_TOKEN", "t"}});
  try {
    check_exposure(c);
    FAIL("started without TWILIO_AUTH_TOKEN on 0.0.0.0");
  } catch (const config_error& e) {
    const std::string what = e.what();
    CHECK(what.find("TWILIO_AUTH_TOKEN") != std::string::npos);
    CHECK(what.find("twilio.allow_unsigned") != std::string::npos);
    CHECK(what.find("TWILIO_ALLOW_UNSIGNED") != std::string::npos);
  }
}

TEST_CASE("api_tokens: scope:token lists, with errors that never echo a token") {
  auto g = parse_api_tokens(" ingest:T1, read:T1 ,admin:T3,metrics:prom-1");
  REQUIRE(g.size() == 4);
  CHECK(g[0].scope == "ingest");
  CHECK(g[0].token == "T1");
  CHECK(g[1].scope == "read");
  CHECK(g[1].token == "T1");
  CHECK(g[2].scope == "admin");
  CHECK(g[3].scope == "metrics");
  CHECK(g[3].token == "prom-1");
  CHECK(parse_api_tokens("").empty());
  CHECK(parse_api_tokens(" , ").empty());
  CHECK(parse_api_tokens("read:a:b")[0].token == "a:b");  // the first colon separates
  for (const char* bad : {"secret-token", "root:secret-token", "read:", "read:two words",
                          ":secret-token", "ingest:ok,write:secret-token"}) {
    INFO(bad);
    try {
      parse_api_tokens(bad);
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("secret-token") == std::string::npos);
    }
  }
  config_sources s;
  s.getenv = [](const std::string& n) -> std::optional<std::string> {
    if (n == "MEMORYD_API_TOKENS") return "reader:xyz";
    return std::nullopt;
  };
  CHECK_THROWS_AS(load_config(s), config_error);
  try {
    load_config(s);
  } catch (const config_error& e) {
    CHECK(e.key() == "server.api_tokens");
  }
}
