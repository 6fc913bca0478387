#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job: duplexd, plus the
# desktop client when there is a display (the server alone otherwise).
# Extra arguments go to duplexd, e.g.: scripts/run.sh --ticker lobby:1000
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-deps.sh"

build=${DUPLEX_BUILD_DIR:-$root/build/run}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" --buildtype=release
fi
ninja -C "$build"

http=${DUPLEX_HTTP:-127.0.0.1:8080}
tcp=${DUPLEX_TCP:-127.0.0.1:8081}
server=("$build/src/server/duplexd" --http "$http" --tcp "$tcp" "$@")
case " $* " in
  *" --no-web "*) ;;
  *) echo "The web client: http://$http/ (open it in a browser)" ;;
esac

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$build/src/client/duplex" ]; then
  "${server[@]}" &
  server_pid=$!
  trap 'kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null' EXIT
  # Wait until the server answers before the window connects.
  for _ in $(seq 1 50); do
    curl -fsS "http://$http/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  GSETTINGS_SCHEMA_DIR="$build/data" "$build/src/client/duplex" --server "http://$http"
else
  echo "No display: running the server alone (Ctrl-C stops it)."
  exec "${server[@]}"
fi
