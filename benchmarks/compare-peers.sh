#!/usr/bin/env bash
# The transport and peer comparison of docs/benchmarks.md: duplexd against
# nginx+nchan and a Node "ws" broadcast server, measured in the same run on
# loopback.
#
#   benchmarks/compare-peers.sh [OUTDIR]     (default: BUILD/compare-peers/DATE)
#
# Pinning: every server runs on CPU 0 (one loop / one worker each), the load
# generator on CPU 1; as root all run at nice -19 (NICE), in a session of
# their own whose autogroup gets that nice too, so that other work on a
# shared machine (compilers) takes less of their cores. Phases, each repeated REPEAT times (benchmarks/plot.py
# reports medians):
#   cost      duplex-bench --compare --server-pid on every server: latency,
#             requests, bytes and server CPU per delivered message for each
#             transport (COST_SUBS subscribers, COST_RATE msg/s)   -> cost.jsonl
#   fanout    every server x transport at RATE msg/s for each N in SUBS
#                                                                  -> results.jsonl
#   capacity  WebSocket only, CAP_SUBS subscribers, rising rates CAP_RATES:
#             the most delivered msgs/s each server sustains under a p99 bound
#                                                                  -> capacity.jsonl
#   idle      RSS per idle WebSocket connection (IDLE_CONNS held) -> idle.jsonl
#             (first, while the servers' heaps are fresh; not repeated)
#   overload  the overload curve (issue 15): WebSocket, for each point
#             SUBS:RATE,RATE,... of OVERLOAD, every server in turn at each
#             offered rate — duplexd on epoll, duplexd on io_uring (a second
#             duplexd with DUPLEX_LOOP=uring, when the kernel allows it),
#             duplexd with --store memory (no disk: what the fan-out alone
#             does, and what compares with the peers, which keep nothing),
#             nginx+nchan, Node ws: accepted, refused and deferred
#             publications, delivered/s and p50/p99 of accepted messages,
#             server and generator CPU, the load average at each point;
#             for a duplexd also its store's commit times and the sends its
#             delivery bound refused (benchmarks/metrics-delta.py)
#                                                                  -> overload.jsonl
#             then each duplexd offered twice its capacity at the first
#             subscriber count, TWICE_RUNS times              -> twice.jsonl
# then env.txt, and the SVG plots + tables.md made by benchmarks/plot.py.
#
# Env (defaults): SUBS="100 1000 5000 10000" RATE=10 DURATION=5 REPEAT=1
#   FANOUT_REPEAT=REPEAT NICE=-19 (root) / 0
#   COST_SUBS=100 COST_RATE=50 CAP_SUBS=1000 CAP_RATES="10 20 50 100 200"
#   IDLE_CONNS=5000 PHASES="idle cost fanout capacity overload"
#   OVERLOAD="1000:10,100,200,400,600,800,1200,1600,2400,3200 10000:2,5,10,20,40,80"
#   OVERLOAD_DRAIN=10 (seconds a point may take past its publishing)
#   OVERLOAD_BOUND=250 (p99 ms: two points past it end a server's curve)
#   TWICE_RUNS=3 (runs at twice each duplexd's capacity; 0: none)
#   BUILD=<build dir> (default: build/bench in the source tree; configured
#   --buildtype=release -Dclient=disabled if it does not exist yet)
set -euo pipefail

# On Linux with autogroup scheduling, CPU is shared between sessions first
# and nice only counts inside a session: run in a session of our own and
# give that session's group the priority (root only).
if [ "$(id -u)" -eq 0 ] && [ "${NICE:--19}" != 0 ] && [ -z "${DX_BENCH_SESSION:-}" ] &&
   [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo 0)" = 1 ]; then
  DX_BENCH_SESSION=1 exec setsid --wait "$0" "$@"
fi
if [ -n "${DX_BENCH_SESSION:-}" ]; then
  echo "${NICE:--19}" >/proc/self/autogroup 2>/dev/null || true
fi

