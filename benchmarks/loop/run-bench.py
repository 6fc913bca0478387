#!/usr/bin/env python3
"""Run the event-loop micro-benchmark: ours (loop-bench-dx) vs libuv
(loop-bench-uv), same workload, pinned with taskset, several rounds, the
two implementations alternating inside each round. Prints a Markdown table
of medians and ratios (ours / libuv).

usage: run-bench.py BUILD_DIR [--rounds N] [--seconds S] [--backend epoll|poll]
"""
import argparse
import os
import statistics
import subprocess
import sys

WORKLOADS = [
    # name, mode, conns, size, unit
    ("ping-pong, 1 conn, 64 B", "pingpong", 1, 64, "round trips/s"),
    ("ping-pong, 100 conns, 64 B", "pingpong", 100, 64, "round trips/s"),
    ("echo throughput, 1 conn, 64 KiB writes", "throughput", 1, 65536, "MB/s"),
    ("echo throughput, 10 conns, 16 KiB writes", "throughput", 10, 16384, "MB/s"),
]
PINNINGS = [
    ("server core 0, client core 1", "0", "1"),
    ("both on core 0", "0", "0"),
]


def run_once(build, impl, mode, conns, size, seconds, cores, env):
    """-> (rate, total count, client cpu us, server cpu us)"""
    exe = os.path.join(build, "benchmarks", "loop", "loop-bench-" + impl)
    srv = subprocess.Popen(["taskset", "-c", cores[0], exe, "server"],
                           stdout=subprocess.PIPE, env=env, text=True)
    try:
        port = srv.stdout.readline().strip()
        out = subprocess.run(
            ["taskset", "-c", cores[1], exe, mode, port, str(seconds),
             str(conns), str(size)],
            capture_output=True, text=True, env=env, timeout=seconds + 30)
        if out.returncode != 0:
            sys.exit("%s %s failed: %s" % (impl, mode, out.stderr))
        f = out.stdout.split()
    finally:
        srv.terminate()
    rest = srv.communicate(timeout=10)[0].split()
    if len(rest) != 2 or rest[0] != "cpu":
        sys.exit("%s server did not report its CPU time (exit %s): %r" %
                 (impl, srv.returncode, rest))
    server_cpu = float(rest[1])
    return float(f[1]), float(f[2]), float(f[3]), server_cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--backend", default="epoll")
    a = ap.parse_args()
    env = dict(os.environ, DUPLEX_LOOP=a.backend)
    load_start = open("/proc/loadavg").read().split()[:3]
    results = {}
    cpus = {}
    for r in range(a.rounds):
        for (wname, mode, conns, size, unit) in WORKLOADS:
            for (pname, sc, cc) in PINNINGS:
                order = ["dx", "uv"] if r % 2 == 0 else ["uv", "dx"]
                for impl in order:
                    v, total, ccpu, scpu = run_once(
                        a.build, impl, mode, conns, size, a.seconds, (sc, cc), env)
                    # CPU µs (client + server) per round trip or per MB.
                    per = total if mode == "pingpong" else total / 1e6
                    cpu = (ccpu + scpu) / per
                    results.setdefault((wname, pname, impl), []).append(v)
                    cpus.setdefault((wname, pname, impl), []).append(cpu)
                    print("# round %d %s | %s | %s: %.1f %s, %.2f CPU us per %s" %
                          (r + 1, wname, pname, impl, v, unit, cpu,
                           "round trip" if mode == "pingpong" else "MB"),
                          file=sys.stderr, flush=True)
    load_end = open("/proc/loadavg").read().split()[:3]
    print("load average before: %s, after: %s; %d rounds x %d s per run; "
          "backend %s" % (" ".join(load_start), " ".join(load_end),
                          a.rounds, a.seconds, a.backend))
    print()
    print("| workload | pinning | ours | libuv | rate: ours / libuv | CPU per op: libuv / ours |")
    print("|---|---|---:|---:|---:|---:|")
    for (wname, mode, conns, size, unit) in WORKLOADS:
        for (pname, sc, cc) in PINNINGS:
            dx = results[(wname, pname, "dx")]
            uv = results[(wname, pname, "uv")]
            ratios = [x / y for x, y in zip(dx, uv)]
            cdx = cpus[(wname, pname, "dx")]
            cuv = cpus[(wname, pname, "uv")]
            cratios = [y / x for x, y in zip(cdx, cuv)]
            print("| %s | %s | %.0f %s | %.0f %s | **%.2f** (%.2f-%.2f) | **%.2f** (%.2f-%.2f) |" % (
                wname, pname, statistics.median(dx), unit,
                statistics.median(uv), unit, statistics.median(ratios),
                min(ratios), max(ratios), statistics.median(cratios),
                min(cratios), max(cratios)))

if __name__ == "__main__":
    main()
