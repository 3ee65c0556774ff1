// GET /metrics parses under the Prometheus text format's rules (exposition format 0.0.4):
// names, labels and escapes, values, one TYPE per family before its samples, families
// contiguous, histograms complete and cumulative, bucket bounds written as people write them.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/metrics.hpp"

using namespace memoryd;

namespace {

struct sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> raw;  // label values as written
  double value = 0;
};

bool is_float(const std::string& s, double& out) {
  if (s == "+Inf" || s == "Inf") return out = INFINITY, true;
  if (s == "-Inf") return out = -INFINITY, true;
  if (s == "NaN" || s == "Nan") return out = NAN, true;
  static const std::regex number(R"([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)");
  if (!std::regex_match(s, number)) return false;
  out = std::strtod(s.c_str(), nullptr);
  return true;
}

// Parses one sample line; fails the test on anything the format does not allow.
sample parse_sample(const std::string& line) {
  INFO(line);
  static const std::regex name(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*))");
  std::smatch m;
  REQUIRE(std::regex_search(line, m, name));
  sample s;
  s.name = m[1];
  std::size_t i = s.name.size();
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (line.at(i) != '}') {
      static const std::regex label(R"(^([a-zA-Z_][a-zA-Z0-9_]*)=")");
      std::smatch lm;
      const std::string rest = line.substr(i);
      REQUIRE(std::regex_search(rest, lm, label));
      const std::string key = lm[1];
      i += lm[0].length();
      std::string value, raw;
      for (; line.at(i) != '"'; ++i) {
        raw += line[i];
        if (line[i] == '\\') {
          const char e = line.at(++i);
          raw += e;
          REQUIRE((e == '\\' || e == '"' || e == 'n'));
          value += e == 'n' ? '\n' : e;
        } else {
          REQUIRE(line[i] != '\n');
          value += line[i];
        }
      }
      ++i;
      REQUIRE(s.labels.count(key) == 0);
      s.labels[key] = value;
      s.raw[key] = raw;
      if (line.at(i) == ',') ++i;
    }
    ++i;
  }
  REQUIRE(line.at(i) == ' ');
  std::istringstream rest(line.substr(i + 1));
  std::string value, timestamp, extra;
  rest >> value >> timestamp >> extra;
  REQUIRE(is_float(value, s.value));
  REQUIRE(extra.empty());
  return s;
}

}  // namespace

TEST_CASE("/metrics parses under the Prometheus text format rules") {
  metrics::reset_for_tests();
  metrics::inc("memoryd_http_requests_total", R"(route="/v1/messages",code="202")");
  metrics::inc("memoryd_http_requests_total", R"(route="other",code="404")", 2);
  metrics::inc("memoryd_messages_ingested_total", R"(channel="sms")", 3);
  metrics::inc("memoryd_extractions_total", R"(result="ok")");
  metrics::inc("memoryd_llm_tokens_total", R"(direction="input")", 1e12);
  for (double v : {0.0001, 0.0007, 0.003, 0.2, 7.0})
    metrics::observe("memoryd_http_request_duration_seconds", R"(route="/v1/messages")", v);
  metrics::observe("memoryd_extraction_duration_seconds", "", 0.042);
  const auto text = metrics::render({{"memoryd_queue_messages", R"(status="pending")", 5},
                                     {"memoryd_queue_oldest_pending_age_seconds", "", 1.5},
                                     {"memoryd_alert_active", R"(alert="failure_rate")", 1},
                                     {"memoryd_alert_active", R"(alert="a\"b\\c\nd")", 0}});
  INFO(text);
  REQUIRE(!text.empty());
  REQUIRE(text.back() == '\n');

  std::map<std::string, std::string> types;
  std::set<std::string> finished;  // families whose samples have ended
  std::string current;
  std::vector<sample> samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    REQUIRE(!line.empty());
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      REQUIRE(types.count(name) == 0);  // one TYPE per family
      REQUIRE(std::set<std::string>{"counter", "gauge", "histogram", "summary", "untyped"}.count(type));
      types[name] = type;
      continue;
    }
    REQUIRE(line[0] != '#');
    auto s = parse_sample(line);
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string sfx = suffix;
      if (family.size() > sfx.size() && family.compare(family.size() - sfx.size(), sfx.size(), sfx) == 0 &&
          types.count(family.substr(0, family.size() - sfx.size())) &&
          types[family.substr(0, family.size() - sfx.size())] == "histogram")
        family = family.substr(0, family.size() - sfx.size());
    }
    REQUIRE(types.count(family) == 1);  // TYPE came first
    if (family != current) {
      REQUIRE(finished.count(family) == 0);  // a family's samples are contiguous
      if (!current.empty()) finished.insert(current);
      current = family;
    }
    if (types[family] == "counter") REQUIRE(s.value >= 0);
    samples.push_back(s);
  }

  // Histograms: per label set, buckets ascending in le, cumulative, +Inf == _count; the bounds
  // as written, e.g. 0.0005 and not 0.00050000000000000001.
  std::map<std::string, std::vector<std::pair<double, double>>> buckets;
  std::map<std::string, double> counts;
  for (const auto& s : samples) {
    if (s.name == "memoryd_http_request_duration_seconds_bucket") {
      REQUIRE(s.labels.count("le"));
      double le = 0;
      REQUIRE(is_float(s.labels.at("le"), le));
      CHECK(s.raw.at("le").size() <= 6);
      buckets[s.labels.at("route")].push_back({le, s.value});
    }
    if (s.name == "memoryd_http_request_duration_seconds_count") counts[s.labels.at("route")] = s.value;
  }
  REQUIRE(buckets.size() == 1);
  auto& b = buckets.at("/v1/messages");
  std::sort(b.begin(), b.end());
  for (std::size_t i = 1; i < b.size(); ++i) CHECK(b[i].second >= b[i - 1].second);
  CHECK(std::isinf(b.back().first));
  CHECK(b.back().second == 5);
  CHECK(counts.at("/v1/messages") == 5);
  CHECK(b.front().first == 0.0005);
  CHECK(b.front().second == 1);

  // The values that went in come out.
  auto find = [&](const std::string& name, const std::string& key, const std::string& value) {
    for (const auto& s : samples)
      if (s.name == name && (key.empty() || (s.labels.count(key) && s.labels.at(key) == value)))
        return s.value;
    FAIL("no sample " << name << " " << key << "=" << value);
    return -1.0;
  };
  CHECK(find("memoryd_http_requests_total", "code", "404") == 2);
  CHECK(find("memoryd_llm_tokens_total", "direction", "input") == 1e12);
  CHECK(find("memoryd_queue_messages", "status", "pending") == 5);
  CHECK(find("memoryd_queue_oldest_pending_age_seconds", "", "") == 1.5);
  CHECK(find("memoryd_alert_active", "alert", "failure_rate") == 1);
  CHECK(find("memoryd_alert_active", "alert", "a\"b\\c\nd") == 0);  // escaped and back
  CHECK(types.at("memoryd_alert_active") == "gauge");
  CHECK(types.at("memoryd_http_request_duration_seconds") == "histogram");
  metrics::reset_for_tests();
}
