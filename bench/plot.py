#!/usr/bin/env python3
"""Turns bench/compare-peers.sh results into SVG plots and Markdown tables.

    bench/plot.py OUTDIR     (reads OUTDIR/results.jsonl and OUTDIR/idle.jsonl)

Writes OUTDIR/fanout-throughput.svg, OUTDIR/fanout-p99.svg and
OUTDIR/tables.md. Plain SVG, no plotting library needed."""

import json
import math
import os
import sys

COLORS = ["#1c71d8", "#e01b24", "#2ec27e", "#f5c211", "#9141ac", "#ff7800",
          "#3d3846", "#63452c", "#00b3b3"]


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def series(results, metric):
    s = {}
    for r in results:
        key = "%s %s" % (r["target"], r["transport"])
        s.setdefault(key, []).append((r["subscribers"], metric(r)))
    return {k: sorted(v) for k, v in s.items()}


def svg_plot(path, title, ylabel, data, log_y=False):
    w, h, ml, mr, mt, mb = 760, 420, 70, 190, 40, 50
    xs = sorted({x for pts in data.values() for x, _ in pts})
    ys = [y for pts in data.values() for _, y in pts if y > 0]
    if not xs or not ys:
        return
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs)) or 1
    if lx1 == lx0:
        lx1 = lx0 + 1
    y0 = min(ys) if log_y else 0
    y1 = max(ys) * 1.1

    def px(x):
        return ml + (math.log10(x) - lx0) / (lx1 - lx0) * (w - ml - mr)

    def py(y):
        if log_y:
            y = max(y, y0)
            return h - mb - (math.log10(y) - math.log10(y0)) / ((math.log10(y1) - math.log10(y0)) or 1) * (h - mt - mb)
        return h - mb - y / y1 * (h - mt - mb)

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>' % (ml, title),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (ml, h - mb, w - mr, h - mb),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (ml, mt, ml, h - mb)]
    for x in xs:
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (px(x), h - mb + 16, x))
    out.append('<text x="%d" y="%d" text-anchor="middle">subscribers (log scale)</text>' % ((ml + w - mr) / 2, h - 12))
    for i in range(6):
        y = y0 * (y1 / y0) ** (i / 5) if log_y else y1 * i / 5
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (ml - 6, py(y) + 4, "%.3g" % y))
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (ml, py(y), w - mr, py(y)))
    out.append('<text transform="translate(16,%d) rotate(-90)" text-anchor="middle">%s</text>' % ((mt + h - mb) / 2, ylabel))
    for i, (name, pts) in enumerate(sorted(data.items())):
        c = COLORS[i % len(COLORS)]
        dash = '' if name.startswith("duplexd") else ' stroke-dasharray="6 3"'
        out.append('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>' % (
            c, dash, " ".join("%.1f,%.1f" % (px(x), py(y)) for x, y in pts if y > 0 or not log_y)))
        ly = mt + 16 * i
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>' % (w - mr + 10, ly, w - mr + 34, ly, c, dash))
        out.append('<text x="%d" y="%d">%s</text>' % (w - mr + 40, ly + 4, name))
    out.append('</svg>')
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def per_s(r):
    return r["delivered_per_s"]


def tables(results, idle):
    lines = []
    for n in sorted({r["subscribers"] for r in results}):
        lines += ["", "### %d subscribers" % n, "",
                  "| server | transport | delivered | delivered/s | p50 ms | p99 ms | requests | bytes/msg | server CPU µs/msg |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in results:
            if r["subscribers"] != n:
                continue
            cpu = r.get("server_cpu_us_per_delivered")
            lines.append("| %s | %s | %d/%d | %.0f | %.2f | %.2f | %d | %.1f | %s |" % (
                r["target"], r["transport"], r["delivered"], r["expected"], per_s(r),
                r["latency_ms"]["p50"], r["latency_ms"]["p99"], r["http_requests"],
                r["bytes_per_delivered"], "%.2f" % cpu if cpu is not None else "-"))
        ws = {r["target"]: r for r in results if r["subscribers"] == n and r["transport"] == "websocket"}
        if "duplexd" in ws:
            for peer in ("nchan", "nodews"):
                if peer in ws and per_s(ws[peer]) > 0:
                    lines.append("")
                    lines.append("WebSocket duplexd/%s at %d subscribers: delivered/s ×%.2f, p99 ×%.2f (lower is better)" % (
                        peer, n, per_s(ws["duplexd"]) / per_s(ws[peer]),
                        ws["duplexd"]["latency_ms"]["p99"] / max(ws[peer]["latency_ms"]["p99"], 1e-9)))
    if idle:
        lines += ["", "### Memory per idle WebSocket connection", "",
                  "| server | connections | RSS before | RSS held | per connection |", "|---|---|---|---|---|"]
        for i in idle:
            per = (i["rss_after_kb"] - i["rss_before_kb"]) * 1024.0 / max(i["connections"], 1)
            lines.append("| %s | %d | %.1f MiB | %.1f MiB | %.2f KiB |" % (
                i["server"], i["connections"], i["rss_before_kb"] / 1024, i["rss_after_kb"] / 1024, per / 1024))
    return "\n".join(lines) + "\n"


def main():
    out = sys.argv[1]
    results = load(os.path.join(out, "results.jsonl"))
    idle = load(os.path.join(out, "idle.jsonl"))
    svg_plot(os.path.join(out, "fanout-throughput.svg"), "Fan-out: delivered messages per second",
             "delivered msgs/s", series(results, per_s))
    svg_plot(os.path.join(out, "fanout-p99.svg"), "Fan-out: p99 publish-to-receive latency",
             "p99 latency (ms, log)", series(results, lambda r: r["latency_ms"]["p99"]), log_y=True)
    with open(os.path.join(out, "tables.md"), "w") as f:
        f.write(tables(results, idle))
    print("wrote plots and tables to", out)


if __name__ == "__main__":
    main()
