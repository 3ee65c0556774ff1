#!/usr/bin/env bash
# Parse-failure rate of an LLM backend with and without constrained output, on the same
# records, interleaved (plain, constrained, plain, ...) so that a drifting server affects both.
# Needs a reachable model: set EXTRACTOR=openai|anthropic and its key / base URL / model as
# for `memoryd serve` (README). Prints one JSON line per mode:
#   {"mode": "plain"|"structured", "records": N, "unparseable": k, "other_errors": e,
#    "unparseable_rate": k/N}
# Usage: scripts/llm_parse_rate.sh [RECORDS.jsonl] [N]   (default: tests/data/extract_dialogues.jsonl,
#        every record; MEMORYD default ./build/memoryd; ROUNDS default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-tests/data/extract_dialogues.jsonl}"
n="${2:-0}"
memoryd="${MEMORYD:-./build/memoryd}"
rounds="${ROUNDS:-1}"
: "${EXTRACTOR:?set EXTRACTOR=openai or anthropic with its key, model and base URL}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ "$n" -gt 0 ]; then head -n "$n" "$records" >"$work/in.jsonl"; else cp "$records" "$work/in.jsonl"; fi

for ((r = 0; r < rounds; r++)); do
  for mode in plain structured; do
    structured=false
    [ "$mode" = structured ] && structured=true
    # exit 1 means some record failed: that is what is being counted.
    LLM_STRUCTURED_OUTPUT=$structured "$memoryd" extract <"$work/in.jsonl" >>"$work/$mode.jsonl" 2>/dev/null || true
  done
done

for mode in plain structured; do
  python3 - "$mode" "$work/$mode.jsonl" <<'EOF'
import json, sys
mode, path = sys.argv[1], sys.argv[2]
records = unparseable = other = 0
for line in open(path):
    line = line.strip()
    if not line:
        continue
    rec = json.loads(line)
    records += 1
    err = rec.get("error")
    if err is None:
        continue
    if err.startswith("unparseable"):
        unparseable += 1
    else:
        other += 1
print(json.dumps({"mode": mode, "records": records, "unparseable": unparseable,
                  "other_errors": other,
                  "unparseable_rate": round(unparseable / records, 4) if records else None}))
EOF
done
