#!/usr/bin/env bash
# ThreadSanitizer: builds memoryd and the actor / HTTP / integration tests with
# -fsanitize=thread in their own build dir and runs them (halt on the first report).
# Usage: scripts/tsan.sh            (BUILD_DIR, default build-tsan; CXX, default g++)
# Reports inside uninstrumented third-party code are suppressed by scripts/tsan.supp (each
# line justified there); everything else fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir="${BUILD_DIR:-build-tsan}"
flags="-fsanitize=thread -g -O1 -fno-omit-frame-pointer"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" ${CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$(nproc)" --target memoryd test_actors test_http test_integration
supp="$(pwd)/scripts/tsan.supp"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 suppressions=$supp ${TSAN_OPTIONS:-}"
# The memoryd children started by test_integration inherit TSAN_OPTIONS: a race in the
# service makes it exit 66, which the tests see as a failure.
status=0
for t in test_actors test_http test_integration; do
  echo "tsan: running $t"
  if ! "$build_dir/$t"; then
    echo "tsan: $t FAILED" >&2
    status=1
  fi
done
exit $status
