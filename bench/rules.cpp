// Throughput of the rule-based extractor, single-threaded: extract_facts over >= 100k messages.
// usage: bench_rules [FILE.jsonl]  -- records {"messages": [string | {"content"}]} (e.g. the
// evaluation file), cycled until 100k messages; without FILE, generated chat messages.
// Prints one JSON line: {"bench":"rules_extract","messages":N,"facts":F,"seconds":S,
// "messages_per_sec":R,"cpu_seconds":C,"messages_per_cpu_sec":RC}. On a shared, loaded box the
// wall-clock rate mostly measures the other load; the CPU-time rate (this thread's CPU time,
// CLOCK_THREAD_CPUTIME_ID) is the extractor's own speed.
#include <boost/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "extract/rules.hpp"

namespace {

std::vector<std::string> load(const char* path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto* ms = v.as_object().if_contains("messages");
    if (ms == nullptr || !ms->is_array()) continue;
    for (const auto& m : ms->as_array()) {
      if (m.is_string()) {
        out.emplace_back(m.as_string().c_str());
      } else if (m.is_object()) {
        if (const auto* c = m.as_object().if_contains("content"); c && c->is_string())
          out.emplace_back(c->as_string().c_str());
      }
    }
  }
  return out;
}

std::vector<std::string> generate() {
  const std::vector<std::string> subjects = {
      "i have two dogs and a cat named max .",
      "I'm a nurse at the children's hospital and I live in Seattle.",
      "hey how are you ? lol",
      "i do not like crowds , i love hiking in the mountains though",
      "My wife's name is Anna and we just moved to Boston!",
      "i 'm allergic to peanuts and i don't eat meat .",
      "thanks so much! talk to you later",
      "i work as a teacher , what do you do for a living ?",
      "i sing folk music and play piano and guitar .",
      "i'm tired today, i just got off work",
      "my favorite band is the rolling stones",
      "I used to be a painter but now I'm a housekeeper.",
  };
  std::vector<std::string> out;
  for (std::size_t i = 0; i < 1000; ++i) out.push_back(subjects[i % subjects.size()]);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> msgs = argc > 1 ? load(argv[1]) : generate();
  if (msgs.empty()) {
    std::cerr << "no messages\n";
    return 1;
  }
  constexpr std::size_t target = 100000;
  std::size_t n = 0, facts = 0;
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  const double c0 = cpu_now();
  const auto t0 = std::chrono::steady_clock::now();
  while (n < target)
    for (const auto& m : msgs) {
      facts += memoryd::extract_facts(m).size();
      ++n;
    }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_now() - c0;
  std::printf(
      "{\"bench\":\"rules_extract\",\"messages\":%zu,\"facts\":%zu,\"seconds\":%.3f,"
      "\"messages_per_sec\":%.0f,\"cpu_seconds\":%.3f,\"messages_per_cpu_sec\":%.0f}\n",
      n, facts, s, static_cast<double>(n) / s, cpu, static_cast<double>(n) / cpu);
  return 0;
}
