#!/usr/bin/env bash
# Ingest benchmark (DESIGN.md §8): memoryd against a raw Beast server in the same run.
#
#   bash bench/ingest.sh [BUILD_DIR]        (default: build; builds nothing)
#
# 1. bench_raw_server (answers 200, stores nothing): bench_load at 1 and CONNS connections.
# 2. memoryd serve with synchronous=full, then normal (fresh temp databases each, processor
#    off): bench_load --target twilio and --target api at 1 and CONNS connections.
# Prints every JSON line, then {"bench":"ingest_ratio",...}: memoryd at CONNS connections
# over the raw server at CONNS connections, and the p99 targets.
#
# Environment: DURATION (s per load run, default 10), WARMUP (s, default 1), CONNS (the high
# connection count, default 64), CLIENT_THREADS (default 2), TARGETS (default "twilio api"),
# SYNC_MODES (default "full normal"), RAW_THREADS / IO_THREADS (server threads, default 2).
# 127.0.0.1 only. Every process started here is stopped on exit.
set -euo pipefail

BUILD=${1:-build}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-64}
CLIENT_THREADS=${CLIENT_THREADS:-2}
TARGETS=${TARGETS:-"twilio api"}
SYNC_MODES=${SYNC_MODES:-"full normal"}
RAW_THREADS=${RAW_THREADS:-2}
IO_THREADS=${IO_THREADS:-2}

LOAD="$BUILD/bench_load"
RAW="$BUILD/bench_raw_server"
MEMORYD="$BUILD/memoryd"
for bin in "$LOAD" "$RAW" "$MEMORYD"; do
  [[ -x "$bin" ]] || { echo "ingest.sh: $bin not found (build it first)" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memoryd-bench-ingest.XXXXXX")
SERVER_PID=""
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do  # up to 10 s, then SIGKILL
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (bounded) until $1 holds a line matching $2 and prints the port found by $3 (a sed
# expression).
wait_port() {
  local file=$1 pattern=$2 expr=$3 port=""
  for _ in $(seq 1 200); do  # up to 20 s
    if grep -q "$pattern" "$file" 2>/dev/null; then
      port=$(grep "$pattern" "$file" | head -1 | sed -n "$expr")
      [[ -n "$port" ]] && { echo "$port"; return 0; }
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "ingest.sh: server did not start; its output:" >&2
  cat "$file" >&2
  return 1
}

# run_load PORT TARGET CONNECTIONS LABELS...
run_load() {
  local port=$1 target=$2 conns=$3
  shift 3
  local labels=()
  for l in "$@"; do labels+=(--label "$l"); done
  "$LOAD" --port "$port" --target "$target" --connections "$conns" --threads "$CLIENT_THREADS" \
    --duration "$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print d + w }')" \
    --warmup "$WARMUP" "${labels[@]}" | tee -a "$RESULTS" || true
}

# 1. The raw Beast server.
"$RAW" --threads "$RAW_THREADS" >"$WORK/raw.out" 2>&1 &
SERVER_PID=$!
port=$(wait_port "$WORK/raw.out" '"raw_server"' 's/.*"port":\([0-9]*\).*/\1/p')
for c in 1 "$CONNS"; do run_load "$port" raw "$c" server=raw server_threads="$RAW_THREADS"; done
stop_server

# 2. memoryd, durable (full) then normal.
for sync in $SYNC_MODES; do
  db="$WORK/db-$sync"
  mkdir -p "$db"
  CONVERSATION_DB_PATH="$db/conversation.db" MEMORY_DB_PATH="$db/memory.db" \
    MEMORY_PROCESSOR_ENABLED=false MEMORYD_SYNCHRONOUS="$sync" MEMORYD_LOG_LEVEL=info \
    "$MEMORYD" serve --server.listen=127.0.0.1:0 --server.io_threads="$IO_THREADS" \
    >"$WORK/memoryd-$sync.out" 2>&1 &
  SERVER_PID=$!
  port=$(wait_port "$WORK/memoryd-$sync.out" '"server_started"' 's/.*"port":\([0-9]*\).*/\1/p')
  for target in $TARGETS; do
    for c in 1 "$CONNS"; do
      run_load "$port" "$target" "$c" server=memoryd synchronous="$sync" \
        server_threads="$IO_THREADS"
    done
  done
  stop_server
done

# 3. Ratios against the raw server at CONNS connections, measured above.
python3 - "$RESULTS" "$CONNS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
conns = int(sys.argv[2])
raw = next((r for r in rows if r.get("server") == "raw" and r["connections"] == conns), None)
out = {"bench": "ingest_ratio", "connections": conns}
if raw:
    out["raw_req_per_s"] = raw["req_per_s"]
    out["raw_p99_ms"] = raw["p99_ms"]
for r in rows:
    if r.get("server") != "memoryd" or r["connections"] != conns:
        continue
    key = f'memoryd_{r["synchronous"]}_{r["target"]}_{conns}'
    out[key + "_req_per_s"] = r["req_per_s"]
    out[key + "_p99_ms"] = r["p99_ms"]
    if raw and raw["req_per_s"] > 0:
        out[key + "_ratio"] = round(r["req_per_s"] / raw["req_per_s"], 3)
full = [k for k in out if k.startswith("memoryd_full_") and k.endswith("_ratio")]
if full:
    out["target_ratio"] = 0.70
    out["target_ratio_met"] = all(out[k] >= 0.70 for k in full)
    out["target_p99_ms"] = 5.0
    out["target_p99_met"] = all(out[k[:-len("_ratio")] + "_p99_ms"] <= 5.0 for k in full)
out["errors"] = sum(r.get("errors", 0) for r in rows)
print(json.dumps(out))
EOF
