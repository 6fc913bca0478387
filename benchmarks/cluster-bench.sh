#!/usr/bin/env bash
# duplex-bench against one node and against three nodes behind nginx
# (docs/benchmarks.md, "Several nodes"). Uses the ports data/nginx/duplex.conf
# lists (nodes 8080/8090/8100 + 1, nginx 8000/8001/8443/8002), Redis on
# 6390 with appendfsync always, everything in a temporary directory.
#   benchmarks/cluster-bench.sh BUILD OUT     (BUILD: a build dir with duplexd and duplex-bench)
set -euo pipefail
BUILD=${1:-build}
OUT=${2:-$BUILD/cluster-bench}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DUPLEXD=$BUILD/src/server/duplexd
BENCH=$BUILD/src/loadgen/duplex-bench
SUBS=${SUBS:-1000}
RATE=${RATE:-200}
DURATION=${DURATION:-5}
IDLE_PER_NODE=${IDLE_PER_NODE:-8000}
mkdir -p "$OUT"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
wait_ok() { for _ in $(seq 100); do [ "$(curl -s "$1/healthz")" = ok ] && return; sleep 0.1; done; echo "$1 not healthy" >&2; exit 1; }

run() { # NAME URL TRANSPORT SUBS RATE
  echo "== $1 $3 subs=$4 rate=$5" >&2
  "$BENCH" --url "$2" --transport "$3" --subscribers "$4" --rate "$5" --duration "$DURATION" \
    --json | tee -a "$OUT/$1.jsonl"
}

PHASES=${PHASES:-"throughput idle"}
# 1. one node, the single-node default (SQLite store, no Redis)
if [[ $PHASES == *throughput* ]]; then
  "$DUPLEXD" --http 127.0.0.1:8070 --tcp 127.0.0.1:8071 --data-dir "$tmp/sqlite" --log-level warn &
  single=$!
  pids+=("$single")
  wait_ok http://127.0.0.1:8070
  for t in websocket sse; do run single-sqlite http://127.0.0.1:8070 $t "$SUBS" "$RATE"; done
  kill "$single"
fi

# Redis, then the same node with --redis, then three behind nginx
mkdir -p "$tmp/redis"
redis-server --port 6390 --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
  --appendfsync always --save '' --logfile "$tmp/redis.log" &
pids+=($!)
wait_port 6390
for p in 8080 8090 8100; do
  "$DUPLEXD" --http 127.0.0.1:$p --tcp 127.0.0.1:$((p + 1)) --redis redis://127.0.0.1:6390 \
    --node-id node$p --log-level warn &
  pids+=($!)
done
for p in 8080 8090 8100; do wait_ok http://127.0.0.1:$p; done
if [[ $PHASES == *throughput* ]]; then
  for t in websocket sse; do run single-redis http://127.0.0.1:8080 $t "$SUBS" "$RATE"; done

  mkdir -p "$tmp/nginx/logs" "$tmp/nginx/temp"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=127.0.0.1 -keyout "$tmp/nginx/key.pem" -out "$tmp/nginx/cert.pem" 2>/dev/null
  sed -e "s|/etc/duplex/tls/cert.pem|$tmp/nginx/cert.pem|" -e "s|/etc/duplex/tls/key.pem|$tmp/nginx/key.pem|" \
    "$SRC/data/nginx/duplex.conf" > "$tmp/nginx/nginx.conf"
  chmod 755 "$tmp"
  nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' &
  pids+=($!)
  wait_port 8000
  for t in websocket sse; do run three-nginx http://127.0.0.1:8000 $t "$SUBS" "$RATE"; done
fi

# Connections held: one bench process per node, IDLE_PER_NODE each, at once
# (together past one process's descriptor limit, 20,000 on this machine).
[[ $PHASES == *idle* ]] || exit 0
IDLE_S=${IDLE_S:-60}
echo "== idle: 3 x $IDLE_PER_NODE WebSocket connections" >&2
ipids=()
for p in 8080 8090 8100; do
  "$BENCH" --url http://127.0.0.1:$p --transport websocket --subscribers "$IDLE_PER_NODE" \
    --idle "$IDLE_S" --json > "$OUT/idle-$p.json" 2> "$OUT/idle-$p.err" &
  ipids+=($!)
done
best=0
t0=$SECONDS
while [ $((SECONDS - t0)) -lt $((IDLE_S - 5)) ]; do
  held=0
  for p in 8080 8090 8100; do
    n=$(curl -s http://127.0.0.1:$p/metrics | awk '/^duplex_connections_open\{transport="websocket"\}/ {print $2}')
    held=$((held + ${n:-0}))
  done
  [ "$held" -gt "$best" ] && best=$held
  [ "$held" -ge $((3 * IDLE_PER_NODE)) ] && break
  sleep 2
done
echo "held at once: $best of $((3 * IDLE_PER_NODE)) after $((SECONDS - t0)) s" | tee "$OUT/idle.txt" >&2
wait "${ipids[@]}" || true
