#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>

namespace memoryd::log {
namespace {

// Payloads made by event() start with this marker and are already JSON members; any other
// payload (from code that calls spdlog directly) becomes a quoted "msg".
constexpr std::string_view marker = "\x1e";

class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto t = std::chrono::system_clock::to_time_t(msg.time);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string line = std::string("{\"ts\":\"") + ts + "\",\"level\":\"" +
                       std::string(spdlog::level::to_string_view(msg.level).data(),
                                   spdlog::level::to_string_view(msg.level).size()) +
                       "\",";
    if (payload.substr(0, marker.size()) == marker) {
      line.append(payload.substr(marker.size()));
    } else {
      line += "\"event\":\"log\",\"msg\":" + quote(payload);
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

void append_value(std::string& out, const field::value_type& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          out += quote(x);
        } else if constexpr (std::is_same_v<T, bool>) {
          out += x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(x)) {
            out += "null";
          } else {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.3f", x);
            out += buf;
          }
        } else {
          out += std::to_string(x);
        }
      },
      v);
}

}  // namespace

void init(const std::string& level, bool to_stderr) {
  auto logger =
      to_stderr ? spdlog::stderr_logger_mt("memoryd") : spdlog::stdout_logger_mt("memoryd");
  logger->set_formatter(std::make_unique<json_formatter>());
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void event(spdlog::level::level_enum lvl, std::string_view name, std::initializer_list<field> fs) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(lvl)) return;
  std::string out(marker);
  out += "\"event\":" + quote(name);
  for (auto& f : fs) {
    out += ',';
    out += quote(f.key);
    out += ':';
    append_value(out, f.value);
  }
  logger->log(lvl, "{}", out);
}

std::string redact(std::string_view user_id) {
  if (user_id.size() <= 4) return "***";
  return "***" + std::string(user_id.substr(user_id.size() - 4));
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x1e) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace memoryd::log
