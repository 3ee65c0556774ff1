#!/usr/bin/env bash
# Builds the Debian package memoryd_<version>_amd64.deb with CPack's DEB generator from an
# already-built tree (nothing is compiled twice in CI: docs/OPERATIONS.md says why CPack and
# not dpkg-buildpackage). Without a build tree it sets up, configures and builds memoryd first.
#   scripts/package.sh [BUILD_DIR [OUT_DIR]]      (defaults: build, BUILD_DIR/package)
# Prints the package's path on the last line. Runs lintian when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="$(realpath -m "${1:-${BUILD_DIR:-build}}")"
out_dir="$(realpath -m "${2:-$build_dir/package}")"
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  bash scripts/setup.sh
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMORYD_TESTS=OFF
fi
# Up to date after a full build: a no-op then.
cmake --build "$build_dir" --target memoryd memoryd_package_files
mkdir -p "$out_dir"
(cd "$build_dir" && cpack -G DEB -B "$out_dir" >&2)
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build_dir/CMakeCache.txt")
deb="$out_dir/memoryd_${version}_amd64.deb"
[ -f "$deb" ] || { echo "package.sh: $deb was not made" >&2; exit 1; }
if command -v lintian >/dev/null; then
  # Remaining tags are justified in packaging/lintian-overrides (installed with the package).
  lintian --fail-on error,warning --suppress-tags-from-file packaging/lintian-suppressed "$deb" >&2
else
  echo "package.sh: lintian is not installed (scripts/setup.sh installs it): not checked" >&2
fi
echo "$deb"
