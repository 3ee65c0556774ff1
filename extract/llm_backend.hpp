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
  std::chrono::milliseconds timeout{60000};  // LLM_TIMEOUT_MS: whole request
  std::string ca_file;                       // empty: the system CA store
};

// Error classification (thrown as extraction_failure; messages never contain the key):
//   connect / timeout / reset / bad HTTP               transient
//   TLS failure (certificate verification, protocol)   permanent: retrying cannot fix a
//                                                       wrong CA or a wrong scheme
//   429                                                rate_limited, retry_after_ms from
//                                                       retry-after-ms / Retry-After
//                                                       (seconds or HTTP-date)
//   408, 409, 5xx (529 overloaded)                     transient (+ Retry-After if given)
//   any other status (400, 401, 403, 404, 422, 3xx)    permanent, naming the status and the
//                                                       API's error message
// A 2xx answer that cannot be understood (envelope or operations)   unparseable (the message
//                                                       mentions truncation when the model
//                                                       hit max_tokens), with the token
//                                                       counts
//
// Tokens: Anthropic input_tokens (+ cache_creation_input_tokens + cache_read_input_tokens)
// and output_tokens; OpenAI prompt_tokens and completion_tokens; 0 when the server sends no
// usage. Counted for every 2xx answer, understood or not.
//
// OpenAI-compatible requests always ask for response_format {"type": "json_object"}; servers
// that reject it answer 400 (permanent) — all of OpenAI, vLLM, llama.cpp's server and Ollama
// accept it. The token limit is sent as "max_tokens".
//
// Keeps one connection alive; not thread-safe: one llm_extractor per extractor actor.
class llm_extractor : public extractor_backend {
 public:
  // Throws std::invalid_argument for an unknown provider, an empty model or base_url, and
  // https_error when ca_file cannot be loaded.
  explicit llm_extractor(llm_options opts);
  ~llm_extractor() override;

  extraction_output extract(const extraction_input& in) override;
  // "<provider>:<model>/<prompt_version>", e.g. "anthropic:claude-3-5-haiku-latest/prompt-1".
  std::string version() const override;

  // TCP connections opened so far (connection reuse shows here).
  std::int64_t connections_opened() const;

 private:
  llm_options opts_;
  std::string url_;
  std::unique_ptr<https_client> client_;
};

// Parses a Retry-After value: delay-seconds (fractions allowed) or an HTTP-date, relative to
// `now_ms` (ms since the epoch). Returns 0 when absent or unreadable.
millis parse_retry_after(const std::string& value, millis now_ms);

}  // namespace memoryd
