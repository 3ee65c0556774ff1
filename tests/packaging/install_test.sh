#!/usr/bin/env bash
# The package on this machine, as an operator uses it: apt-get install the built .deb, run
# the installed memoryd with the installed config as the memoryd user, post a message and
# see its fact, then remove (data and config kept) and purge (both gone), as Debian policy
# expects. The system user stays after purge (policy: users are never removed, their files
# could outlive the package).
#
# systemd does not run in CI's containers: when it does (/run/systemd/system), the unit is
# started instead of the binary. Exit 77 (skipped) when not root, without apt-get, or when a
# memoryd package is already installed here (never replace a real installation).
#   install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
  echo "SKIP: needs root, apt-get and dpkg-deb (CI runs as root)"
  exit 77
fi
if dpkg-query -W -f='${Status}' memoryd 2>/dev/null | grep -q 'install ok'; then
  echo "SKIP: a memoryd package is installed on this machine; not replacing it"
  exit 77
fi
out=$(mktemp -d)
chmod 0755 "$out"  # apt's sandbox user reads the .deb from here
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  # Leave no package behind, whatever failed.
  # Known to dpkg at all (installed, or removed with its config files): purge.
  if dpkg-query -W memoryd >/dev/null 2>&1; then
    apt-get purge -y memoryd >/dev/null 2>&1 || true
  fi
  rm -rf "$out"
}
trap cleanup EXIT
deb=$(bash "$src/scripts/package.sh" "$build" "$out/pkg" | tail -1)
echo "package: $deb"
fail=0
check() {  # what, command... (its output only when it fails)
  local what=$1; shift
  if "$@" >"$out/check.txt" 2>&1; then echo "ok: $what"; else cat "$out/check.txt"; echo "FAIL: $what"; fail=1; fi
}
absent() { [ ! -e "$1" ]; }

# 1. Install: dependencies are already here (scripts/setup.sh), so nothing is downloaded.
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$deb" >"$out/apt.log" 2>&1 ||
  { cat "$out/apt.log"; echo "FAIL: apt-get install"; exit 1; }
echo "ok: apt-get install $(basename "$deb")"
check "installed binary runs" /usr/bin/memoryd --version
check "system user memoryd" getent passwd memoryd
check "/var/lib/memoryd is memoryd's, mode 0750" \
  test "$(stat -c '%U:%G %a' /var/lib/memoryd)" = "memoryd:memoryd 750"
check "config at /etc/memoryd/memoryd.toml" test -f /etc/memoryd/memoryd.toml
check "installed config passes check-config" /usr/bin/memoryd check-config --config /etc/memoryd/memoryd.toml

# 2. Run it, post a message, see a fact. A free port instead of the config's 8080: CI runs
# other tests beside this one.
if [ -d /run/systemd/system ]; then
  mkdir -p /run/systemd/system/memoryd.service.d
  printf '[Service]\nEnvironment=MEMORYD_LISTEN=127.0.0.1:0\n' \
    >/run/systemd/system/memoryd.service.d/test.conf
  systemctl daemon-reload
  systemctl start memoryd
  echo "ok: started the unit (systemd runs here)"
  log_cmd() { journalctl -u memoryd --no-pager -o cat; }
else
  echo "note: systemd is not running here: running the installed binary with the installed" \
    "config as the memoryd user, as the unit would"
  runuser -u memoryd -- env MEMORYD_LISTEN=127.0.0.1:0 /usr/bin/memoryd serve \
    --config /etc/memoryd/memoryd.toml >"$out/serve.log" 2>&1 &
  pid=$!
  log_cmd() { cat "$out/serve.log"; }
fi
port=""
for _ in $(seq 1 100); do
  port=$(log_cmd | sed -n 's/.*"server_started".*"port":\([0-9]*\).*/\1/p' | tail -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { log_cmd; echo "FAIL: memoryd did not start"; exit 1; }
echo "ok: listening on 127.0.0.1:$port"
base="http://127.0.0.1:$port"
check "message accepted" curl -sfS -o /dev/null -X POST "$base/v1/messages" \
  -H 'Content-Type: application/json' \
  -d '{"user_id":"install-test","role":"user","content":"I have a dog named Max."}'
# The shipped config processes every 5 minutes: run a cycle now, as an operator would.
check "a processor cycle ran" curl -sfS -o /dev/null -X POST "$base/v1/processor/run"
facts=""
for _ in $(seq 1 50); do
  facts=$(curl -sfS "$base/v1/users/install-test/facts" || true)
  grep -q '"text"' <<<"$facts" && break
  sleep 0.2
done
echo "facts: $facts"
check "the message became a fact" grep -qi 'max' <<<"$facts"
if [ -d /run/systemd/system ]; then
  systemctl stop memoryd
  rm -rf /run/systemd/system/memoryd.service.d
  systemctl daemon-reload
else
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
fi
check "databases in /var/lib/memoryd" test -f /var/lib/memoryd/conversation.db

# 3. Remove keeps data and configuration; purge removes both.
DEBIAN_FRONTEND=noninteractive apt-get remove -y memoryd >"$out/apt.log" 2>&1 ||
  { cat "$out/apt.log"; echo "FAIL: apt-get remove"; exit 1; }
check "remove: binary gone" absent /usr/bin/memoryd
check "remove: data kept" test -f /var/lib/memoryd/conversation.db
check "remove: conffile kept" test -f /etc/memoryd/memoryd.toml
DEBIAN_FRONTEND=noninteractive apt-get purge -y memoryd >"$out/apt.log" 2>&1 ||
  { cat "$out/apt.log"; echo "FAIL: apt-get purge"; exit 1; }
check "purge: data gone" absent /var/lib/memoryd
check "purge: conffile gone" absent /etc/memoryd/memoryd.toml
check "purge: unit gone" absent /lib/systemd/system/memoryd.service
# After remove dpkg still knows the package (config-files); after purge it does not.
check "purge: dpkg no longer knows the package" bash -c "! dpkg-query -W memoryd"
check "purge: the system user stays (Debian policy)" getent passwd memoryd
exit $fail
