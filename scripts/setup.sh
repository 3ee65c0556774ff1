#!/usr/bin/env bash
# Installs what memoryd needs to build and test on Debian 12 (bookworm). Idempotent; run as
# root (or with sudo available). Uses only Debian's package archive. systemd (for
# systemd-analyze: the unit's tests), lintian and dpkg-dev (dpkg-shlibdeps) are for the
# Debian package (scripts/package.sh); nothing is started.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcaf-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libspdlog-dev libsqlite3-dev libssl-dev libtomlplusplus-dev zlib1g-dev
  libpq-dev postgresql
  libstemmer-dev wordnet-base
  catch2
  sqlite3 curl python3
  systemd lintian dpkg-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