root=$(cd "$(dirname "$0")/.." && pwd)
subs_list=${SUBS:-"100 1000 5000 10000"}
rate=${RATE:-10}
duration=${DURATION:-5}
repeat=${REPEAT:-1}
cost_subs=${COST_SUBS:-100}
cost_rate=${COST_RATE:-50}
cap_subs=${CAP_SUBS:-1000}
cap_rates=${CAP_RATES:-"10 20 50 100 200"}
idle_conns=${IDLE_CONNS:-5000}
phases=${PHASES:-"idle cost fanout capacity overload"}
overload_points=${OVERLOAD:-"1000:10,100,200,400,600,800,1200,1600,2400,3200 10000:2,5,10,20,40,80"}
overload_drain=${OVERLOAD_DRAIN:-10}
overload_bound=${OVERLOAD_BOUND:-250}
twice_runs=${TWICE_RUNS:-3}
fanout_repeat=${FANOUT_REPEAT:-$repeat}
if [ "$(id -u)" -eq 0 ]; then nice=${NICE:--19}; else nice=${NICE:-0}; fi
# pin CPU CMD...: runs CMD on CPU at $nice. pin_bg replaces the subshell that
# `pin_bg ... &` starts, so $! is the server's own pid.
pin() { local cpu=$1; shift; nice -n "$nice" taskset -c "$cpu" "$@"; }
pin_bg() { local cpu=$1; shift; exec nice -n "$nice" taskset -c "$cpu" "$@"; }
build=${BUILD:-$root/build/bench}
out=${1:-$build/compare-peers/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"

# Peers come from Debian (nginx + nchan) and npm (ws).
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
need=()
# Any nginx will do (nginx-light conflicts with an installed nginx); node
# may come from elsewhere than Debian (then with its own npm).
command -v nginx >/dev/null || need+=(nginx-light)
dpkg-query -W -f='${Status}' libnginx-mod-nchan 2>/dev/null | grep -q 'install ok installed' ||
  need+=(libnginx-mod-nchan)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# ws at the version package-lock.json pins (node_modules/ is not committed).
[ -f "$root/benchmarks/peers/nodews/node_modules/ws/package.json" ] ||
  (cd "$root/benchmarks/peers/nodews" && npm ci --no-audit --no-fund --silent)
# Debian's nginx loads its modules from a conf.d it is not given here.
nchan_module=$(dpkg-query -L libnginx-mod-nchan | grep '/ngx_nchan_module\.so$' | head -1)

[ -f "$build/build.ninja" ] || meson setup "$build" "$root" --buildtype=release -Dclient=disabled
ninja -C "$build" src/server/duplexd src/loadgen/duplex-bench
bench=$build/src/loadgen/duplex-bench
# What was built: the commit, and whether the tree had local changes.
built_from="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo ' + local changes in src/')"

pids=()
work=$(mktemp -d)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# duplexd (sqlite store, as deployed; no send-rate limit: the publisher is
# one token sending hundreds a second, which the default 20/s would refuse)
start_duplexd() { # NAME [STORE ARGS]: sets dxd_pid and dxd_port ("" if it did not start)
  local name=$1
  shift
  [ $# -gt 0 ] || set -- --data-dir "$work/data-$name"
  pin_bg 0 "$build/src/server/duplexd" --http 127.0.0.1:0 --tcp 127.0.0.1:0 --send-rate 0/1 \
    "$@" --ready-file "$work/ready-$name.json" --log-level warn 2>"$work/$name.log" &
  pids+=($!); dxd_pid=$! dxd_port=
  for _ in $(seq 100); do
    [ -s "$work/ready-$name.json" ] && break
    kill -0 "$dxd_pid" 2>/dev/null || return 0
    sleep 0.1
  done
  dxd_port=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["http"])' "$work/ready-$name.json")
}
# The same duplexd on the io_uring loop, for the overload phase, where the
# kernel and the build have it (if not, env.txt says so).
uring_pid= uring_port= mem_pid= mem_port=
if [[ " $phases " == *" overload "* ]]; then
  DUPLEX_LOOP=uring start_duplexd duplexd-uring
  if [ -n "$dxd_port" ]; then uring_pid=$dxd_pid uring_port=$dxd_port; fi
  start_duplexd duplexd-mem --store memory
  [ -n "$dxd_port" ] || { echo "compare-peers: duplexd --store memory did not start" >&2; cat "$work/duplexd-mem.log" >&2; exit 1; }
  mem_pid=$dxd_pid mem_port=$dxd_port
fi
start_duplexd duplexd
[ -n "$dxd_port" ] || { echo "compare-peers: duplexd did not start" >&2; cat "$work/duplexd.log" >&2; exit 1; }

# A port nobody listens on (the peers cannot be told to use port 0).
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# nginx + nchan: one worker; the worker is the process measured.
mkdir -p "$work/nginx"
nchan_port=${NCHAN_PORT:-$(free_port)}
sed -e "s|@PORT@|$nchan_port|; s|@PREFIX@|$work/nginx|g; s|@NCHAN_MODULE@|$nchan_module|" "$root/benchmarks/peers/nginx-nchan.conf.in" >"$work/nginx/nginx.conf"
pin_bg 0 nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!); nginx_master=$!

