// The extraction seam: a user's active facts and new messages in, fact operations out.
// Backends: the rule-based extractor (rules.hpp, the offline default) and the LLM backends
// (llm_backend.hpp). A backend that cannot produce operations throws extraction_failure,
// whose failure_kind (domain/processing.hpp) decides what happens to the messages.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "domain/fact.hpp"
#include "domain/processing.hpp"

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
  // What the assistant said just before a message, by message id, where it is known. Read
  // only to understand a short answer ("No, not yet." after "Are you married?"), never a
  // source of facts. The rule extractor does not use it; the LLM prompt shows it next to
  // the message, marked as not the user's words.
  std::map<std::string, std::string> context_before;
};

struct extraction_output {
  std::vector<fact_op> ops;  // observed_at and source_ids filled in
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  // Operations the backend proposed that failed validation, by reason ("unknown_id",
  // "empty_text", "text_too_long", "unknown_category", ...). Logged and counted, not applied.
  std::map<std::string, std::int64_t> dropped;
};

// Thrown by a backend when extraction could not run (transient, rate_limited, permanent) or
// its answer could not be understood (unparseable: the tokens it cost are still counted).
class extraction_failure : public std::runtime_error {
 public:
  extraction_failure(failure_kind kind, const std::string& what, millis retry_after_ms = 0)
      : std::runtime_error(what), kind_(kind), retry_after_ms_(retry_after_ms) {}
  failure_kind kind() const { return kind_; }
  millis retry_after_ms() const { return retry_after_ms_; }  // the server's Retry-After
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  int http_status = 0;  // the non-2xx status that caused a permanent failure (0: none)

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
  // Whether extract() reads extraction_input::context_before: the claims then fetch it (one
  // index probe per claimed message), otherwise they do not.
  virtual bool reads_context() const { return false; }
};

}  // namespace memoryd
