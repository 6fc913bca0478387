#!/bin/sh
# The cost of TLS per transport (docs/benchmarks.md, "The cost of TLS per
# transport"): plain duplexd against duplexd --tls-cert, side by side, the
# server pinned to CPU 0 and every client to CPU 1.
#
#   benchmarks/tls-cost.sh BUILDDIR [SECONDS]
#
# 1. duplex-bench --compare (100 subscribers, 100 messages/s for 4 s, short
#    polls every 250 ms) against each server: server CPU and bytes per
#    delivered message, p50 latency, per transport.
# 2. openssl s_time against the TLS TCP port for SECONDS (default 8), full
#    handshakes (-new) and resumed ones (-reuse): handshakes counted by the
#    server's /metrics, its CPU time read from /proc, so handshakes per
#    server CPU second = what one core sustains.
# Prints JSON lines (the bench's) and a Markdown summary; needs Linux,
# taskset, openssl, curl and python3.
set -eu
build=${1:?usage: tls-cost.sh BUILDDIR [SECONDS]}
secs=${2:-8}
duplexd=$build/src/server/duplexd
bench=$build/src/loadgen/duplex-bench
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" \
  -out "$tmp/ca.pem" -days 2 -subj /CN=bench-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" \
  -out "$tmp/csr.pem" -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$tmp/ext"
openssl x509 -req -in "$tmp/csr.pem" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial 1 \
  -days 2 -extfile "$tmp/ext" -out "$tmp/cert.pem" 2>/dev/null

start() { # start [TLS flags...]: the server on CPU 0; sets pid, http, tcp
  rm -f "$tmp/ready"
  taskset -c 0 "$duplexd" --http 127.0.0.1:0 --tcp 127.0.0.1:0 --store memory \
    --send-rate 0/1 --log-level warn --ready-file "$tmp/ready" "$@" &
  pid=$!
  while [ ! -s "$tmp/ready" ]; do sleep 0.05; done
  http=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"])' "$tmp/ready")
  tcp=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tcp"])' "$tmp/ready")
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
# The server's CPU time in ns, every thread (as duplex-bench reads it).
cpu_ns() { cat /proc/"$pid"/task/*/schedstat | awk '{n += $1} END {printf "%.0f\n", n}'; }
metric() { curl -s --cacert "$tmp/ca.pem" "https://localhost:$http/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

compare() { # compare URL [bench flags...]
  url=$1; shift
  taskset -c 1 "$bench" --url "$url" --compare --subscribers 100 --rate 100 --duration 4 \
    --poll-interval 250 --server-pid "$pid" --json "$@"
}

start
compare "http://127.0.0.1:$http" | sed 's/^/plain /' > "$tmp/plain"
stop
start --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
compare "https://localhost:$http" --ca "$tmp/ca.pem" | sed 's/^/tls /' > "$tmp/tls"

# s_time closes right after the handshake, before a TLS 1.3 ticket
# arrives: resumption is measured with TLS 1.2 (its ticket is in the
# handshake).
for run in new,tls1_3 new,tls1_2 reuse,tls1_2; do
  mode=${run%,*} version=${run#*,}
  t0=$(cpu_ns) h0=$(metric duplex_tls_handshakes_total) r0=$(metric duplex_tls_resumed_total)
  taskset -c 1 openssl s_time -connect "127.0.0.1:$tcp" -CAfile "$tmp/ca.pem" "-$mode" \
    "-$version" -time "$secs" > /dev/null 2>&1 || true
  t1=$(cpu_ns) h1=$(metric duplex_tls_handshakes_total) r1=$(metric duplex_tls_resumed_total)
  echo "handshakes $mode $version $((h1 - h0)) $((r1 - r0)) $((t1 - t0)) $secs" >> "$tmp/hs"
done
stop

cat "$tmp/plain" "$tmp/tls" "$tmp/hs"
python3 - "$tmp/plain" "$tmp/tls" "$tmp/hs" <<'EOF'
import json, sys
rows = {}
for path in sys.argv[1:3]:
    for line in open(path):
        kind, js = line.split(" ", 1)
        r = json.loads(js)
        rows.setdefault(r["transport"], {})[kind] = r
print("| transport | delivered plain / TLS | server CPU µs per delivered message, plain | with TLS | bytes per delivered message, plain | with TLS | p50 latency ms, plain | with TLS |")
print("|---|---|---|---|---|---|---|---|")
for t, d in rows.items():
    p, s = d["plain"], d["tls"]
    print("| %s | %d / %d | %.2f | %.2f | %.1f | %.1f | %.1f | %.1f |" % (
        t, p["delivered"], s["delivered"], p["server_cpu_us_per_delivered"],
        s["server_cpu_us_per_delivered"], p["bytes_per_delivered"], s["bytes_per_delivered"],
        p["latency_ms"]["p50"], s["latency_ms"]["p50"]))
print()
print("| handshakes (openssl s_time) | done | resumed | per wall second | server CPU s | µs of server CPU each | per server CPU second |")
print("|---|---|---|---|---|---|---|")
for line in open(sys.argv[3]):
    _, mode, version, n, resumed, ns, secs = line.split()
    n, resumed, cpu = int(n), int(resumed), int(ns) / 1e9
    print("| %s %s | %d | %d | %.0f | %.2f | %.0f | %.0f |" % (
        "full" if mode == "new" else "resumed", version.replace("tls1_", "TLS 1."), n, resumed,
        n / int(secs), cpu, cpu / n * 1e6 if n else 0, n / cpu if cpu else 0))
EOF
