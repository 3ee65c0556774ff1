// Process-wide metrics, rendered in the Prometheus text format for GET /metrics.
// Cheap enough for the ingest path: one short mutex section per update.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace memoryd::metrics {

// Counters and histograms are declared once in metrics.cpp (name, type, help, buckets);
// using an undeclared name is a programming error (it throws std::logic_error).
//
// labels: Prometheus label pairs without braces, e.g. R"(route="/v1/messages",code="202")".
void inc(std::string_view name, std::string_view labels = {}, double by = 1);
void observe(std::string_view name, std::string_view labels, double value);

// Every declared metric plus the given gauges ({name, labels} -> value; gauge names must be
// declared too), as Prometheus text.
struct gauge_value {
  std::string name;
  std::string labels;
  double value = 0;
};
std::string render(const std::vector<gauge_value>& gauges);

// Tests: forget every recorded value.
void reset_for_tests();

}  // namespace memoryd::metrics
