#!/usr/bin/env bash
# Installs what memoryd needs to build and test on Debian 12 (bookworm). Idempotent; run as
# root (or with sudo available). Uses Debian's package archive, and npm for the browser tests'
# one package (playwright-core, pinned by tests/browser/package-lock.json; no browser download:
# the tests drive Debian's chromium). systemd (for systemd-analyze: the unit's tests), lintian
# and dpkg-dev (dpkg-shlibdeps) are for the Debian package (scripts/package.sh).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcaf-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libspdlog-dev libsqlite3-dev libssl-dev libtomlplusplus-dev zlib1g-dev
  libpq-dev postgresql
  libstemmer-dev wordnet-base
  prometheus-cpp-dev
  catch2
  sqlite3 curl python3
  chromium
  systemd lintian dpkg-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js for the browser tests: Debian's nodejs and npm, unless a node and npm are there already.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
else
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# tests/browser/node_modules from the lock file, again only when the lock file changed.
browser="$(dirname "$0")/../tests/browser"
stamp="$browser/node_modules/.memoryd-lock.sha256"
want="$(sha256sum "$browser/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: npm ci in tests/browser"
  (cd "$browser" && npm ci --no-audit --no-fund --ignore-scripts)
  echo "$want" > "$stamp"
else
  echo "setup: tests/browser/node_modules up to date"
fi