# Node ws
nodews_port=${NODEWS_PORT:-$(free_port)}
pin_bg 0 node "$root/benchmarks/peers/nodews/server.js" "$nodews_port" >"$work/nodews.log" &
pids+=($!); node_pid=$!
for _ in $(seq 100); do grep -q listening "$work/nodews.log" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
nginx_worker=$(pgrep -P "$nginx_master" | head -1 || true)
[ -n "$nginx_worker" ] || { echo "compare-peers: nginx did not start" >&2; cat "$work/nginx/error.log" >&2; exit 1; }
kill -0 "$node_pid" 2>/dev/null && grep -q listening "$work/nodews.log" ||
  { echo "compare-peers: the Node ws server did not start" >&2; cat "$work/nodews.log" >&2; exit 1; }
kill -0 "$dxd_pid" 2>/dev/null || { echo "compare-peers: duplexd did not start" >&2; cat "$work/duplexd.log" >&2; exit 1; }
# The pids measured must be the servers themselves (not a wrapper).
for p in "$dxd_pid:duplexd" "$nginx_worker:nginx" "$node_pid:node"; do
  [ "$(cat "/proc/${p%%:*}/comm")" = "${p#*:}" ] || { echo "compare-peers: pid ${p%%:*} is not ${p#*:}" >&2; exit 1; }
done

[ -z "$uring_pid" ] || [ "$(cat "/proc/$uring_pid/comm")" = duplexd ] ||
  { echo "compare-peers: pid $uring_pid is not duplexd" >&2; exit 1; }

# A server is duplexd, duplexd-uring, nchan or nodews; its protocol (the
# bench's --target) is that name up to the first "-".
port_of() { case $1 in duplexd) echo "$dxd_port" ;; duplexd-uring) echo "$uring_port" ;; duplexd-mem) echo "$mem_port" ;; nchan) echo "$nchan_port" ;; nodews) echo "$nodews_port" ;; esac; }
pid_of() { case $1 in duplexd) echo "$dxd_pid" ;; duplexd-uring) echo "$uring_pid" ;; duplexd-mem) echo "$mem_pid" ;; nchan) echo "$nginx_worker" ;; nodews) echo "$node_pid" ;; esac; }
transports_of() { case $1 in duplexd) echo "websocket sse longpoll poll tcp" ;; nchan) echo "websocket sse longpoll" ;; nodews) echo websocket ;; esac; }

# Waits (at most 10 s) until every server has been quiet for half a second.
settle() {
  local p ticks before after
  for _ in $(seq 20); do
    before=0 after=0
    for p in $dxd_pid $uring_pid $mem_pid $nginx_worker $node_pid; do
      ticks=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
      before=$((before + ticks))
    done
    sleep 0.5
    for p in $dxd_pid $uring_pid $mem_pid $nginx_worker $node_pid; do
      ticks=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
      after=$((after + ticks))
    done
    [ $((after - before)) -gt 2 ] || return 0
  done
}

