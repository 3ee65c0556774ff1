// What the reliability suites share: the knobs (short by default, full with
// MEMORYD_RELIABILITY_FULL=1, a seed for kill moments and fault patterns) and the fake LLM's
// view of the pipeline: messages carry "usr-<user>" and "msg-<id>" tokens and every message
// yields the fact "Collects token K<id>", so a replayed or lost extraction is visible.
#pragma once

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace memoryd::testing {

inline bool full_run() {
  const char* v = std::getenv("MEMORYD_RELIABILITY_FULL");
  return v != nullptr && std::string(v) == "1";
}

// Built with AddressSanitizer or ThreadSanitizer: every process runs 2-5x slower, so the
// load-heavy suites send less and wait longer; what they check stays the same.
inline bool sanitized_build() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}

inline std::uint64_t seed() {
  const char* v = std::getenv("MEMORYD_RELIABILITY_SEED");
  return v != nullptr ? std::strtoull(v, nullptr, 10) : 20261121;
}

// The ids following each occurrence of `prefix` in `text` ("msg-" -> message ids).
inline std::vector<std::string> tokens(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  for (auto pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos)) {
    auto end = pos + prefix.size();
    while (end < text.size() && std::isalnum(static_cast<unsigned char>(text[end]))) ++end;
    out.push_back(text.substr(pos + prefix.size(), end - pos - prefix.size()));
    pos = end;
  }
  return out;
}

// The fact the fake LLM extracts from message `msg`.
inline std::string fact_of(const std::string& msg) { return "Collects token K" + msg; }

}  // namespace memoryd::testing
