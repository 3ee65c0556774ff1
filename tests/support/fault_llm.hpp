// A fault-injecting fake LLM server for the reliability suites: Beast on its own io thread,
// plain HTTP on 127.0.0.1, a port the OS picks. Unlike fake_llm (a queue of scripted
// answers), every request is answered by a handler function, so a test can decide each
// answer from the request itself (for example with a seeded RNG). The server measures what
// the client does: how many calls are in flight at once, overall and per key (the test's
// key function names the user a request is about), and keeps a record of every call with
// its start, end and outcome.
//
// A call is in flight from the moment its request has been read until its answer starts
// to be written, or until the client closes the connection (a call the handler chose to
// leave unanswered, `hang`, ends only that way: the client's timeout).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace memoryd::testing {

struct fault_reply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};  // wait this long before answering
  bool hang = false;                   // never answer: the call ends when the client gives up
  bool reset = false;                  // abort the connection (RST) instead of answering
};

using fault_clock = std::chrono::steady_clock;

struct fault_call {
  std::string key;   // from the key function
  std::string body;  // the request body
  fault_clock::time_point start, end;
  int status = 0;             // the status answered; 0: reset, or abandoned by the client (hang)
  bool abandoned = false;     // the client closed the connection before the answer
  bool done = false;          // `end` and `status` are final
  int connection = 0;         // 1-based number of the TCP connection it came on
  int nth_on_connection = 0;  // 1: the connection's first request
};

struct fault_llm_stats {
  std::int64_t requests = 0;
  int max_in_flight = 0;
  int max_in_flight_per_key = 0;
  std::string worst_key;  // a key that reached max_in_flight_per_key
  int in_flight = 0;
};

class fault_llm {
 public:
  using handler = std::function<fault_reply(const std::string& key, const std::string& body)>;
  using key_function = std::function<std::string(const std::string& body)>;

  // `answer` runs on the server's io thread, one call at a time.
  fault_llm(handler answer, key_function key_of);
  ~fault_llm();
  fault_llm(const fault_llm&) = delete;
  fault_llm& operator=(const fault_llm&) = delete;

  std::uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:PORT"

  fault_llm_stats stats() const;
  std::vector<fault_call> calls() const;  // every call so far, in arrival order

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace memoryd::testing
