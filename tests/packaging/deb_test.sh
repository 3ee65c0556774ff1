#!/usr/bin/env bash
# Builds the .deb from this build tree (scripts/package.sh) and checks what it holds:
# /usr/bin/memoryd, the conffile /etc/memoryd/memoryd.toml (data in /var/lib/memoryd), the
# unit, a non-empty Depends from dpkg-shlibdeps, the maintainer scripts; the packaged binary
# accepts the packaged config. Exit 77 (skipped) only when dpkg-deb is missing.
#   deb_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
if ! command -v dpkg-deb >/dev/null; then
  echo "SKIP: dpkg-deb is missing (not a Debian machine): the package cannot be built or read"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
deb=$(bash "$src/scripts/package.sh" "$build" "$out/pkg" | tail -1)
echo "package: $deb"
fail=0
check() {  # what, command...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
case "$(basename "$deb")" in
  memoryd_*_amd64.deb) echo "ok: file name $(basename "$deb")" ;;
  *) echo "FAIL: file name $(basename "$deb")"; fail=1 ;;
esac
contents=$(dpkg-deb -c "$deb")
info=$(dpkg-deb -I "$deb")
has() { grep -qE "$1" <<<"$2"; }
check "binary at /usr/bin/memoryd" has ' \./usr/bin/memoryd$' "$contents"
check "config at /etc/memoryd/memoryd.toml" has ' \./etc/memoryd/memoryd\.toml$' "$contents"
check "unit at /lib/systemd/system/memoryd.service" has ' \./lib/systemd/system/memoryd\.service$' "$contents"
check "changelog, copyright and manual page" has ' \./usr/share/man/man1/memoryd\.1\.gz$' "$contents"
check "conffile listed" has '^/etc/memoryd/memoryd\.toml$' "$(dpkg-deb -I "$deb" conffiles)"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
check "Depends non-empty, from dpkg-shlibdeps (libc6, libsqlite3, libpq) and adduser" \
  has '^.*libc6.*' "$depends"
check "Depends names libsqlite3-0 and libpq5" has 'libsqlite3-0.*libpq5|libpq5.*libsqlite3-0' "$depends"
check "Depends names adduser" has 'adduser' "$depends"
check "postinst makes the system user" has 'adduser --system' \
  "$(dpkg-deb -I "$deb" postinst)"
check "postrm purges /var/lib/memoryd" has 'rm -rf /var/lib/memoryd' \
  "$(dpkg-deb -I "$deb" postrm)"
check "architecture amd64" has '^amd64$' "$(dpkg-deb -f "$deb" Architecture)"
# The packaged binary with the packaged config (databases redirected to a scratch directory).
dpkg-deb -x "$deb" "$out/root"
check "packaged config keeps data in /var/lib/memoryd" \
  grep -qxF 'conversation_db = "/var/lib/memoryd/conversation.db"' "$out/root/etc/memoryd/memoryd.toml"
if CONVERSATION_DB_PATH="$out/data/conversation.db" MEMORY_DB_PATH="$out/data/memory.db" \
   MEMORYD_STORAGE=sqlite MEMORYD_LISTEN=127.0.0.1:8080 \
   "$out/root/usr/bin/memoryd" check-config --config "$out/root/etc/memoryd/memoryd.toml" >"$out/check.txt" 2>&1; then
  echo "ok: the packaged binary accepts the packaged config"
else
  cat "$out/check.txt"; echo "FAIL: check-config on the packaged config"; fail=1
fi
exit $fail
