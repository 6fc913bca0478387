#!/usr/bin/env bash
# duplex-bench against one node and against three nodes behind nginx
# (docs/benchmarks.md, "Several nodes"). Uses the ports data/nginx/duplex.conf
# lists (nodes 8080/8090/8100 + 1, nginx 8000/8001/8443/8002), Redis on
# 6390 with appendfsync always, everything in a temporary directory.
#   benchmarks/cluster-bench.sh BUILD OUT     (BUILD: a build dir with duplexd and duplex-bench)
# PHASES picks what runs (default "throughput idle"); "big" is the run past
# one process's descriptor limit: BIG_ONE WebSocket subscribers on one node,
# then BIG_SUBS on three behind nginx (NGINX_WORKERS workers), BIG_RATE
# msg/s for BIG_DURATION s, in BENCH_PROCS bench processes at once (each
# its own room and publisher; one process takes 19,000 at most).
# The servers (nodes, Redis, nginx) run on SERVER_CPUS, the bench on
# BENCH_CPUS (taskset; empty: not pinned).
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
SERVER_CPUS=${SERVER_CPUS-0}
BENCH_CPUS=${BENCH_CPUS-1}
# Command prefixes (taskset execs the command: $! is the server's pid).
SERVER_PIN=()
BENCH_PIN=()
if command -v taskset >/dev/null; then
  [ -z "$SERVER_CPUS" ] || SERVER_PIN=(taskset -c "$SERVER_CPUS")
  [ -z "$BENCH_CPUS" ] || BENCH_PIN=(taskset -c "$BENCH_CPUS")
fi
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
  "${BENCH_PIN[@]}" "$BENCH" --url "$2" --transport "$3" --subscribers "$4" --rate "$5" --duration "$DURATION" \
    --json | tee -a "$OUT/$1.jsonl"
}

PHASES=${PHASES:-"throughput idle"}
# 1. one node, the single-node default (SQLite store, no Redis)
if [[ $PHASES == *throughput* ]]; then
  "${SERVER_PIN[@]}" "$DUPLEXD" --http 127.0.0.1:8070 --tcp 127.0.0.1:8071 --data-dir "$tmp/sqlite" --send-rate 0/1 --max-delivery-ms 0 --log-level warn &
  single=$!
  pids+=("$single")
  wait_ok http://127.0.0.1:8070
  for t in websocket sse; do run single-sqlite http://127.0.0.1:8070 $t "$SUBS" "$RATE"; done
  kill "$single"
fi

# Redis, then the same node with --redis, then three behind nginx
mkdir -p "$tmp/redis"
"${SERVER_PIN[@]}" redis-server --port 6390 --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
  --appendfsync always --save '' --logfile "$tmp/redis.log" &
pids+=($!)
wait_port 6390
for p in 8080 8090 8100; do
  "${SERVER_PIN[@]}" "$DUPLEXD" --http 127.0.0.1:$p --tcp 127.0.0.1:$((p + 1)) --redis redis://127.0.0.1:6390 \
    --node-id node$p --send-rate 0/1 --max-delivery-ms 0 --log-level warn &
  pids+=($!)
