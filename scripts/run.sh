#!/usr/bin/env bash
# Set up, build and start memoryd with SQLite and the offline rule-based extractor.
# Extra arguments go to `memoryd serve` (e.g. --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMORYD_TESTS=OFF
cmake --build build -j "$(nproc)" --target memoryd
exec ./build/memoryd serve --config config/memoryd.toml "$@"
