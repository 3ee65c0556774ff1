#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan + UBSan) in their own build dir and runs
# each for a bounded time from its seed corpus. Fails when a target crashes, leaks or hits a
# sanitizer report; the reproducer is left in $BUILD_DIR/artifacts/.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20; BUILD_DIR default build-fuzz;
#        FUZZ_TARGETS="form config" to run a subset; FUZZ_JOBS=N targets at a time, default 1;
#        FUZZ_RUNS=N stops each target after N executions, e.g. FUZZ_RUNS=10000000 scripts/fuzz.sh 0
#        for the long run: 0 seconds means no time limit; FUZZ_TIMEOUT=S per input, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
build_dir="${BUILD_DIR:-build-fuzz}"
targets=(${FUZZ_TARGETS:-form messages_json llm_answer twilio_signature config})

bash scripts/setup.sh
if ! command -v clang++ >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "fuzz: installing clang"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DMEMORYD_FUZZ=ON -DMEMORYD_TESTS=OFF
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

mkdir -p "$build_dir/artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
run_one() {
  local t="$1"
  local work="$build_dir/corpus/$t"  # grows across runs; the seeds in fuzz/corpus stay as they are
  mkdir -p "$work"
  local log="$build_dir/fuzz_$t.log"
  local runs=()
  if [ -n "${FUZZ_RUNS:-}" ]; then runs=(-runs="$FUZZ_RUNS"); fi
  echo "fuzz: $t for ${seconds}s ${FUZZ_RUNS:+or $FUZZ_RUNS executions}"
  if "$build_dir/fuzz/fuzz_$t" -max_total_time="$seconds" "${runs[@]}" -print_final_stats=1 -max_len=65536 \
      -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -artifact_prefix="$build_dir/artifacts/${t}-" \
      "$work" "fuzz/corpus/$t" >"$log" 2>&1; then
    echo "fuzz: $t ok: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') executions"
  else
    echo "fuzz: $t FAILED (log $log)" >&2
    tail -n 60 "$log" >&2
    return 1
  fi
}
status=0
jobs_max="${FUZZ_JOBS:-1}"
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$jobs_max" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
