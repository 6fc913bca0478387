#!/usr/bin/env bash
# The fan-out comparison of docs/benchmarks.md: duplexd against nginx+nchan
# and a Node "ws" broadcast server, measured in the same run on loopback.
#
#   bench/compare-peers.sh [OUTDIR]
#
# Pinning: every server runs on CPU 0 (one loop / one worker each), the load
# generator on CPU 1. Results: OUTDIR/results.jsonl (one duplex-bench JSON
# object per line), OUTDIR/idle.jsonl (memory per idle connection), and the
# SVG plots + Markdown tables made by bench/plot.py.
# Env: SUBS="100 1000 5000 10000" RATE=20 DURATION=5 IDLE_CONNS=5000
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bench/results/$(date -u +%Y%m%d-%H%M%S)}
subs_list=${SUBS:-"100 1000 5000 10000"}
rate=${RATE:-20}
duration=${DURATION:-5}
idle_conns=${IDLE_CONNS:-5000}
mkdir -p "$out"

# Peers come from Debian (nginx + nchan) and npm (ws).
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
need=()
for p in nginx-light libnginx-mod-nchan nodejs npm; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ! command -v node >/dev/null || [ ${#need[@]} -gt 0 ]; then
  [ ${#need[@]} -gt 0 ] && $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" || true
fi
(cd "$root/bench/peers/nodews" && npm install --no-audit --no-fund --silent)

build=$root/build/bench
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" --buildtype=release -Dclient=disabled
ninja -C "$build" src/server/duplexd src/bench/duplex-bench
bench=$build/src/bench/duplex-bench

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# duplexd (sqlite store, as deployed)
work=$(mktemp -d)
taskset -c 0 "$build/src/server/duplexd" --http 127.0.0.1:0 --tcp 127.0.0.1:0 \
  --data-dir "$work/data" --ready-file "$work/ready.json" --log-level warn &
pids+=($!); dxd_pid=$!
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
dxd_port=$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["http"])' "$work/ready.json")

# nginx + nchan
mkdir -p "$work/nginx"
nchan_port=18090
sed -e "s|@PORT@|$nchan_port|; s|@PREFIX@|$work/nginx|g" "$root/bench/peers/nginx-nchan.conf.in" >"$work/nginx/nginx.conf"
taskset -c 0 nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!); nginx_master=$!

# Node ws
nodews_port=18091
taskset -c 0 node "$root/bench/peers/nodews/server.js" $nodews_port >"$work/nodews.log" &
pids+=($!); node_pid=$!
sleep 1
nginx_worker=$(pgrep -P "$nginx_master" | head -1)

run() { # target port pid transport subs
  taskset -c 1 "$bench" --url "http://127.0.0.1:$2" --target "$1" --transport "$4" \
    --subscribers "$5" --rate "$rate" --duration "$duration" --drain 15 \
    --server-pid "$3" --json || true
}

: >"$out/results.jsonl"
for n in $subs_list; do
  for t in websocket sse longpoll poll tcp; do
    run duplexd "$dxd_port" "$dxd_pid" $t "$n" >>"$out/results.jsonl"
  done
  for t in websocket sse longpoll; do
    run nchan "$nchan_port" "$nginx_worker" $t "$n" >>"$out/results.jsonl"
  done
  run nodews "$nodews_port" "$node_pid" websocket "$n" >>"$out/results.jsonl"
done

# Memory per idle WebSocket connection: RSS while N subscribers are held.
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
idle() { # name port pid target
  local before after
  before=$(rss_kb "$3")
  taskset -c 1 "$bench" --url "http://127.0.0.1:$2" --target "$4" --transport websocket \
    --subscribers "$idle_conns" --idle 3 --json 2>"$work/idle.err" >/dev/null &
  local b=$!
  for _ in $(seq 600); do grep -q '^ready' "$work/idle.err" 2>/dev/null && break; sleep 0.1; done
  sleep 1
  after=$(rss_kb "$3")
  wait $b || true
  printf '{"server":"%s","connections":%s,"rss_before_kb":%s,"rss_after_kb":%s}\n' \
    "$1" "$idle_conns" "$before" "$after"
}
: >"$out/idle.jsonl"
idle duplexd "$dxd_port" "$dxd_pid" duplexd >>"$out/idle.jsonl"
idle nchan "$nchan_port" "$nginx_worker" nchan >>"$out/idle.jsonl"
idle nodews "$nodews_port" "$node_pid" nodews >>"$out/idle.jsonl"

{
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print $2/1024/1024 " GiB"}' /proc/meminfo), $(uname -sr)"
  echo "duplexd: $("$build/src/server/duplexd" --version 2>&1 | head -1)"
  echo "nginx: $(nginx -v 2>&1), nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan)"
  echo "node: $(node --version), ws $(node -p 'require("'"$root"'/bench/peers/nodews/node_modules/ws/package.json").version')"
  echo "pinning: servers on CPU 0, duplex-bench on CPU 1 (taskset)"
  echo "workload: rate $rate msg/s, $duration s, 64-byte texts, subscribers: $subs_list"
} >"$out/env.txt"

/usr/bin/python3 "$root/bench/plot.py" "$out"
echo "results in $out"
