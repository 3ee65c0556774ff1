// The LLM extraction backends: Anthropic's Messages API and OpenAI-compatible chat
// completions (OpenAI, vLLM, llama.cpp's server, Ollama), over https_client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/json/fwd.hpp>

#include "extract/extractor.hpp"

namespace memoryd {

class https_client;

struct llm_options {
  std::string provider;  // "anthropic" | "openai"
  // Anthropic: "https://api.anthropic.com" (requests go to {base}/v1/messages).
  // OpenAI-compatible: "https://api.openai.com/v1", "http://127.0.0.1:11434/v1" (Ollama),
  // "http://127.0.0.1:8080/v1" (llama.cpp) (requests go to {base}/chat/completions).
  std::string base_url;
  std::string api_key;  // OpenAI-compatible: empty sends no Authorization (local servers)
  std::string model;
  std::int64_t max_tokens = 1024;
  // OpenAI-compatible: the request field carrying max_tokens: "max_tokens",
  // "max_completion_tokens", or "auto" / empty: default_token_limit_field(base_url).
  std::string token_limit_field = "auto";
  // Constrained output (llm.structured_output): OpenAI-compatible servers get
  // response_format json_schema (strict) for the operations, Anthropic a single tool whose
  // input_schema is that schema, forced by tool_choice. false: plain JSON mode.
  bool structured_output = true;
  std::chrono::milliseconds timeout{60000};  // LLM_TIMEOUT_MS: whole request
  std::string ca_file;                       // empty: the system CA store
};

// Error classification (thrown as extraction_failure; messages never contain the key):
//   connect / timeout / reset / bad HTTP               transient
//   TLS failure (certificate verification, protocol)   permanent: retrying cannot fix a
//                                                       wrong CA or a wrong scheme
//   an answer whose Content-Encoding cannot be decoded transient (https_client: protocol)
//   x-should-retry: false (any non-2xx)                permanent: the server says a retry
//                                                       cannot succeed (as the SDKs obey it)
//   429                                                rate_limited, retry_after_ms from
//                                                       retry-after-ms / Retry-After
//                                                       (seconds or HTTP-date)
//   408, 409, 5xx (529 overloaded), x-should-retry: true  transient (+ Retry-After if given)
//   any other status (400, 401, 403, 404, 422, 3xx)    permanent, naming the status and the
//                                                       API's error message
//   2xx whose body is not a JSON object (an HTML page  transient: something between memoryd
//   of a proxy, an empty body), or a 2xx {"error"}     and the API answered, not the model
//   the model refused (OpenAI message.refusal or       refused, with the refusal text
//   finish_reason content_filter, Anthropic stop_reason "refusal")
//   truncated at the token budget (stop_reason         sent again with twice max_tokens; if
//   max_tokens, finish_reason length) before the       that is truncated too, each half of
//   JSON is complete                                   the messages alone (ops merged); still
//                                                       truncated: `truncated` (dead-letter)
//   any other 2xx that cannot be understood            unparseable, with the token counts
//   (envelope or operations)
//
// Tokens: Anthropic input_tokens (+ cache_creation_input_tokens + cache_read_input_tokens)
// and output_tokens; OpenAI prompt_tokens and completion_tokens; 0 when the server sends no
// usage. Counted for every 2xx answer, understood or not, summed over the calls of one
// extraction.
//
// Output format. With structured_output, OpenAI-compatible requests carry response_format
// {"type": "json_schema", "json_schema": {"name": "memory_operations", "strict": true,
// "schema": operations_schema()}} (OpenAI, vLLM and llama.cpp's server decode within the
// schema), Anthropic requests a tool "record_memory_operations" with that input_schema and
// tool_choice {"type": "tool"} forcing it; the tool_use block's input is the answer. When a
// server answers 400 or 422 to such a request and the same request in plain JSON mode is
// accepted, the schema was the problem: every extractor of the process (same base URL and
// model) uses plain JSON mode from then on, logged once as structured_output_rejected. A
// schema request that got a 2xx once is never second-guessed on a later 400. Plain JSON mode
// (structured_output false, or after the fallback): OpenAI-compatible requests ask for
// response_format {"type": "json_object"}, Anthropic requests have no tools; the answer is
// found in the text (parse_llm_answer). Answers are read the same way in both modes, so a
// server that ignores the schema still works.
// The token limit is sent as `token_limit_field` (OpenAI deprecated "max_tokens" for
// "max_completion_tokens", which its o-series and gpt-5 models require; local servers read
// only "max_tokens").
//
// Keeps one connection alive; not thread-safe: one llm_extractor per extractor actor.
class llm_extractor : public extractor_backend {
 public:
  // Throws std::invalid_argument for an unknown provider, an empty model or base_url, an
  // unknown token_limit_field, and
  // https_error when ca_file cannot be loaded.
  explicit llm_extractor(llm_options opts);
  ~llm_extractor() override;

  extraction_output extract(const extraction_input& in) override;
  // "<provider>:<model>/<prompt_version>", e.g. "anthropic:claude-sonnet-4-6/prompt-3".
  std::string version() const override;
  bool reads_context() const override { return true; }

  // TCP connections opened so far (connection reuse shows here).
  std::int64_t connections_opened() const;
  // Whether the next request asks for schema-constrained output (false after a fallback).
  bool uses_structured_output() const;

 private:
  struct call_result;
  call_result call(const extraction_input& in, std::int64_t budget);
  call_result call_as(const extraction_input& in, std::int64_t budget, bool structured);

  llm_options opts_;
  std::string url_;
  std::string token_field_;  // the resolved token_limit_field
  std::unique_ptr<https_client> client_;
};

// The JSON Schema of an answer: {"operations": [{"op", "id", "text", "category"}]}, in the
// subset OpenAI's strict mode accepts (every property required, optional ones nullable,
// additionalProperties false), which Anthropic's input_schema and llama.cpp accept too.
const boost::json::value& operations_schema();

// Forgets every structured-output fallback of this process (tests).
void reset_structured_output_fallbacks();

// "max_completion_tokens" for api.openai.com (any scheme, port or path), "max_tokens" for
// every other server (vLLM, llama.cpp, Ollama, proxies).
std::string default_token_limit_field(const std::string& base_url);

// Parses a Retry-After value: delay-seconds (fractions allowed) or an HTTP-date, relative to
// `now_ms` (ms since the epoch). Returns 0 when absent or unreadable.
millis parse_retry_after(const std::string& value, millis now_ms);

}  // namespace memoryd