done
for p in 8080 8090 8100; do wait_ok http://127.0.0.1:$p; done
# nginx with data/nginx/duplex.conf as shipped, but WORKERS workers
# ("auto" = one per core) and a temporary certificate.
nginx_pid=
start_nginx() { # WORKERS
  mkdir -p "$tmp/nginx/logs" "$tmp/nginx/temp"
  [ -f "$tmp/nginx/cert.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -days 2 -subj /CN=127.0.0.1 -keyout "$tmp/nginx/key.pem" -out "$tmp/nginx/cert.pem" 2>/dev/null
  sed -e "s|/etc/duplex/tls/cert.pem|$tmp/nginx/cert.pem|" -e "s|/etc/duplex/tls/key.pem|$tmp/nginx/key.pem|" \
    -e "s|^worker_processes auto;|worker_processes $1;|" \
    "$SRC/data/nginx/duplex.conf" > "$tmp/nginx/nginx.conf"
  chmod 755 "$tmp"
  "${SERVER_PIN[@]}" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' &
  nginx_pid=$!
  pids+=("$nginx_pid")
  wait_port 8000
}
stop_nginx() {
  [ -n "$nginx_pid" ] || return 0
  kill "$nginx_pid"
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=
  while (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null; do sleep 0.1; done
}

if [[ $PHASES == *throughput* ]]; then
  for t in websocket sse; do run single-redis http://127.0.0.1:8080 $t "$SUBS" "$RATE"; done
  start_nginx auto
  for t in websocket sse; do run three-nginx http://127.0.0.1:8000 $t "$SUBS" "$RATE"; done
  stop_nginx
fi

# Past one process's descriptor limit (20,000 here): WebSocket subscribers
# in BENCH_PROCS bench processes (each under its own limit, its own room).
# One node holds at most ~19,900 of them; three behind nginx hold BIG_SUBS
# (8,000 a node), nginx holding two descriptors per client in
# NGINX_WORKERS workers of 20,000 descriptors each.
if [[ $PHASES == *big* ]]; then
  BIG_ONE=${BIG_ONE:-18000}
  BIG_SUBS=${BIG_SUBS:-24000}
  BIG_RATE=${BIG_RATE:-4}
  BIG_DURATION=${BIG_DURATION:-10}
  BENCH_PROCS=${BENCH_PROCS:-3}
  NGINX_WORKERS=${NGINX_WORKERS:-4}
  node_metrics() { # LABEL: what each node holds and follows
    for p in 8080 8090 8100; do
      curl -s http://127.0.0.1:$p/metrics | awk -v l="$1" -v p=$p '
        /^duplex_connections_open\{transport="websocket"\}/ { ws = $2 }
        /^duplex_redis_channels / { ch = $2 }
        /^duplex_redis_catchup_reads_total / { cu = $2 }
        /^duplex_redis_gaps_healed_total / { gh = $2 }
        END { printf "%s node%s websocket=%s channels=%s catchup_reads=%s gaps_healed=%s\n", l, p, ws, ch, cu, gh }'
    done | tee -a "$OUT/big-nodes.txt" >&2
  }
  big() { # NAME URL SUBS: BENCH_PROCS bench processes at once, each its own room
    echo "== $1 websocket subs=$3 in $BENCH_PROCS rooms, rate=$BIG_RATE each" >&2
    echo "$1 load before: $(cat /proc/loadavg)" >> "$OUT/big-load.txt"
    local t0=$SECONDS bpids=()
    # What the nodes hold and follow meanwhile, every 5 s.
    (while sleep 5; do node_metrics "$1 +$((SECONDS - t0))s"; done) &
    local probe=$!
    for i in $(seq "$BENCH_PROCS"); do
      "${BENCH_PIN[@]}" "$BENCH" --url "$2" --transport websocket --subscribers $(($3 / BENCH_PROCS)) \
        --rate "$BIG_RATE" --duration "$BIG_DURATION" --drain 30 --json > "$OUT/$1-$i.json" &
      bpids+=($!)
    done
    wait "${bpids[@]}" || true
    kill "$probe" 2>/dev/null || true
    echo "$1 load after: $(cat /proc/loadavg)" >> "$OUT/big-load.txt"
    # One line: the processes' deliveries summed, their worst p50 / p99.
    python3 - "$1" "$OUT"/"$1"-*.json <<'PY' | tee -a "$OUT/big-summary.txt"
import json, sys
runs = [json.load(open(f)) for f in sys.argv[2:]]
print("%s: %d subscribers ready of %d, delivered %d of %d (gaps %d, duplicates %d), %.0f msgs/s, "
      "p50 %.0f ms, p99 %.0f ms (worst process), bench saturated: %s" % (
          sys.argv[1], sum(r["ready"] for r in runs), sum(r["subscribers"] for r in runs),
          sum(r["delivered"] for r in runs), sum(r["expected"] for r in runs),
          sum(r["gaps"] for r in runs), sum(r["duplicates"] for r in runs),
          sum(r["delivered_per_s"] for r in runs),
          max(r["latency_ms"]["p50"] for r in runs), max(r["latency_ms"]["p99"] for r in runs),
          any(r.get("bench_saturated") for r in runs)))
PY
  }
  big big-one-node http://127.0.0.1:8080 "$BIG_ONE"
  start_nginx "$NGINX_WORKERS"
  big big-three-nginx http://127.0.0.1:8000 "$BIG_SUBS"
  node_metrics big-after
  stop_nginx
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