# One duplex-bench run: JSON lines tagged with the phase and repeat number.
# A run that could not deliver everything still prints its JSON (with
# "error"): it is a result, not a failure of the script.
# Each line also says which server (duplexd-uring is --target duplexd) and
# the load average when it ended: the machine may be shared.
bench_json() { # phase repeat server args...
  local phase=$1 rep=$2 server=$3
  shift 3
  pin 1 "$bench" --url "http://127.0.0.1:$(port_of "$server")" --target "${server%%-*}" \
    --server-pid "$(pid_of "$server")" --json "$@" 2>>"$work/bench.err" |
    sed "s/^{/{\"phase\":\"$phase\",\"repeat\":$rep,\"server\":\"$server\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",/" || true
}

# One overload point (WebSocket): its JSON line, to which a duplexd adds
# what its /metrics say about the same span (benchmarks/metrics-delta.py).
overload_point() { # phase repeat server subscribers rate
  local port
  port=$(port_of "$3")
  [[ $3 == duplexd* ]] && curl -s "http://127.0.0.1:$port/metrics" >"$work/metrics-before" || true
  bench_json "$1" "$2" "$3" --transport websocket --subscribers "$4" \
    --rate "$5" --duration "$duration" --drain "$overload_drain" >"$work/point.json"
  if [[ $3 == duplexd* ]] && [ -s "$work/point.json" ] &&
    curl -s "http://127.0.0.1:$port/metrics" >"$work/metrics-after"; then
    python3 - "$work/point.json" "$(python3 "$root/benchmarks/metrics-delta.py" "$work/metrics-before" "$work/metrics-after")" <<'PY'
import json, sys
point = json.load(open(sys.argv[1]))
point.update(json.loads(sys.argv[2]))
print(json.dumps(point))
PY
  else
    cat "$work/point.json"
  fi
}

for phase in $phases; do
  case $phase in
  cost)
    : >"$out/cost.jsonl"
    for rep in $(seq "$repeat"); do
      for target in duplexd nchan nodews; do
        bench_json cost "$rep" "$target" --compare --subscribers "$cost_subs" --rate "$cost_rate" \
          --duration "$duration" --drain 15 >>"$out/cost.jsonl"
      done
    done
    ;;
  fanout)
    : >"$out/results.jsonl"
    for rep in $(seq "$fanout_repeat"); do
      for n in $subs_list; do
        for target in duplexd nchan nodews; do
          for t in $(transports_of "$target"); do
            bench_json fanout "$rep" "$target" --transport "$t" --subscribers "$n" --rate "$rate" \
              --duration "$duration" --drain 15 >>"$out/results.jsonl"
          done
        done
      done
    done
    ;;
  capacity)
    : >"$out/capacity.jsonl"
    for rep in $(seq "$repeat"); do
      for r in $cap_rates; do
        for target in duplexd nchan nodews; do
          bench_json capacity "$rep" "$target" --transport websocket --subscribers "$cap_subs" \
            --rate "$r" --duration "$duration" --drain 15 >>"$out/capacity.jsonl"
        done
      done
    done
    ;;
  overload)
    # Interleaved (every server at one point, then the next point), so
    # that a change in the machine's load hits every server alike.
    # A server whose p99 is past the bound (or whose run failed) at two
    # rates in a row is past its capacity: its higher rates are skipped.
    # Before each run the previous server must have gone quiet (a
    # backlogged server keeps its core busy after the bench has left).
    : >"$out/overload.jsonl"
    servers="duplexd duplexd-mem${uring_pid:+ duplexd-uring} nchan nodews"
    for rep in $(seq "$repeat"); do
      for point in $overload_points; do
        n=${point%%:*} rates=${point#*:}
        declare -A past=()
        for r in ${rates//,/ }; do
          for server in $servers; do
            [ "${past[$server]:-0}" -lt 2 ] || continue
            settle
            overload_point overload "$rep" "$server" "$n" "$r" >>"$out/overload.jsonl"
            if python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["latency_ms"]["p99"] <= float(sys.argv[2]) and "error" not in r else 1)' \
                "$work/point.json" "$overload_bound" 2>/dev/null; then
              past[$server]=0
            else
              past[$server]=$(( ${past[$server]:-0} + 1 ))
            fi
            echo "compare-peers: overload $n subscribers, $r msg/s, $server: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
          done
        done
        unset past
      done
    done
    # Twice the capacity, several times: the bound's promise (p99 of what
    # is accepted within it, nothing accepted lost) on its hardest point.
    : >"$out/twice.jsonl"
    n=${overload_points%%:*}
    for server in duplexd duplexd-mem${uring_pid:+ duplexd-uring}; do
      [ "$twice_runs" -gt 0 ] || break
      r=$(python3 - "$out/overload.jsonl" "$server" "$n" "$overload_bound" <<'PY'
import json, math, sys
path, server, n, bound = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
best = 0
for line in open(path):
    r = json.loads(line)
    if r.get("server") == server and r["subscribers"] == n and not r.get("error") \
            and r["delivered"] == r["sent"] * n and r["latency_ms"]["p99"] <= bound:
        best = max(best, r["delivered_per_s"])
print(math.ceil(2 * best / n) if best else 0)
PY
      )
      [ "$r" -gt 0 ] || continue
      for rep in $(seq "$twice_runs"); do
        settle
        overload_point twice "$rep" "$server" "$n" "$r" >>"$out/twice.jsonl"
        echo "compare-peers: twice the capacity, $n subscribers, $r msg/s, $server (run $rep): load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      done
    done
    ;;
  idle)
    # Memory per idle WebSocket connection: RSS while N subscribers are held.
    rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
    idle() { # target
      local pid before after b
      pid=$(pid_of "$1")
      before=$(rss_kb "$pid")
      : >"$work/idle.err"
      pin 1 "$bench" --url "http://127.0.0.1:$(port_of "$1")" --target "$1" \
        --transport websocket --subscribers "$idle_conns" --idle 3 --json 2>"$work/idle.err" >/dev/null &
      b=$!
      for _ in $(seq 600); do grep -q '^ready' "$work/idle.err" 2>/dev/null && break; sleep 0.1; done
      sleep 1
      after=$(rss_kb "$pid")
      wait $b || true
      printf '{"server":"%s","connections":%s,"rss_before_kb":%s,"rss_after_kb":%s}\n' \
        "$1" "$(sed -n 's/^ready //p' "$work/idle.err" | head -1)" "$before" "$after"
    }
    # Once: after a run the freed memory stays in a server's heap, so a
    # second run on the same process would read low.
    : >"$out/idle.jsonl"
    for target in duplexd nchan nodews; do idle "$target" >>"$out/idle.jsonl"; done
    ;;
  *) echo "compare-peers: unknown phase $phase" >&2; exit 2 ;;
  esac
