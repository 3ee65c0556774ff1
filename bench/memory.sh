#!/usr/bin/env bash
# RSS of the real memoryd: idle with empty databases, idle at N pending messages (after
# `memoryd import`), and while it works through that backlog (rule-based extractor, the
# batcher drains continuously after one POST /v1/processor/run).
#
# usage: bash bench/memory.sh [BUILD_DIR] [PENDING] [USERS]   (defaults: build, 1000000, 1000)
# Prints JSON lines: {"bench":"memory","state":...,"pending":N,"rss_mb":..,"peak_rss_mb":..}.
# Everything runs in a temporary directory on 127.0.0.1 and is removed at exit.
set -euo pipefail

BUILD=${1:-build}
PENDING=${2:-1000000}
USERS=${3:-1000}
BIN=$(cd "$BUILD" && pwd)/memoryd
[ -x "$BIN" ] || { echo "no memoryd binary in $BUILD" >&2; exit 2; }

TMP=$(mktemp -d /tmp/memoryd-memory.XXXXXX)
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

export CONVERSATION_DB_PATH=$TMP/conversation.db MEMORY_DB_PATH=$TMP/memory.db
export MEMORYD_LISTEN=127.0.0.1:0 MEMORYD_LOG_LEVEL=info EXTRACTOR=rules
export MEMORY_PROCESSOR_ENABLED=true MEMORY_PROCESSOR_INTERVAL_MS=300000

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

# Starts memoryd serve, sets PID and PORT.
start() {
  "$BIN" serve >"$TMP/out.log" 2>"$TMP/err.log" &
  PID=$!
  PORT=""
  for _ in $(seq 1 200); do
    PORT=$(grep -o '"event":"server_started"[^}]*' "$TMP/out.log" 2>/dev/null |
      grep -o '"port":[0-9]*' | head -1 | cut -d: -f2 || true)
    [ -z "$PORT" ] && PORT=$(grep '"server_started"' "$TMP/out.log" 2>/dev/null |
      grep -o '"port":[0-9]*' | head -1 | cut -d: -f2 || true)
    [ -n "$PORT" ] && return 0
    sleep 0.1
  done
  echo "memoryd did not start" >&2
  cat "$TMP/err.log" >&2
  exit 1
}
stop() {
  kill -TERM "$PID"
  for _ in $(seq 1 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  PID=""
}
report() {  # state [extra json]
  printf '{"bench":"memory","state":"%s","pending":%s,"rss_mb":%s,"peak_rss_mb":%s%s}\n' \
    "$1" "$PENDING" "$(mb "$(status_kb "$PID" VmRSS)")" "$(mb "$(status_kb "$PID" VmHWM)")" "${2:-}"
}

# 1. idle, empty databases
start
sleep 2
PENDING_SAVED=$PENDING
PENDING=0 report idle_empty
PENDING=$PENDING_SAVED
stop

# 2. import PENDING user messages over USERS users
python3 - "$PENDING" "$USERS" >"$TMP/import.jsonl" <<'EOF'
import sys
n, users = int(sys.argv[1]), int(sys.argv[2])
texts = ["I have a dog named Max and I'm allergic to peanuts.",
         "I live in Boston and I love hiking on weekends.",
         "hey how are you doing today? lol",
         "i work as a nurse at the children's hospital"]
w = sys.stdout.write
for i in range(n):
    w('{"user_id":"+1555%07d","role":"user","content":"%s","channel":"sms"}\n'
      % (1000000 + i % users, texts[i % len(texts)]))
EOF
T0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$TMP/import.time" "$BIN" import "$TMP/import.jsonl" >"$TMP/import.out" 2>"$TMP/import.err"
T1=$(date +%s.%N)
printf '{"bench":"memory","state":"import","pending":%s,"seconds":%.1f,"peak_rss_mb":%s}\n' \
  "$PENDING" "$(echo "$T1 - $T0" | bc)" "$(mb "$(tail -1 "$TMP/import.time")")"
rm -f "$TMP/import.jsonl"

# 3. idle at PENDING pending, then while the backlog drains
start
sleep 3
report idle_pending
curl -s -m 60 -X POST "127.0.0.1:$PORT/v1/processor/run" >/dev/null
for s in 2 5 10 20; do
  sleep $((s - ${prev:-0}))
  prev=$s
  processed=$(curl -s -m 10 "127.0.0.1:$PORT/v1/processor/status" |
    grep -o '"messages_processed":[0-9]*' | head -1 | cut -d: -f2)
  cycles=$(grep -c '"memory_processor_complete"' "$TMP/out.log" || true)
  report draining ",\"seconds\":$s,\"cycles\":${cycles:-0},\"processed\":${processed:-0}"
done
stop
