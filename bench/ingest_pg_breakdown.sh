#!/usr/bin/env bash
# Where PostgreSQL ingest time goes (issue 15), beside bench/ingest_pg.sh:
#
#   bash bench/ingest_pg_breakdown.sh [BUILD_DIR]      (default: build; builds nothing)
#
# 1. The statement: pgbench -M prepared, 1 client, one 64-row statement per durable
#    transaction, DURATION s each, ROUNDS rounds in rotating order, WAL bytes per row:
#      raw    the raw table of bench/ingest_pg.sh (seq, unique id, unique external_id,
#             (user_id, seq)): its raw_multi1
#      table  the same INSERT ... SELECT into memoryd's own messages table (the migrated
#             schema: + messages_waiting and the partial indexes of other states)
#      store  memoryd's ingest statement (k_ingest_sql in store/postgres/conversation_store.cpp:
#             ON CONFLICT (external_id) DO NOTHING RETURNING, the user_queue upsert), its input
#             from generate_series instead of unnest($arrays)
# 2. The service: one `memoryd serve` (processor off) under bench_load (twilio, CONNS
#    connections) for DURATION s; CPU seconds of memoryd, bench_load and the PostgreSQL
#    server processes (utime + stime from /proc), the box's busy CPU seconds, and the
#    transactions committed in the database meanwhile (pg_stat_database.xact_commit; with
#    the processor off, one per ingest group), hence messages per group commit.
# Prints one JSON line per run ({"bench":"ingest_pg_statement",...} and
# {"bench":"ingest_pg_service",...}).
#
# Environment: DATABASE_URL (unset: a throwaway cluster from scripts/pg_cluster.sh, stopped
# at the end), ROUNDS (default 2), DURATION (s, default 10), CONNS (default 64),
# SERVICE_RUNS (default 2), IO_THREADS (default 2). 127.0.0.1 only.
set -euo pipefail

BUILD=${1:-build}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
SERVICE_RUNS=${SERVICE_RUNS:-2}
IO_THREADS=${IO_THREADS:-2}
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
PGBENCH=${PGBENCH:-$PGBIN/pgbench}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOAD="$BUILD/bench_load"
MEMORYD="$BUILD/memoryd"
for bin in "$LOAD" "$MEMORYD" "$PGBENCH"; do
  [[ -x "$bin" ]] || { echo "ingest_pg_breakdown.sh: $bin not found (build it first)" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memoryd-bench-pg-breakdown.XXXXXX")
CLUSTER_DIR=""
MPID=""
cleanup() {
  if [[ -n "$MPID" ]]; then kill -TERM "$MPID" 2>/dev/null || true; wait "$MPID" 2>/dev/null || true; fi
  if [[ -n "$CLUSTER_DIR" ]]; then bash "$HERE/scripts/pg_cluster.sh" stop "$CLUSTER_DIR" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "${DATABASE_URL:-}" ]]; then
  CLUSTER_DIR="$WORK/pg"
  DATABASE_URL=$(bash "$HERE/scripts/pg_cluster.sh" start "$CLUSTER_DIR")
fi
BASE="${DATABASE_URL%%\?*}"
RAW_S=breakdown_raw
MD_S=breakdown_memoryd
SVC_S=breakdown_service
sql() { psql -X -q -v ON_ERROR_STOP=1 "$BASE" -c "$1" >/dev/null; }
scalar() { psql -X -At -v ON_ERROR_STOP=1 "$BASE" -c "$1"; }
load_avg() { cut -d' ' -f1 /proc/loadavg; }

sql "SET client_min_messages = warning;
DROP SCHEMA IF EXISTS $RAW_S CASCADE; DROP SCHEMA IF EXISTS $MD_S CASCADE; DROP SCHEMA IF EXISTS $SVC_S CASCADE;
CREATE SCHEMA $RAW_S; CREATE SCHEMA $MD_S; CREATE SCHEMA $SVC_S;
CREATE TABLE $RAW_S.messages (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, channel TEXT NOT NULL DEFAULT '',
  external_id TEXT UNIQUE, created_at BIGINT NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL DEFAULT 0,
  lease_until BIGINT NOT NULL DEFAULT 0, last_error TEXT, memory_processed_at BIGINT NOT NULL DEFAULT 0);
