// Structured logs: one JSON object per line on stdout, through spdlog.
//   log::info("memory_processor_complete", {{"messages", 12}, {"total_ms", 3.5}});
// prints {"ts":"...","level":"info","event":"memory_processor_complete","messages":12,...}.
// Message content never goes into info logs; user ids go through log::redact.
#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace memoryd::log {

struct field {
  using value_type = std::variant<std::int64_t, double, bool, std::string>;
  std::string_view key;
  value_type value;

  field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  field(std::string_view k, const std::string& v) : key(k), value(v) {}
  field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  field(std::string_view k, bool v) : key(k), value(v) {}
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  field(std::string_view k, T v) : key(k), value(static_cast<std::int64_t>(v)) {}
  template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  field(std::string_view k, T v) : key(k), value(static_cast<double>(v)) {}
};

// Sets up the default logger: JSON lines at the given level, on stdout (the service) or
// stderr (CLI commands whose stdout is their result).
void init(const std::string& level, bool to_stderr = false);

void event(spdlog::level::level_enum lvl, std::string_view name, std::initializer_list<field> fs);
inline void debug(std::string_view name, std::initializer_list<field> fs = {}) {
  event(spdlog::level::debug, name, fs);
}
inline void info(std::string_view name, std::initializer_list<field> fs = {}) {
  event(spdlog::level::info, name, fs);
}
inline void warn(std::string_view name, std::initializer_list<field> fs = {}) {
  event(spdlog::level::warn, name, fs);
}
inline void error(std::string_view name, std::initializer_list<field> fs = {}) {
  event(spdlog::level::err, name, fs);
}

// "+15551234567" -> "***4567": the most of a user id an info log may show.
std::string redact(std::string_view user_id);

// JSON string escaping (quotes included).
std::string quote(std::string_view s);

}  // namespace memoryd::log
