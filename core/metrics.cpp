// The values live in a prometheus-cpp registry (Debian's prometheus-cpp-dev, its core library
// only) and its TextSerializer writes the exposition: escaping, number formatting and the
// histogram series are the library's (bucket bounds print as le="0.0005", not as
// "0.00050000000000000001"). tests/http/metrics_exposition_tests.cpp parses the output under
// the text format's rules. memoryd keeps its own string-labelled entry points so that call
// sites stay one line; a (name, labels) pair is looked up in a cache, then updated lock-free.
#include "core/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <memory>
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
      {"memoryd_queue_waiting_messages",
       kind::gauge,
       "Messages waiting (pending or leased), by their priority (live, backfill)",
       {}},
      {"memoryd_queue_waiting_users",
       kind::gauge,
       "Users waiting, by scheduling class (live while a live message of theirs waits)",
       {}},
      {"memoryd_queue_oldest_waiting_age_seconds",
       kind::gauge,
       "Age of the oldest waiting message of each scheduling class's users",
       {}},
      {"memoryd_messages_claimed_total", kind::counter, "Messages claimed, by priority", {}},
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
      {"memoryd_alert_active",
       kind::gauge,
       "1 while the alert fires (docs/OPERATIONS.md, docs/alerts.yml), by alert",
       {}},
  };
  return defs;
}

const definition& find(std::string_view name) {
  for (auto& d : definitions())
    if (name == d.name) return d;
  throw std::logic_error("undeclared metric " + std::string(name));
}

// `k="v",k2="v2"` (values escaped as in the exposition: \\, \", \n) as prometheus labels.
prometheus::Labels parse_labels(std::string_view s) {
  prometheus::Labels out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto eq = s.find("=\"", i);
    if (eq == std::string_view::npos) throw std::logic_error("bad metric labels");
    std::string name(s.substr(i, eq - i));
    std::string value;
    std::size_t j = eq + 2;
    for (; j < s.size() && s[j] != '"'; ++j) {
      if (s[j] == '\\' && j + 1 < s.size()) {
        ++j;
        value += s[j] == 'n' ? '\n' : s[j];
      } else {
        value += s[j];
      }
    }
    if (j >= s.size()) throw std::logic_error("bad metric labels");
    out.emplace(std::move(name), std::move(value));
    i = j + 1;
    if (i < s.size() && s[i] == ',') ++i;
  }
  return out;
}

template <class M>
using cache = std::map<std::string, std::map<std::string, M*, std::less<>>, std::less<>>;

struct registry {
  std::mutex mutex;
  std::shared_ptr<prometheus::Registry> reg = std::make_shared<prometheus::Registry>();
  std::map<std::string, prometheus::Family<prometheus::Counter>*, std::less<>> counter_families;
  std::map<std::string, prometheus::Family<prometheus::Histogram>*, std::less<>> histogram_families;
  cache<prometheus::Counter> counters;
  cache<prometheus::Histogram> histograms;

  registry() {
    for (auto& d : definitions()) {
      if (d.type == kind::counter)
        counter_families[d.name] =
            &prometheus::BuildCounter().Name(d.name).Help(d.help).Register(*reg);
      else if (d.type == kind::histogram)
        histogram_families[d.name] =
            &prometheus::BuildHistogram().Name(d.name).Help(d.help).Register(*reg);
    }
  }
};

registry& reg() {
  static registry r;
  return r;
}

// The metric of that name and labels, made on first use. Called under the registry's mutex.
template <class M, class Families, class Make>
M& lookup(cache<M>& c, Families& families, std::string_view name, std::string_view labels,
          Make make) {
  auto it = c.find(name);
  if (it == c.end())
    it = c.emplace(std::string(name), std::map<std::string, M*, std::less<>>{}).first;
  auto m = it->second.find(labels);
  if (m == it->second.end()) {
    auto& family = *families.find(name)->second;
    m = it->second.emplace(std::string(labels), &make(family, parse_labels(labels))).first;
  }
  return *m->second;
}

}  // namespace

void inc(std::string_view name, std::string_view labels, double by) {
  if (find(name).type != kind::counter) throw std::logic_error("not a counter");
  auto& r = reg();
  prometheus::Counter* c = nullptr;
  {
    std::lock_guard lock(r.mutex);
    c = &lookup(r.counters, r.counter_families, name, labels,
                [](auto& family, const prometheus::Labels& l) -> prometheus::Counter& {
                  return family.Add(l);
                });
  }
  c->Increment(by);
}

void observe(std::string_view name, std::string_view labels, double value) {
  auto& def = find(name);
  if (def.type != kind::histogram) throw std::logic_error("not a histogram");
  auto& r = reg();
  prometheus::Histogram* h = nullptr;
  {
    std::lock_guard lock(r.mutex);
    h = &lookup(r.histograms, r.histogram_families, name, labels,
                [&](auto& family, const prometheus::Labels& l) -> prometheus::Histogram& {
                  return family.Add(l, prometheus::Histogram::BucketBoundaries(def.buckets.begin(),
                                                                               def.buckets.end()));
                });
  }
  h->Observe(value);
}

std::string render(const std::vector<gauge_value>& gauges) {
  auto& r = reg();
  std::vector<prometheus::MetricFamily> collected;
  {
    std::lock_guard lock(r.mutex);
    collected = r.reg->Collect();
  }
  // Every declared metric, in the declared order: the registry's families and the gauges read
  // for this answer.
  std::vector<prometheus::MetricFamily> out;
  for (auto& d : definitions()) {
    if (d.type != kind::gauge) {
      for (auto& f : collected)
        if (f.name == d.name) out.push_back(std::move(f));
      continue;
    }
    prometheus::MetricFamily f;
    f.name = d.name;
    f.help = d.help;
    f.type = prometheus::MetricType::Gauge;
    for (auto& g : gauges) {
      if (g.name != d.name) continue;
      prometheus::ClientMetric m;
      for (auto& [k, v] : parse_labels(g.labels)) m.label.push_back({k, v});
      m.gauge.value = g.value;
      f.metric.push_back(std::move(m));
    }
    out.push_back(std::move(f));
  }
  return prometheus::TextSerializer().Serialize(out);
}

void reset_for_tests() {
  auto& r = reg();
  std::lock_guard lock(r.mutex);
  for (auto& [name, by_labels] : r.counters)
    for (auto& [labels, c] : by_labels) r.counter_families[name]->Remove(c);
  for (auto& [name, by_labels] : r.histograms)
    for (auto& [labels, h] : by_labels) r.histogram_families[name]->Remove(h);
  r.counters.clear();
  r.histograms.clear();
}

}  // namespace memoryd::metrics