CREATE INDEX ON $RAW_S.messages (user_id, seq);"
for s in "$MD_S" "$SVC_S"; do
  MEMORYD_STORAGE=postgres DATABASE_URL="$BASE?options=-csearch_path%3D$s" "$MEMORYD" migrate >/dev/null
done

# The rows of bench/ingest_pg.sh: a time-ordered id, one of 300 senders, a ~60-byte message,
# a random MessageSid.
ID="lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || substr(md5(random()::text), 1, 24)"
SENDER="'+1555' || lpad(floor(random() * 300)::int::text, 7, '0')"
TEXT="'I have a dog named Max and I am allergic to peanuts.'"
NOW_MS="(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
COLS="(id, user_id, role, content, channel, external_id, created_at, status)"
ROW="$ID, $SENDER, 'user', $TEXT, 'sms', 'SM' || md5(random()::text), $NOW_MS, 'pending'"
echo "INSERT INTO $RAW_S.messages $COLS SELECT $ROW FROM generate_series(1, 64);" >"$WORK/raw.sql"
echo "INSERT INTO $MD_S.messages $COLS SELECT $ROW FROM generate_series(1, 64);" >"$WORK/table.sql"
cat >"$WORK/store.sql" <<EOF
WITH input AS (SELECT $ID AS id, $SENDER AS user_id, 'user' AS role, $TEXT AS content, 'sms' AS channel, 'SM' || md5(random()::text) AS external_id, $NOW_MS AS created_at, ord FROM generate_series(1, 64) AS ord), ins AS (INSERT INTO $MD_S.messages (id, user_id, role, content, channel, external_id, created_at, status) SELECT id, user_id, role, content, channel, external_id, created_at, CASE WHEN role = 'user' THEN 'pending' ELSE 'skipped' END FROM input ORDER BY ord ON CONFLICT (external_id) DO NOTHING RETURNING id, seq, user_id, status), queued AS (INSERT INTO $MD_S.user_queue AS q (user_id, head_seq) SELECT user_id, min(seq) FROM ins WHERE status = 'pending' GROUP BY user_id ORDER BY user_id ON CONFLICT (user_id) DO UPDATE SET head_seq = excluded.head_seq WHERE q.head_seq > excluded.head_seq) SELECT id, seq FROM ins;
EOF

