#!/usr/bin/env bash
# memoryd.service: `systemd-analyze verify` passes without a warning, the hardening the
# service promises is there, and `systemd-analyze security --offline=true` scores its
# exposure at most THRESHOLD. The unit is checked inside a throwaway root holding the real
# binary and this machine's standard units. Exit 77 (skipped) without systemd-analyze.
#   unit_test.sh UNIT BINARY THRESHOLD
set -euo pipefail
unit=$1 binary=$2 threshold=$3
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is missing (Debian's systemd package; scripts/setup.sh installs it)"
  exit 77
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/bin" "$root/bin" "$root/lib/systemd"
cp -a /lib/systemd/system "$root/lib/systemd/"
cp "$binary" "$root/usr/bin/memoryd"
cp "$(type -P kill)" "$root/bin/kill"
cp "$unit" "$root/lib/systemd/system/memoryd.service"
fail=0
if ! out=$(systemd-analyze verify --root="$root" /lib/systemd/system/memoryd.service 2>&1); then
  echo "$out"; echo "FAIL: systemd-analyze verify"; fail=1
elif [ -n "$out" ]; then
  echo "$out"; echo "FAIL: systemd-analyze verify printed warnings"; fail=1
else
  echo "ok: systemd-analyze verify"
fi
for line in Type=notify WatchdogSec=30s Restart=on-failure User=memoryd \
    EnvironmentFile=-/etc/memoryd/memoryd.env \
    "ExecStartPre=/usr/bin/memoryd check-config --config /etc/memoryd/memoryd.toml" \
    ProtectSystem=strict ReadWritePaths=/var/lib/memoryd NoNewPrivileges=yes PrivateTmp=yes \
    ProtectHome=yes CapabilityBoundingSet= "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
    SystemCallFilter=@system-service; do
  grep -qxF "$line" "$unit" || { echo "FAIL: the unit lacks '$line'"; fail=1; }
done
# Secrets never on a command line.
if grep -E '^Exec' "$unit" | grep -qiE 'token|api_key|password|database_url'; then
  echo "FAIL: a command line in the unit carries a secret"; fail=1
fi
sec=$(systemd-analyze security --offline=true --root="$root" memoryd.service 2>&1 || true)
score=$(echo "$sec" | sed -n 's/.*Overall exposure level for memoryd.service: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
  echo "$sec"; echo "FAIL: no exposure score"; fail=1
elif awk -v s="$score" -v t="$threshold" 'BEGIN { exit !(s <= t) }'; then
  echo "ok: exposure $score (at most $threshold)"
else
  echo "$sec" | grep '✗' || true
  echo "FAIL: exposure $score is above $threshold"; fail=1
fi
exit $fail
