// alerts.* and history.*: defaults, the TOML file (a fraction is a TOML float), the
// environment, and start-up errors naming the key.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "app/config.hpp"
#include "tests/app/config_sources.hpp"
#include "tests/support/temp_dir.hpp"

using namespace memoryd;
using memoryd::testing::error_key;
using memoryd::testing::with_env;

TEST_CASE("alerts and history keys: defaults, file, environment") {
  auto d = load_config(with_env({}));
  CHECK(d.alerts.failure_rate == 0.2);
  CHECK(d.alerts.min_attempts == 10);
  CHECK(d.alerts.window_ms == 300000);
  CHECK(d.alerts.oldest_pending_ms == 1800000);
  CHECK(d.alerts.dead_letters == 1);
  CHECK(d.alerts.webhook_url.empty());
  CHECK(d.history.interval_ms == 10000);

  memoryd::testing::temp_dir dir;
  const auto file = dir.file("memoryd.toml");
  std::ofstream(file) << "[alerts]\nfailure_rate = 0.35\ndead_letters = 0\n"
                         "webhook_url = \"https://hooks.example.com/T0/B0/x\"\n"
                         "[history]\ninterval_ms = 5000\n";
  auto s = with_env({{"MEMORYD_ALERT_OLDEST_PENDING_MS", "60000"}});
  s.file = file;
  auto c = load_config(s);
  CHECK(c.alerts.failure_rate == 0.35);
  CHECK(c.alerts.dead_letters == 0);
  CHECK(c.alerts.oldest_pending_ms == 60000);
  CHECK(c.alerts.webhook_url == "https://hooks.example.com/T0/B0/x");
  // check-config prints the host, not the path that carries a chat webhook's secret.
  for (auto& e : effective_settings(c))
    if (e.key == "alerts.webhook_url") CHECK(e.value == "https://hooks.example.com/<redacted>");
  CHECK(c.history.interval_ms == 5000);
  CHECK(load_config(with_env({{"MEMORYD_ALERT_FAILURE_RATE", "1"}})).alerts.failure_rate == 1);
}

TEST_CASE("bad alert values stop start-up naming the key") {
  CHECK(error_key(with_env({{"MEMORYD_ALERT_FAILURE_RATE", "1.5"}})) == "alerts.failure_rate");
  CHECK(error_key(with_env({{"MEMORYD_ALERT_FAILURE_RATE", "-0.1"}})) == "alerts.failure_rate");
  CHECK(error_key(with_env({{"MEMORYD_ALERT_FAILURE_RATE", "half"}})) == "alerts.failure_rate");
  CHECK(error_key(with_env({{"MEMORYD_ALERT_WEBHOOK_URL", "hooks.example.com"}})) ==
        "alerts.webhook_url");
  CHECK(error_key(with_env({{"MEMORYD_ALERT_DEAD_LETTERS", "-1"}})) == "alerts.dead_letters");
  CHECK(error_key(with_env({{"MEMORYD_HISTORY_INTERVAL_MS", "10"}})) == "history.interval_ms");
  CHECK(error_key(with_env({{"MEMORYD_ALERT_WINDOW_MS", "5000"}})) == "alerts.window_ms");
  CHECK(error_key(with_env({{"MEMORYD_ALERT_WINDOW_MS", "5000"},
                            {"MEMORYD_HISTORY_INTERVAL_MS", "5000"}})) == "(no error)");
}
