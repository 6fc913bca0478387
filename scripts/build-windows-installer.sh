#!/usr/bin/env bash
# Builds the Windows installer: cross-builds duplex.exe and duplexd.exe with
# mingw-w64 in release mode and packs them, with their DLLs and data, with
# NSIS (win32/duplex-installer.nsi).
#
#   scripts/build-windows-installer.sh
#   -> build/windows-installer/duplex-setup-<version>.exe
#
# Needs: meson, ninja, mingw-w64, nsis (scripts/setup-deps.sh installs them)
# and, for the chat window, the dependency prefix (win32/deps/build.sh).
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

# Release: optimised, no debug info, assertions off. Default options
# otherwise: with the dependency prefix (win32/deps/build.sh, run first when
# present) the installer carries the chat window, its DLLs and data (the
# bundle, win32/bundle.py, stripped) and a duplexd.exe with the SQLite
# store; without it, duplexd.exe alone with the memory store.
opts=(--buildtype=release -Db_ndebug=true -Dfuzz=false)
if [ -x "$root/win32/deps/build.sh" ]; then
  "$root/win32/deps/build.sh" >&2
fi
if [ -f "$build_dir/meson-private/coredata.dat" ]; then
  meson setup --reconfigure "$build_dir" "$root" "${opts[@]}" >/dev/null
else
  meson setup "$build_dir" "$root" --cross-file "$root/win32/cross-mingw64.txt" "${opts[@]}" >/dev/null
fi

version=$(meson introspect --projectinfo "$build_dir" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')

# The installer is a target of the cross build (tests/windows/meson.build).
target="tests/windows/duplex-setup-$version.exe"
ninja -C "$build_dir" "$target"
mkdir -p "$out_dir"
out="$out_dir/duplex-setup-$version.exe"
cp "$build_dir/$target" "$out"
echo "build-windows-installer: $out ($(stat -c %s "$out") bytes)"
