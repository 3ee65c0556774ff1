// A scripted fake LLM server for tests: Beast on its own io thread, 127.0.0.1, a port the
// OS picks, plain HTTP or TLS (cert + key from files). It records every request and answers
// each from a queue of scripted responses (status, headers, body, delay, or a connection
// reset); with the queue empty it answers 500. Keep-alive connections are served until the
// client closes them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace memoryd::testing {

struct fake_request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  int connection = 0;  // 1-based number of the TCP connection it came on
};

struct fake_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"retry-after", "7"}
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};  // wait this long before answering
  bool reset = false;                  // read the request, then abort the connection (RST)
  bool close = false;                  // answer with Connection: close, then close
};

struct fake_llm_options {
  std::string cert_file;  // both set: serve TLS with this certificate chain and key
  std::string key_file;
};

class fake_llm {
 public:
  explicit fake_llm(fake_llm_options opts = {});
  ~fake_llm();
  fake_llm(const fake_llm&) = delete;
  fake_llm& operator=(const fake_llm&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:PORT" (https:// when serving TLS); `host` replaces 127.0.0.1.
  std::string url(const std::string& host = "127.0.0.1") const;

  void push(fake_response r);                  // answers the next request without one
  std::vector<fake_request> requests() const;  // every request so far, in order
  int connections() const;                     // TCP connections accepted so far

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Successful answers in each API's format, with `text` as the model's output.
fake_response anthropic_reply(const std::string& text, std::int64_t input_tokens = 10,
                              std::int64_t output_tokens = 5,
                              const std::string& stop_reason = "end_turn");
// An Anthropic answer that calls the tool `tool` with `input_json` (a JSON object's text), as
// a forced tool_choice produces.
fake_response anthropic_tool_reply(const std::string& input_json,
                                   const std::string& tool = "record_memory_operations",
                                   const std::string& stop_reason = "tool_use");
fake_response openai_reply(const std::string& text, std::int64_t prompt_tokens = 10,
                           std::int64_t completion_tokens = 5,
                           const std::string& finish_reason = "stop");
// An API error: {"type": "error", "error": {"type": "...", "message": ...}}.
fake_response error_reply(int status, const std::string& message,
                          std::vector<std::pair<std::string, std::string>> headers = {});

}  // namespace memoryd::testing