done

{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1024/1024}' /proc/meminfo), $(uname -sr)"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "duplexd: $("$build/src/server/duplexd" --version 2>&1 | head -1), built from $built_from, sqlite store, buildtype $(python3 -c 'import json,sys;print([o["value"] for o in json.load(open(sys.argv[1])) if o["name"]=="buildtype"][0])' "$build/meson-info/intro-buildoptions.json" 2>/dev/null || echo '?')"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //'), nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan), 1 worker"
  echo "node: $(node --version), ws $(node -p 'require("'"$root"'/benchmarks/peers/nodews/node_modules/ws/package.json").version')"
  echo "pinning: servers on CPU 0, duplex-bench on CPU 1 (taskset), nice $nice, autogroup: $(cat /proc/self/autogroup 2>/dev/null || echo none)"
  echo "duplexd with --store memory: $([ -n "$mem_pid" ] && echo "yes (overload phase)" || echo "not run")"
  echo "duplexd on io_uring: $([ -n "$uring_pid" ] && echo "yes (DUPLEX_LOOP=uring)" || echo "not available here (DUPLEX_LOOP=uring did not start)")"
  echo "overload: WebSocket, points $overload_points (subscribers:rates), drain $overload_drain s"
  echo "workload: ${duration} s of publishing, 64-byte texts, repeats $repeat (fanout $fanout_repeat); fanout: $rate msg/s, subscribers $subs_list; cost: $cost_subs subscribers, $cost_rate msg/s; capacity: $cap_subs subscribers, rates $cap_rates; idle: $idle_conns connections"
} >"$out/env.txt"

python3 "$root/benchmarks/plot.py" "$out"
echo "results in $out"
