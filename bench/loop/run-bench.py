#!/usr/bin/python3
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
    exe = os.path.join(build, "bench", "loop", "loop-bench-" + impl)
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
        return float(out.stdout.split()[1])
    finally:
        srv.terminate()
        srv.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--backend", default="epoll")
    a = ap.parse_args()
    env = dict(os.environ, DUPLEX_LOOP=a.backend)
    results = {}
    for r in range(a.rounds):
        for (wname, mode, conns, size, unit) in WORKLOADS:
            for (pname, sc, cc) in PINNINGS:
                order = ["dx", "uv"] if r % 2 == 0 else ["uv", "dx"]
                for impl in order:
                    v = run_once(a.build, impl, mode, conns, size, a.seconds,
                                 (sc, cc), env)
                    results.setdefault((wname, pname, impl), []).append(v)
                    print("# round %d %s | %s | %s: %.1f %s" %
                          (r + 1, wname, pname, impl, v, unit),
                          file=sys.stderr, flush=True)
    print("| workload | pinning | ours (%s) | libuv | ours / libuv |" % a.backend)
    print("|---|---|---:|---:|---:|")
    for (wname, mode, conns, size, unit) in WORKLOADS:
        for (pname, sc, cc) in PINNINGS:
            dx = results[(wname, pname, "dx")]
            uv = results[(wname, pname, "uv")]
            mdx, muv = statistics.median(dx), statistics.median(uv)
            fmt = "%.0f" if unit != "MB/s" else "%.0f"
            print("| %s | %s | %s %s | %s %s | **%.2f** (rounds: %s) |" % (
                wname, pname, fmt % mdx, unit, fmt % muv, unit, mdx / muv,
                " ".join("%.2f" % (x / y) for x, y in zip(dx, uv))))


if __name__ == "__main__":
    main()
