#!/usr/bin/env bash
# The fact-search benchmark end to end (docs/PERFORMANCE.md, "Fact search"):
#   bench/search.sh BUILD_DIR WORK_DIR [sqlite|postgres]
# 1. bench_search loads USERS x FACTS facts plus a user with HEAVY facts into WORK_DIR/m.db
#    (or, for postgres, the database in $DATABASE_URL), rebuilds the index from scratch and
#    measures the store calls (JSON lines);
# 2. memoryd serves that database and bench_load asks it, CONNECTIONS at a time for DURATION
#    seconds, searches for random users, searches for the heavy user, and memory blocks.
# Every result is one JSON line on stdout. The server is stopped at the end, also on failure.
set -euo pipefail
build="${1:?usage: search.sh BUILD_DIR WORK_DIR [sqlite|postgres]}"
work="${2:?usage: search.sh BUILD_DIR WORK_DIR [sqlite|postgres]}"
backend="${3:-sqlite}"
USERS="${USERS:-10000}" FACTS="${FACTS:-100}" HEAVY="${HEAVY:-20000}"
CONNECTIONS="${CONNECTIONS:-16}" DURATION="${DURATION:-10}" PORT="${PORT:-18090}"
mkdir -p "$work"
store=(--backend "$backend")
if [ "$backend" = postgres ]; then
  store+=(--url "${DATABASE_URL:?DATABASE_URL for postgres}")
else
  rm -f "$work"/m.db "$work"/m.db-wal "$work"/m.db-shm
  store+=(--db "$work/m.db")
fi
"$build/bench_search" "${store[@]}" --users "$USERS" --facts "$FACTS" --heavy "$HEAVY" \
  --paths-out "$work/paths"

env_vars=(MEMORY_PROCESSOR_ENABLED=false "MEMORYD_LISTEN=127.0.0.1:$PORT"
          "CONVERSATION_DB_PATH=$work/c.db" "MEMORY_DB_PATH=$work/m.db")
[ "$backend" = postgres ] && env_vars+=(MEMORYD_STORAGE=postgres "DATABASE_URL=$DATABASE_URL")
env "${env_vars[@]}" "$build/memoryd" serve > "$work/memoryd.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q '"server_started"' "$work/memoryd.log" && break
  sleep 0.1
done
for kind in search heavy context; do
  "$build/bench_load" --port "$PORT" --target get --paths "$work/paths.$kind" \
    --connections "$CONNECTIONS" --threads 2 --duration "$DURATION" --warmup 2 \
    --label "backend=$backend" --label "kind=$kind" || true
done
