// Runs the real memoryd binary in tests: start it with arguments and environment, read
// its output, signal it, wait for it with a bound.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace memoryd::testing {

struct run_result {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out, err;
};

// Runs to completion (killed after `timeout`), with `input` on stdin.
run_result run_command(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env, const std::string& input = "",
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

class child_process {
 public:
  // stdout and stderr go to files in `dir`.
  child_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                const std::string& dir);
  ~child_process();  // SIGKILL if still running

  std::string out() const;  // stdout so far
  std::string err() const;
  // Polls stdout until `needle` appears (true) or the process exits / timeout (false).
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);
  void signal(int sig);
  // Waits for exit; returns the exit code, or nullopt on timeout / death by signal.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
  bool exited_ = false;
  int status_ = 0;
};

}  // namespace memoryd::testing
