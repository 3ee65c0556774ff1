#include "core/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>

namespace memoryd::metrics {
namespace {

enum class kind { counter, histogram, gauge };

struct definition {
  const char* name;
  kind type;
  const char* help;
  std::vector<double> buckets;  // histograms: upper bounds
};

const std::vector<double> latency_buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,   0.25,   0.5,   1,    2.5};
const std::vector<double> extraction_buckets = {0.001, 0.01, 0.05, 0.1, 0.25, 0.5,
                                                1,     2.5,  5,    10,  30,   60};

// Every metric memoryd exposes, in the order /metrics shows them.
const std::vector<definition>& definitions() {
  static const std::vector<definition> defs = {
      {"memoryd_http_requests_total",
       kind::counter,
       "HTTP requests answered, by route and status",
       {}},
      {"memoryd_http_request_duration_seconds", kind::histogram,
       "Time from a complete request to its answer", latency_buckets},
      {"memoryd_search_duration_seconds", kind::histogram,
       "Time a search reader spends on a search or memory block", latency_buckets},
      {"memoryd_messages_ingested_total", kind::counter, "Messages committed, by channel", {}},
      {"memoryd_messages_duplicate_total",
       kind::counter,
       "Re-deliveries ignored (known external_id)",
       {}},
      {"memoryd_queue_messages", kind::gauge, "Messages by memory status", {}},
      {"memoryd_queue_oldest_pending_age_seconds",
       kind::gauge,
       "Age of the oldest message waiting for extraction",
       {}},
      {"memoryd_queue_retry_scheduled", kind::gauge, "Messages waiting for a retry", {}},
      {"memoryd_queue_users_waiting", kind::gauge, "Users with messages waiting", {}},
      {"memoryd_extractors",
       kind::gauge,
       "Extractors in the pool, by state (busy, idle, limit)",
       {}},
      {"memoryd_extraction_duration_seconds", kind::histogram,
       "Time in the extraction backend per user batch", extraction_buckets},
      {"memoryd_extractions_total", kind::counter, "User batches extracted, by result", {}},
      {"memoryd_llm_tokens_total", kind::counter, "LLM tokens, by direction (input, output)", {}},
      {"memoryd_facts_written_total", kind::counter, "Fact changes, by operation", {}},
      {"memoryd_messages_dead_lettered_total", kind::counter, "Messages dead-lettered", {}},
      {"memoryd_cycles_total", kind::counter, "Processing cycles completed", {}},
  };
  return defs;
}

const definition& find(std::string_view name) {
  for (auto& d : definitions())
    if (name == d.name) return d;
  throw std::logic_error("undeclared metric " + std::string(name));
}

struct histogram_value {
  std::vector<std::uint64_t> counts;  // per bucket, not cumulative
  double sum = 0;
  std::uint64_t count = 0;
};

struct registry {
  std::mutex mutex;
  std::map<std::string, std::map<std::string, double>, std::less<>> counters;
  std::map<std::string, std::map<std::string, histogram_value>, std::less<>> histograms;
};

registry& reg() {
  static registry r;
  return r;
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string braced(const std::string& labels, const std::string& extra = {}) {
  std::string all = labels;
  if (!extra.empty()) all += (all.empty() ? "" : ",") + extra;
  return all.empty() ? "" : "{" + all + "}";
}

}  // namespace

void inc(std::string_view name, std::string_view labels, double by) {
  if (find(name).type != kind::counter) throw std::logic_error("not a counter");
  auto& r = reg();
  std::lock_guard lock(r.mutex);
  auto it = r.counters.find(name);
  if (it == r.counters.end())
    it = r.counters.emplace(std::string(name), std::map<std::string, double>{}).first;
  it->second[std::string(labels)] += by;
}

void observe(std::string_view name, std::string_view labels, double value) {
  auto& def = find(name);
  if (def.type != kind::histogram) throw std::logic_error("not a histogram");
  auto& r = reg();
  std::lock_guard lock(r.mutex);
  auto it = r.histograms.find(name);
  if (it == r.histograms.end())
    it = r.histograms.emplace(std::string(name), std::map<std::string, histogram_value>{}).first;
  auto& h = it->second[std::string(labels)];
  if (h.counts.empty()) h.counts.assign(def.buckets.size(), 0);
  for (std::size_t i = 0; i < def.buckets.size(); ++i) {
    if (value <= def.buckets[i]) {
      h.counts[i]++;
      break;
    }
  }
  h.sum += value;
  h.count++;
}

std::string render(const std::vector<gauge_value>& gauges) {
  auto& r = reg();
  std::lock_guard lock(r.mutex);
  std::string out;
  for (auto& d : definitions()) {
    const char* type = d.type == kind::counter     ? "counter"
                       : d.type == kind::histogram ? "histogram"
                                                   : "gauge";
    out +=
        std::string("# HELP ") + d.name + " " + d.help + "\n# TYPE " + d.name + " " + type + "\n";
    if (d.type == kind::counter) {
      auto it = r.counters.find(d.name);
      if (it != r.counters.end())
        for (auto& [labels, v] : it->second)
          out += d.name + braced(labels) + " " + number(v) + "\n";
    } else if (d.type == kind::histogram) {
      auto it = r.histograms.find(d.name);
      if (it == r.histograms.end()) continue;
      for (auto& [labels, h] : it->second) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < d.buckets.size(); ++i) {
          cumulative += h.counts[i];
          out += std::string(d.name) + "_bucket" +
                 braced(labels, "le=\"" + number(d.buckets[i]) + "\"") + " " +
                 std::to_string(cumulative) + "\n";
        }
        out += std::string(d.name) + "_bucket" + braced(labels, "le=\"+Inf\"") + " " +
               std::to_string(h.count) + "\n";
        out += std::string(d.name) + "_sum" + braced(labels) + " " + number(h.sum) + "\n";
        out +=
            std::string(d.name) + "_count" + braced(labels) + " " + std::to_string(h.count) + "\n";
      }
    } else {
      for (auto& g : gauges)
        if (g.name == d.name) out += g.name + braced(g.labels) + " " + number(g.value) + "\n";
    }
  }
  return out;
}

void reset_for_tests() {
  auto& r = reg();
  std::lock_guard lock(r.mutex);
  r.counters.clear();
  r.histograms.clear();
}

}  // namespace memoryd::metrics
