#!/usr/bin/env bash
# Fact writes, several builds interleaved (docs/perf/fact_writes.md): for each configuration,
# round and variant in turn, one bench_fact_write run on a fresh database. Prints the bench's JSON line with "variant" and "round" added
# (only that line: log lines, such as WordNet's absence, are dropped).
#
#   bash bench/fact_write_ab.sh LABEL=BINARY [LABEL=BINARY ...]
#
# A LABEL ending in "_nowordnet" runs its binary with MEMORYD_WORDNET_DIR pointing at nothing
# (no broader terms). A binary of a tree without the index: build that tree's store libraries
# (cmake --build B --target memoryd_store memoryd_domain memoryd_core) and compile this tree's
# bench/fact_write.cpp against them (the g++ line in docs/perf/fact_writes.md; drop its
# lexicon lines, which that tree does not have).
# Environment: ROUNDS (default 3), CONFIGS (default "full:1:5000 full:10:20000 normal:10:20000
# normal:1:5000", synchronous:batches per commit:facts), DB (default /tmp/fact_write_ab.db),
# DATABASE_URL (set: PostgreSQL instead of SQLite, each run in a new database on that server,
# dropped after; synchronous is then only a label: the server's durable commit is used).
set -euo pipefail
ROUNDS=${ROUNDS:-3}
CONFIGS=${CONFIGS:-"full:1:5000 full:10:20000 normal:10:20000 normal:1:5000"}
DB=${DB:-/tmp/fact_write_ab.db}
[[ $# -gt 0 ]] || { echo "usage: $0 LABEL=BINARY [LABEL=BINARY ...]" >&2; exit 2; }
for config in $CONFIGS; do
  IFS=: read -r sync per_commit facts <<<"$config"
  for ((round = 1; round <= ROUNDS; ++round)); do
    for variant in "$@"; do
      label=${variant%%=*} binary=${variant#*=}
      wordnet=()
      [[ $label == *_nowordnet ]] && wordnet=(env MEMORYD_WORDNET_DIR=/nonexistent)
      target=(--db "$DB")
      if [[ -n ${DATABASE_URL:-} ]]; then
        psql -X -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS fact_write_ab" \
          -c "CREATE DATABASE fact_write_ab" >/dev/null
        target=(--url "${DATABASE_URL%/*}/fact_write_ab")
      fi
      "${wordnet[@]}" "$binary" "${target[@]}" --facts "$facts" --per-batch 5 \
        --batches-per-commit "$per_commit" --synchronous "$sync" |
        sed -n "/^{\"bench\"/ s/}\$/,\"variant\":\"$label\",\"round\":$round}/p"
    done
  done
done
rm -f "$DB" "$DB-wal" "$DB-shm"
[[ -z ${DATABASE_URL:-} ]] || psql -X -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS fact_write_ab"
