#!/usr/bin/env bash
# Installs every Debian 12 package Duplex needs to build, run and test
# (native, ASan/UBSan, fuzz, Windows cross build under Wine, GTK client
# under Xvfb). Idempotent: apt-get runs only when something is missing.
set -euo pipefail

packages=(
  # toolchain and build
  gcc clang clang-format libclang-rt-14-dev meson ninja-build pkg-config git ca-certificates
  # server
  libsqlite3-dev
  liburing-dev  # DUPLEX_LOOP=uring (src/platform/loop-uring.c)
  libssl-dev testssl.sh  # TLS in duplexd (--tls-cert) and its testssl.sh test
  # several nodes (--redis): the Redis client library; Redis and nginx for the cluster suite
  libhiredis-dev redis-server nginx libnginx-mod-stream openssl
  # desktop client
  libgtk-4-dev libsoup-3.0-dev gettext desktop-file-utils appstream
  libglib2.0-bin libglib2.0-dev-bin
  glib-networking # https:// (GIO's TLS backend)
  # tests: real clients, display, accessibility
  python3 python3-websockets python3-pyatspi gir1.2-atspi-2.0 at-spi2-core
  dbus dbus-x11 xvfb xauth xdotool imagemagick curl netcat-openbsd procps
  # Windows cross build, run under Wine
  mingw-w64 wine wine64 nsis
  # duplex.exe under Wine: GTK's default UI font (Tahoma)
  fonts-wine
  # Windows dependency prefix, built from Debian sources (win32/deps/build.sh)
  libz-mingw-w64-dev publicsuffix sassc cmake tcl make patch bzip2 xz-utils
  # peers in the micro-benchmarks
  libuv1-dev libcjson-dev
  # the web client in a real browser (tests/web)
  chromium chromium-driver python3-selenium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