wal() { scalar "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"; }
configs=(raw table store)
for ((r = 1; r <= ROUNDS; ++r)); do
  for ((j = 0; j < ${#configs[@]}; ++j)); do
    c=${configs[$(( (j + r - 1) % ${#configs[@]} ))]}
    sql "TRUNCATE $RAW_S.messages, $MD_S.messages, $MD_S.user_queue RESTART IDENTITY; CHECKPOINT"
    w0=$(wal)
    out=$("$PGBENCH" -n -M prepared -c 1 -j 1 -T "$DURATION" -f "$WORK/$c.sql" "$BASE" 2>&1) ||
      { echo "ingest_pg_breakdown.sh: pgbench failed: $out" >&2; exit 1; }
    w1=$(wal)
    tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
    python3 -c 'import json, sys; r, c, tx, tps, lat, wal, load = sys.argv[1:]
print(json.dumps({"bench": "ingest_pg_statement", "round": int(r), "config": c, "rows_per_txn": 64,
  "clients": 1, "tps": round(float(tps), 1), "rows_per_s": round(float(tps) * 64, 1),
  "latency_ms": float(lat), "wal_bytes_per_row": round(int(wal) / max(1, int(tx) * 64)),
  "load_avg": float(load)}))' "$r" "$c" "$tx" "$tps" "$lat" "$((w1 - w0))" "$(load_avg)"
  done
done

# CPU ticks (utime + stime) of the given pids; the box's busy and total ticks.
ticks() {
  local t=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
box() { awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8, $5+$6 }' /proc/stat; }
server_pids() { pgrep -d ' ' -x postgres || true; }
commits() { scalar "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }

SVC_URL="$BASE?options=-csearch_path%3D$SVC_S"
for ((r = 1; r <= SERVICE_RUNS; ++r)); do
  sql "TRUNCATE $SVC_S.messages, $SVC_S.user_queue RESTART IDENTITY; CHECKPOINT"
  MEMORYD_STORAGE=postgres DATABASE_URL="$SVC_URL" MEMORY_PROCESSOR_ENABLED=false MEMORYD_LOG_LEVEL=info \
    "$MEMORYD" serve --server.listen=127.0.0.1:0 --server.io_threads="$IO_THREADS" >"$WORK/memoryd.out" 2>&1 &
  MPID=$!
  port=""
  for _ in $(seq 1 200); do
    port=$(grep '"server_started"' "$WORK/memoryd.out" 2>/dev/null | head -1 | sed -n 's/.*"port":\([0-9]*\).*/\1/p' || true)
    [[ -n "$port" ]] && break
    kill -0 "$MPID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "$port" ]] || { echo "ingest_pg_breakdown.sh: memoryd did not start:" >&2; cat "$WORK/memoryd.out" >&2; exit 1; }
  # The load runs 1 s before and 2 s after the measured window.
  "$LOAD" --port "$port" --target twilio --connections "$CONNS" --threads 2 \
    --duration "$((DURATION + 3))" --warmup 1 >"$WORK/load.out" &
  LPID=$!
  sleep 1
  pids=$(server_pids)
  c0=$(commits); m0=$(ticks "$MPID"); l0=$(ticks "$LPID"); p0=$(ticks $pids); read -r t0 i0 < <(box)
  sleep "$DURATION"
  read -r t1 i1 < <(box); m1=$(ticks "$MPID"); l1=$(ticks "$LPID"); p1=$(ticks $pids); c1=$(commits)
  wait "$LPID" || true
  kill -TERM "$MPID"; wait "$MPID" 2>/dev/null || true
  MPID=""
  stored=$(scalar "SELECT count(*) FROM $SVC_S.messages")
  python3 - "$WORK/load.out" "$r" "$DURATION" "$(getconf CLK_TCK)" "$((m1 - m0))" "$((l1 - l0))" \
    "$((p1 - p0))" "$(( (t1 - t0) - (i1 - i0) ))" "$((t1 - t0))" "$((c1 - c0))" "$stored" "$(load_avg)" <<'EOF'
import json, sys
load = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
r, dur, hz = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
m, l, p, busy, total, commits, stored = (int(x) for x in sys.argv[5:12])
req_window = load["req_per_s"] * dur  # requests in the measured window (the load's rate)
print(json.dumps({"bench": "ingest_pg_service", "run": r, "connections": load["connections"],
    "req_per_s": load["req_per_s"], "p50_ms": load["p50_ms"], "p99_ms": load["p99_ms"],
    "window_s": dur, "memoryd_cpu_s": round(m / hz, 2), "bench_load_cpu_s": round(l / hz, 2),
    "postgres_cpu_s": round(p / hz, 2), "box_busy_cpu_s": round(busy / hz, 2),
    "box_cpu_s": round(total / hz, 2), "commits": commits,
    "commits_per_s": round(commits / dur, 1),
    "messages_per_commit": round(req_window / commits, 1) if commits else None,
    "cpu_us_per_request": {"memoryd": round(m / hz / req_window * 1e6, 1),
                           "postgres": round(p / hz / req_window * 1e6, 1),
                           "bench_load": round(l / hz / req_window * 1e6, 1)},
    "stored": stored, "load_avg": float(sys.argv[12])}))
EOF
done
sql "SET client_min_messages = warning; DROP SCHEMA $RAW_S CASCADE; DROP SCHEMA $MD_S CASCADE; DROP SCHEMA $SVC_S CASCADE"
