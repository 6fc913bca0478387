#!/usr/bin/env bash
# Builds the Windows installer: cross-builds duplexd.exe with mingw-w64 in
# release mode, strips it, and packs it with NSIS (win32/duplex-installer.nsi).
#
#   scripts/build-windows-installer.sh
#   -> build/windows-installer/duplex-setup-<version>.exe
#
# Needs: meson, ninja, mingw-w64, nsis (scripts/setup-deps.sh installs them).
# Wine is not needed to build; see win32/README.md to try the result.
# Variables: BUILD_DIR (the cross build, default build/windows-release),
# OUT_DIR (default build/windows-installer). Relative to the source tree.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-build/windows-release}
out_dir=${OUT_DIR:-build/windows-installer}
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
case "$out_dir" in /*) ;; *) out_dir="$root/$out_dir" ;; esac

for tool in meson ninja x86_64-w64-mingw32-gcc x86_64-w64-mingw32-strip makensis; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-windows-installer: '$tool' not found (run scripts/setup-deps.sh)" >&2
    exit 1
  fi
done

# Release: optimised, no debug info, assertions off. The GTK client is not
# built for Windows and no SQLite is available to the cross build, so this
# duplexd keeps its history in memory.
opts=(--buildtype=release -Db_ndebug=true -Dclient=disabled -Dsqlite=disabled
      -Dbench=false -Dfuzz=false)
if [ -f "$build_dir/meson-private/coredata.dat" ]; then
  meson setup --reconfigure "$build_dir" "$root" "${opts[@]}" >/dev/null
else
  meson setup "$build_dir" "$root" --cross-file "$root/win32/cross-mingw64.txt" "${opts[@]}" >/dev/null
fi
# Only the server: the tests are not needed for a package.
ninja -C "$build_dir" src/server/duplexd.exe

version=$(meson introspect --projectinfo "$build_dir" |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')

# Strip a copy (the .rsrc version information and manifest stay).
stage="$build_dir/windows-installer-stage"
mkdir -p "$stage" "$out_dir"
x86_64-w64-mingw32-strip -o "$stage/duplexd.exe" "$build_dir/src/server/duplexd.exe"

out="$out_dir/duplex-setup-$version.exe"
makensis -V2 -NOCD \
  -DVERSION="$version" \
  -DDUPLEXD_EXE="$stage/duplexd.exe" \
  -DWIN32_DIR="$root/win32" \
  -DOUTFILE="$out" \
  "$root/win32/duplex-installer.nsi"
echo "build-windows-installer: $out ($(stat -c %s "$out") bytes)"
