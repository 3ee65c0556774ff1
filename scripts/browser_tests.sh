#!/usr/bin/env bash
# The dashboard's browser tests (tests/browser): ctest runs this with MEMORYD_BINARY and
# MEMORYD_SCREENSHOTS set. Needs node, Debian's chromium and tests/browser/node_modules, all
# installed by scripts/setup.sh; nothing is fetched here.
set -euo pipefail
cd "$(dirname "$0")/../tests/browser"
missing=()
command -v node >/dev/null || missing+=("node")
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing+=("chromium (${CHROMIUM:-/usr/bin/chromium})")
[ -f node_modules/playwright-core/package.json ] || missing+=("tests/browser/node_modules (npm ci)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "browser tests: missing ${missing[*]}: run scripts/setup.sh" >&2
  exit 1
fi
: "${MEMORYD_BINARY:?MEMORYD_BINARY is not set (ctest sets it)}"
exec node --test --test-reporter=spec dashboard.test.mjs
