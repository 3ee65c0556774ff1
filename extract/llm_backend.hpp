// The LLM extraction backends: Anthropic's Messages API and OpenAI-compatible chat
// completions (OpenAI, vLLM, llama.cpp's server, Ollama), over https_client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

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
// OpenAI-compatible requests always ask for response_format {"type": "json_object"}; servers
// that reject it answer 400 (permanent) — all of OpenAI, vLLM, llama.cpp's server and Ollama
// accept it. The token limit is sent as `token_limit_field` (OpenAI deprecated "max_tokens"
// for "max_completion_tokens", which its o-series and gpt-5 models require; local servers
// read only "max_tokens").
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
  // "<provider>:<model>/<prompt_version>", e.g. "anthropic:claude-sonnet-4-6/prompt-1".
  std::string version() const override;

  // TCP connections opened so far (connection reuse shows here).
  std::int64_t connections_opened() const;

 private:
  struct call_result;
  call_result call(const extraction_input& in, std::int64_t budget);

  llm_options opts_;
  std::string url_;
  std::string token_field_;  // the resolved token_limit_field
  std::unique_ptr<https_client> client_;
};

// "max_completion_tokens" for api.openai.com (any scheme, port or path), "max_tokens" for
// every other server (vLLM, llama.cpp, Ollama, proxies).
std::string default_token_limit_field(const std::string& base_url);

// Parses a Retry-After value: delay-seconds (fractions allowed) or an HTTP-date, relative to
// `now_ms` (ms since the epoch). Returns 0 when absent or unreadable.
millis parse_retry_after(const std::string& value, millis now_ms);

}  // namespace memoryd
