// The extraction seam: a user's active facts and new messages in, fact operations out.
// Backends: the rule-based extractor (offline default); the LLM backends come later and
// implement the same interface.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/types.hpp"

namespace memoryd {

struct extraction_message {
  std::string id;
  std::string content;
  millis created_at = 0;
};

struct extraction_input {
  std::string user_id;
  std::vector<fact> facts;                   // the user's active facts
  std::vector<extraction_message> messages;  // new user messages, in arrival order
};

struct extraction_output {
  std::vector<fact_op> ops;  // observed_at and source_ids filled in
  // Set when the answer could not be understood: the batch is marked processed with this
  // recorded, not retried (an LLM that answers garbage would answer garbage again).
  std::string parse_error;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  // Operations the backend proposed that failed validation, by reason ("unknown_id",
  // "empty_text", "text_too_long", "unknown_category", ...). Logged and counted, not applied.
  std::map<std::string, std::int64_t> dropped;
};

enum class failure_kind : std::uint8_t {
  transient,     // retry with backoff (transport error, timeout, 408, 409, 5xx, 529)
  permanent,     // dead-letter at once (400/401/403/404: retrying cannot help)
  rate_limited,  // 429: retry with backoff, and the whole pool slows down
};

// Thrown by a backend when extraction could not run.
class extraction_failure : public std::runtime_error {
 public:
  extraction_failure(failure_kind kind, const std::string& what, millis retry_after_ms = 0)
      : std::runtime_error(what), kind_(kind), retry_after_ms_(retry_after_ms) {}
  failure_kind kind() const { return kind_; }
  millis retry_after_ms() const { return retry_after_ms_; }

 private:
  failure_kind kind_;
  millis retry_after_ms_;
};

class extractor_backend {
 public:
  virtual ~extractor_backend() = default;
  // May block (LLM backends do); runs only on threads that are allowed to block.
  virtual extraction_output extract(const extraction_input& in) = 0;
  // Recorded in every fact event, e.g. "rules/1".
  virtual std::string version() const = 0;
};

}  // namespace memoryd
