#!/usr/bin/env bash
# Ingest while processing cycles run (DESIGN.md §8: a cycle running during ingest must not move
# ingest p99 by more than 2 ms).
#
#   bash bench/ingest_during_cycles.sh [BUILD_DIR]        (default: build; builds nothing)
#
# Prefills conversation.db with PENDING messages (default 1,000,000) via `memoryd import`, then
# for each of RUNS rounds (default 3), on a fresh copy of that database each time:
#   - memoryd with the processor disabled: bench_load --target TARGET at CONNS connections;
#   - memoryd with the processor enabled (rules extractor, MEMORY_PROCESSOR_INTERVAL_MS=200;
#     with a backlog, a full claim is followed by the next at once, so cycles run back to
#     back for the whole load): the same load.
# Prints every JSON line, then {"bench":"ingest_during_cycles",...} with the median p99 of
# each mode and the delta.
#
# Environment: PENDING, USERS (default 10000), DURATION (default 10), WARMUP (default 1),
# CONNS (default 64), TARGET (default twilio), RUNS (default 3), INTERVAL_MS (default 200),
# SYNC (default full), CLIENT_THREADS (default 2). 127.0.0.1 only; everything started here is
# stopped on exit.
set -euo pipefail

BUILD=${1:-build}
PENDING=${PENDING:-1000000}
USERS=${USERS:-10000}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-64}
TARGET=${TARGET:-twilio}
RUNS=${RUNS:-3}
INTERVAL_MS=${INTERVAL_MS:-200}
SYNC=${SYNC:-full}
CLIENT_THREADS=${CLIENT_THREADS:-2}

LOAD="$BUILD/bench_load"
MEMORYD="$BUILD/memoryd"
for bin in "$LOAD" "$MEMORYD"; do
  [[ -x "$bin" ]] || { echo "ingest_during_cycles.sh: $bin not found (build it first)" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memoryd-bench-cycles.XXXXXX")
SERVER_PID=""
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do  # up to 15 s (extractions in flight finish), then SIGKILL
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

# 1. Prefill: PENDING messages over USERS users, imported in one go.
mkdir -p "$WORK/seed"
python3 - "$PENDING" "$USERS" >"$WORK/seed.jsonl" <<'EOF'
import json, sys
n, users = int(sys.argv[1]), int(sys.argv[2])
texts = ["I have a dog named Max and I am allergic to peanuts.",
         "Can you remind me what time the meeting is tomorrow?",
         "I live in Boston and I love hiking on weekends.",
         "ok thanks",
         "My sister is visiting next week, she is vegetarian.",
         "I work as a nurse at the city hospital."]
base = 1_700_000_000_000
out = sys.stdout
for i in range(n):
    out.write(json.dumps({"user_id": f"seed-user-{i % users}", "role": "user",
                          "content": texts[i % len(texts)], "external_id": f"seed-{i}",
                          "created_at": base + i}) + "\n")
EOF
t0=$(date +%s.%N)
CONVERSATION_DB_PATH="$WORK/seed/conversation.db" MEMORY_DB_PATH="$WORK/seed/memory.db" \
  MEMORYD_SYNCHRONOUS="$SYNC" "$MEMORYD" import "$WORK/seed.jsonl" >"$WORK/import.out" \
  2>"$WORK/import.err" || { cat "$WORK/import.err" >&2; exit 1; }
t1=$(date +%s.%N)
rm -f "$WORK/seed.jsonl"
echo "{\"bench\":\"prefill\",\"pending\":$PENDING,\"users\":$USERS,\"seconds\":$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'),\"import\":$(cat "$WORK/import.out")}"

wait_port() {
  local file=$1 port=""
  for _ in $(seq 1 300); do  # up to 30 s
    port=$(grep '"server_started"' "$file" 2>/dev/null | head -1 | sed -n 's/.*"port":\([0-9]*\).*/\1/p')
    [[ -n "$port" ]] && { echo "$port"; return 0; }
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "ingest_during_cycles.sh: memoryd did not start; its output:" >&2
  cat "$file" >&2
  return 1
}

# run_mode ROUND ENABLED(true|false)
run_mode() {
  local round=$1 enabled=$2 db="$WORK/run"
  rm -rf "$db"
  cp -r "$WORK/seed" "$db"
  CONVERSATION_DB_PATH="$db/conversation.db" MEMORY_DB_PATH="$db/memory.db" \
    MEMORY_PROCESSOR_ENABLED="$enabled" MEMORY_PROCESSOR_INTERVAL_MS="$INTERVAL_MS" \
    EXTRACTOR=rules MEMORYD_SYNCHRONOUS="$SYNC" \
    "$MEMORYD" serve --server.listen=127.0.0.1:0 >"$WORK/memoryd.out" 2>&1 &
  SERVER_PID=$!
  local port
  port=$(wait_port "$WORK/memoryd.out")
  local line
  line=$("$LOAD" --port "$port" --target "$TARGET" --connections "$CONNS" \
    --threads "$CLIENT_THREADS" --warmup "$WARMUP" \
    --duration "$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print d + w }')" \
    --label processor="$enabled" --label round="$round" --label synchronous="$SYNC" \
    --label pending="$PENDING" || true)
  stop_server
  # What the processor did meanwhile (cycles completed, messages processed).
  local cycles processed
  cycles=$(grep -c '"memory_processor_complete"' "$WORK/memoryd.out" || true)
  processed=$({ grep '"memory_processor_complete"' "$WORK/memoryd.out" || true; } |
    sed -n 's/.*"messages_processed":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
  line="${line%\}},\"cycles\":${cycles:-0},\"messages_processed\":${processed:-0}}"
  echo "$line" | tee -a "$RESULTS"
}

for round in $(seq 1 "$RUNS"); do
  run_mode "$round" false
  run_mode "$round" true
done

python3 - "$RESULTS" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(enabled, key):
    v = [r[key] for r in rows if r.get("processor") == enabled and key in r]
    return round(statistics.median(v), 3) if v else None
out = {"bench": "ingest_during_cycles", "runs": len(rows) // 2}
for mode, name in (("false", "idle"), ("true", "cycles")):
    for key in ("req_per_s", "p50_ms", "p99_ms", "max_ms"):
        out[f"{name}_{key}"] = med(mode, key)
out["cycles_per_run"] = med("true", "cycles")
out["messages_processed_per_run"] = med("true", "messages_processed")
if out["idle_p99_ms"] is not None and out["cycles_p99_ms"] is not None:
    out["p99_delta_ms"] = round(out["cycles_p99_ms"] - out["idle_p99_ms"], 3)
    out["target_delta_ms"] = 2.0
    out["target_met"] = out["p99_delta_ms"] <= 2.0
out["errors"] = sum(r.get("errors", 0) for r in rows)
print(json.dumps(out))
EOF
