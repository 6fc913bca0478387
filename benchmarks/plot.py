#!/usr/bin/env python3
"""Turns benchmarks/compare-peers.sh results into SVG plots and Markdown tables.

    benchmarks/plot.py OUTDIR [P99_BOUND_MS]

Reads OUTDIR/{cost,results,capacity,idle,overload,twice}.jsonl (whichever exist;
each run may be repeated: every figure is the median over the repeats) and
writes OUTDIR/fanout-throughput.svg, OUTDIR/fanout-p99.svg,
OUTDIR/capacity.svg, OUTDIR/overload-N.svg and OUTDIR/tables.md. Plain SVG,
no plotting library needed.

Capacity: for each server, the highest delivered msgs/s among the rates at
which every message reached every subscriber and the median p99 stayed
within P99_BOUND_MS (default 250). In the overload phase "every message"
means every *accepted* one: a publication the server refused (or that the
publisher held back because the server said wait) is not owed to anyone."""

import json
import math
import os
import statistics
import sys

COLORS = ["#1c71d8", "#e01b24", "#2ec27e", "#f5c211", "#9141ac", "#ff7800",
          "#3d3846", "#63452c", "#00b3b3"]


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def complete(r):
    return r["ready"] == r["subscribers"] and r["delivered"] == r["expected"] and r["expected"] > 0 \
        and r["sent"] == round(r["rate"] * r["duration_s"])


def group(results, key):
    """Median record per key(r): numbers are medians over the repeats."""
    groups = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    out = {}
    for k, rs in groups.items():
        m = dict(rs[0])
        for f in ("delivered_per_s", "bytes_per_delivered", "server_cpu_us_per_delivered",
                  "bench_cpu_us_per_delivered", "http_requests", "empty_polls", "delivered",
                  "expected"):
            m[f] = med([r.get(f) for r in rs])
        m["latency_ms"] = {p: med([r["latency_ms"][p] for r in rs]) for p in ("p50", "p90", "p99", "max")}
        m["runs"] = len(rs)
        m["complete_runs"] = sum(1 for r in rs if complete(r))
        m["errors_seen"] = sorted({r["error"] for r in rs if r.get("error")})
        out[k] = m
    return out


def svg_plot(path, title, xlabel, ylabel, data, log_y=False):
    w, h, ml, mr, mt, mb = 760, 420, 70, 190, 40, 50
    data = {k: [(x, y) for x, y in pts if x > 0] for k, pts in data.items()}
    xs = sorted({x for pts in data.values() for x, _ in pts})
    ys = [y for pts in data.values() for _, y in pts if y > 0]
    if not xs or not ys:
        return False
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
    if lx1 == lx0:
        lx1 = lx0 + 1
    y0 = min(ys) if log_y else 0
    y1 = max(ys) * 1.1
    if log_y and y1 <= y0 * 1.01:
        y1 = y0 * 10

    def px(x):
        return ml + (math.log10(x) - lx0) / (lx1 - lx0) * (w - ml - mr)

    def py(y):
        if log_y:
            y = max(y, y0)
            return h - mb - (math.log10(y) - math.log10(y0)) / (math.log10(y1) - math.log10(y0)) * (h - mt - mb)
        return h - mb - y / y1 * (h - mt - mb)

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>' % (ml, title),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (ml, h - mb, w - mr, h - mb),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (ml, mt, ml, h - mb)]
    for x in xs:
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%g</text>' % (px(x), h - mb + 16, x))
    out.append('<text x="%d" y="%d" text-anchor="middle">%s</text>' % ((ml + w - mr) / 2, h - 12, xlabel))
    for i in range(6):
        y = y0 * (y1 / y0) ** (i / 5) if log_y else y1 * i / 5
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (ml - 6, py(y) + 4, "%.3g" % y))
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (ml, py(y), w - mr, py(y)))
    out.append('<text transform="translate(16,%d) rotate(-90)" text-anchor="middle">%s</text>' % ((mt + h - mb) / 2, ylabel))
    for i, (name, pts) in enumerate(sorted(data.items())):
        c = COLORS[i % len(COLORS)]
        dash = '' if name.startswith("duplexd") else ' stroke-dasharray="6 3"'
        pts = [(x, y) for x, y in pts if y > 0 or not log_y]
        out.append('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>' % (
            c, dash, " ".join("%.1f,%.1f" % (px(x), py(y)) for x, y in pts)))
        for x, y in pts:
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (px(x), py(y), c))
        ly = mt + 16 * i
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>' % (w - mr + 10, ly, w - mr + 34, ly, c, dash))
        out.append('<text x="%d" y="%d">%s</text>' % (w - mr + 40, ly + 4, name))
    out.append('</svg>')
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return True


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def run_note(m):
    if m["complete_runs"] == m["runs"]:
        return ""
    return " (%d of %d runs incomplete)" % (m["runs"] - m["complete_runs"], m["runs"])


def cost_table(cost):
    g = group(cost, lambda r: (r["target"], r["transport"]))
    if not g:
        return []
    any_r = next(iter(g.values()))
    lines = ["", "### Cost per transport (%d subscribers, %g msg/s, %g s; medians of %d runs)" % (
        any_r["subscribers"], any_r["rate"], any_r["duration_s"], any_r["runs"]), "",
        "| server | transport | p50 ms | p99 ms | subscriber requests per delivered msg | bytes per delivered msg | server CPU µs per delivered msg | bench CPU µs per delivered msg |",
        "|---|---|---:|---:|---:|---:|---:|---:|"]
    order = ["poll", "longpoll", "sse", "websocket", "tcp"]
    for (target, tr) in sorted(g, key=lambda k: (["duplexd", "nchan", "nodews"].index(k[0]), order.index(k[1]))):
        m = g[(target, tr)]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |%s" % (
            target, tr, fmt(m["latency_ms"]["p50"]), fmt(m["latency_ms"]["p99"]),
            fmt(m["http_requests"] / m["delivered"] if m["delivered"] else None, "%.4f"),
            fmt(m["bytes_per_delivered"], "%.1f"), fmt(m["server_cpu_us_per_delivered"]),
            fmt(m["bench_cpu_us_per_delivered"]), run_note(m)))
    return lines


def fanout_tables(results):
    g = group(results, lambda r: (r["subscribers"], r["target"], r["transport"]))
    lines = []
    for n in sorted({k[0] for k in g}):
        lines += ["", "### Fan-out, %d subscribers" % n, "",
                  "| server | transport | delivered (median) | delivered/s | p50 ms | p99 ms | bytes/msg | server CPU µs/msg |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for k in sorted(k for k in g if k[0] == n):
            m = g[k]
            lines.append("| %s | %s | %d/%d | %.0f | %s | %s | %s | %s |%s" % (
                k[1], k[2], m["delivered"], m["expected"], m["delivered_per_s"],
                fmt(m["latency_ms"]["p50"]), fmt(m["latency_ms"]["p99"]),
                fmt(m["bytes_per_delivered"], "%.1f"), fmt(m["server_cpu_us_per_delivered"]), run_note(m)))
    return lines, g


def capacity_tables(cap, bound):
    g = group(cap, lambda r: (r["target"], r["rate"]))
    if not g:
        return [], {}
    subs = next(iter(g.values()))["subscribers"]
    lines = ["", "### WebSocket capacity, %d subscribers (medians)" % subs, "",
             "| server | rate msg/s | offered deliveries/s | delivered/s | p50 ms | p99 ms | server CPU µs/msg | complete runs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    best = {}
    for (target, rate) in sorted(g, key=lambda k: (k[0], k[1])):
        m = g[(target, rate)]
        ok = m["complete_runs"] * 2 > m["runs"] and m["latency_ms"]["p99"] <= bound
        if ok and m["delivered_per_s"] > best.get(target, (0, None))[0]:
            best[target] = (m["delivered_per_s"], rate, m["latency_ms"]["p99"])
        lines.append("| %s | %g | %.0f | %.0f | %s | %s | %s | %d/%d |" % (
            target, rate, rate * subs, m["delivered_per_s"], fmt(m["latency_ms"]["p50"]),
            fmt(m["latency_ms"]["p99"]), fmt(m["server_cpu_us_per_delivered"]), m["complete_runs"], m["runs"]))
    lines += ["", "Capacity (highest delivered msgs/s with every message delivered and p99 ≤ %g ms):" % bound, ""]
    for t in ("duplexd", "nchan", "nodews"):
        if t in best:
            lines.append("- %s: %.0f msgs/s (at %g msg/s, p99 %.1f ms)" % (t, best[t][0], best[t][1], best[t][2]))
        elif any(k[0] == t for k in g):
            lines.append("- %s: no rate met the bound" % t)
    if "duplexd" in best:
        for peer in ("nchan", "nodews"):
            if peer in best:
                lines.append("- duplexd / %s: ×%.2f" % (peer, best["duplexd"][0] / best[peer][0]))
    return lines, g


SERVERS = ["duplexd", "duplexd-mem", "duplexd-uring", "nchan", "nodews"]
DUPLEXDS = [s for s in SERVERS if s.startswith("duplexd")]
LIGHT_RATE = 10


def overload_complete(r):
    return r["ready"] == r["subscribers"] and r["sent"] > 0 \
        and r["delivered"] == r["sent"] * r["subscribers"] and not r.get("error")


def gen_cell(m):
    """The generator's CPU per delivery and how busy it was."""
    if m.get("bench_cpu_us_per_delivered") is None:
        return "-"
    sat = " **saturated**" if m.get("bench_saturated") else ""
    return "%.2f µs, %.0f %%%s" % (m["bench_cpu_us_per_delivered"], 100 * m.get("bench_busiest", 0), sat)


def server_cell(m):
    """The server's CPU per delivery and its share of its one core."""
    if m.get("server_cpu_us_per_delivered") is None:
        return "-"
    share = m["server_cpu_ms"] / (m["total_s"] * 1000) if m.get("server_cpu_ms") and m.get("total_s") else None
    return "%.2f µs%s" % (m["server_cpu_us_per_delivered"], "" if share is None else ", %.0f %%" % (100 * share))


def store_cell(m):
    """A duplexd's history store over the point: commits, their mean and
    the bucket of their p99 (what the accepted messages waited on disk)."""
    if not m.get("store_writes"):
        return "-"
    p99 = m.get("store_write_p99_le_ms")
    return "%.1f ms, ≤ %s ms" % (m["store_write_mean_ms"], "%g" % p99 if p99 is not None else "> 1000")


def overload_tables(ov, bound):
    """The overload curve (issue 15): one table per subscriber count, the
    capacity of each server at p99 <= bound, and the light-load row."""
    if not ov:
        return [], {}
    g = group(ov, lambda r: (r["subscribers"], r["rate"], r["server"]))
    for k, m in g.items():
        rs = [r for r in ov if (r["subscribers"], r["rate"], r["server"]) == k]
        m["ok_runs"] = sum(1 for r in rs if overload_complete(r))
        for f in ("sent", "refused", "deferred", "offered", "bench_busiest", "bench_cpu_share",
                  "server_cpu_ms", "total_s", "store_writes", "store_write_mean_ms",
                  "store_write_p99_le_ms"):
            m[f] = med([r.get(f) for r in rs])
        m["bench_saturated"] = sum(1 for r in rs if r.get("bench_saturated")) * 2 > len(rs)
        m["loadavg"] = ", ".join(sorted({r.get("loadavg", "?").split()[0] for r in rs}))
    lines = []
    summary = {}
    for n in sorted({k[0] for k in g}):
        keys = sorted((k for k in g if k[0] == n), key=lambda k: (k[1], SERVERS.index(k[2]) if k[2] in SERVERS else 9))
        lines += ["", "### Overload curve, %d WebSocket subscribers" % n, "",
                  "offered = rate × subscribers deliveries/s; latency of accepted messages only; "
                  "generator = duplex-bench's CPU per delivery and its busiest process's (CPU + run-queue wait) share of the run; "
                  "store = a duplexd's history-store commits over the point (mean, and the histogram bucket of the p99; duplexd-mem keeps nothing on disk).", "",
                  "| offered msg/s | offered deliveries/s | server | accepted / refused / deferred | delivered/s | p50 ms | p99 ms | server CPU per delivery, share of its core | generator CPU per delivery, busy | store commit | load avg |",
                  "|---:|---:|---|---|---:|---:|---:|---:|---|---|---:|"]
        for k in keys:
            m = g[k]
            note = "" if m["ok_runs"] * 2 > m["runs"] else " (incomplete: %s)" % "; ".join(m["errors_seen"]) if m["errors_seen"] else " (incomplete)"
            # (the note in the last cell: text past a row's last pipe is dropped)
            lines.append("| %g | %.0f | %s | %d / %d / %d | %.0f | %s | %s | %s | %s | %s | %s%s |" % (
                k[1], k[1] * n, k[2], m["sent"] or 0, m["refused"] or 0, m["deferred"] or 0,
                m["delivered_per_s"] or 0, fmt(m["latency_ms"]["p50"]), fmt(m["latency_ms"]["p99"]),
                server_cell(m), gen_cell(m), store_cell(m), m["loadavg"], note))
        best, light = {}, {}
        for k in keys:
            m = g[k]
            # light load: 10 msg/s where measured, else the lowest rate
            if k[2] not in light or (k[1] == LIGHT_RATE) or (light[k[2]][0] != LIGHT_RATE and k[1] < light[k[2]][0]):
                light[k[2]] = (k[1], m)
            if m["ok_runs"] * 2 > m["runs"] and m["latency_ms"]["p99"] <= bound \
                    and m["delivered_per_s"] > best.get(k[2], (0,))[0]:
                best[k[2]] = (m["delivered_per_s"], k[1], m)
        summary[n] = best
        lines += ["", "Capacity at %d subscribers (the most delivered/s with every accepted message delivered and p99 ≤ %g ms), and light load:" % (n, bound), "",
                  "| server | capacity deliveries/s | at msg/s | p99 ms there | server there | generator there | light load (%s msg/s) p50 / p99 ms |" % "/".join(sorted({"%g" % v[0] for v in light.values()})),
                  "|---|---:|---:|---:|---|---|---|"]
        for srv in SERVERS:
            if srv not in light:
                continue
            lm = light[srv][1]
            ll = "%s / %s" % (fmt(lm["latency_ms"]["p50"]), fmt(lm["latency_ms"]["p99"]))
            if srv in best:
                c, rate, m = best[srv]
                lines.append("| %s | %.0f | %g | %s | %s | %s | %s |" % (srv, c, rate, fmt(m["latency_ms"]["p99"]), server_cell(m), gen_cell(m), ll))
            else:
                lines.append("| %s | none met the bound | - | - | - | - | %s |" % (srv, ll))
        for srv in DUPLEXDS:
            if srv in best and "nchan" in best:
                lines.append("")
                lines.append("%s / nchan capacity at %d subscribers: **×%.2f**" % (srv, n, best[srv][0] / best["nchan"][0]))
    return lines, g


def twice_table(twice, bound):
    """Each duplexd offered twice its capacity, run after run: the p99 of
    what it accepted, and whether every accepted message reached every
    subscriber (nothing acknowledged lost)."""
    if not twice:
        return []
    lines = ["", "### Offered twice the capacity", "",
             "Each duplexd at the rate offering twice its capacity above, %d run(s) each; "
             "latency of accepted messages only, bound %g ms." % (max(r["repeat"] for r in twice), bound), "",
             "| server | subscribers | msg/s | run | accepted / refused / deferred | delivered/s | all accepted delivered | p50 ms | p99 ms | server CPU | generator CPU | store commit | load avg |",
             "|---|---:|---:|---:|---|---:|---|---:|---:|---:|---|---|---:|"]
    for r in sorted(twice, key=lambda r: (SERVERS.index(r["server"]) if r["server"] in SERVERS else 9, r["repeat"])):
        ok = "yes" if overload_complete(r) else "**no**: %s of %s" % (r["delivered"], r["sent"] * r["subscribers"])
        lines.append("| %s | %d | %g | %d | %d / %d / %d | %.0f | %s | %s | %s | %s | %s | %s | %s |" % (
            r["server"], r["subscribers"], r["rate"], r["repeat"], r["sent"], r.get("refused", 0),
            r.get("deferred", 0), r["delivered_per_s"], ok, fmt(r["latency_ms"]["p50"]),
            fmt(r["latency_ms"]["p99"]), server_cell(r), gen_cell(r), store_cell(r),
            r.get("loadavg", "?").split()[0]))
    return lines


def idle_table(idle):
    if not idle:
        return []
    # Only a server's first idle run counts: after it, freed memory stays
    # in the server's heap (RSS) and the next run's "before" includes it.
    lines = ["", "### Memory per idle WebSocket connection (a fresh server each)", "",
             "| server | connections | RSS before | RSS held | per connection |", "|---|---:|---:|---:|---:|"]
    first = {}
    for i in idle:
        first.setdefault(i["server"], i)
    for server in ("duplexd", "nchan", "nodews"):
        if server not in first:
            continue
        i = first[server]
        per = (i["rss_after_kb"] - i["rss_before_kb"]) * 1024.0 / max(i["connections"], 1)
        lines.append("| %s | %d | %.1f MiB | %.1f MiB | %.2f KiB |" % (
            server, i["connections"], i["rss_before_kb"] / 1024, i["rss_after_kb"] / 1024, per / 1024))
    return lines


def main():
    out = sys.argv[1]
    bound = float(sys.argv[2]) if len(sys.argv) > 2 else 250.0
    cost = load(os.path.join(out, "cost.jsonl"))
    results = load(os.path.join(out, "results.jsonl"))
    cap = load(os.path.join(out, "capacity.jsonl"))
    idle = load(os.path.join(out, "idle.jsonl"))
    ov = load(os.path.join(out, "overload.jsonl"))

    lines = cost_table(cost)
    fl, fg = fanout_tables(results)
    lines += fl
    series = {}
    for (n, target, tr), m in fg.items():
        series.setdefault("%s %s" % (target, tr), []).append((n, m))
    svg_plot(os.path.join(out, "fanout-throughput.svg"),
             "Fan-out: delivered messages per second (median)", "subscribers (log scale)",
             "delivered msgs/s", {k: sorted((n, m["delivered_per_s"]) for n, m in v) for k, v in series.items()})
    svg_plot(os.path.join(out, "fanout-p99.svg"),
             "Fan-out: p99 publish-to-receive latency (median)", "subscribers (log scale)",
             "p99 latency (ms, log)", {k: sorted((n, m["latency_ms"]["p99"]) for n, m in v) for k, v in series.items()},
             log_y=True)
    cl, cg = capacity_tables(cap, bound)
    lines += cl
    cs = {}
    for (target, rate), m in cg.items():
        cs.setdefault(target + " websocket", []).append((m["delivered_per_s"], m["latency_ms"]["p99"]))
    svg_plot(os.path.join(out, "capacity.svg"),
             "WebSocket: p99 latency vs delivered msgs/s (median)", "delivered msgs/s (log scale)",
             "p99 latency (ms, log)", {k: sorted(v) for k, v in cs.items()}, log_y=True)
    lines += idle_table(idle)
    ol, og = overload_tables(ov, bound)
    lines += ol
    lines += twice_table(load(os.path.join(out, "twice.jsonl")), bound)
    for n in sorted({k[0] for k in og}):
        series = {}
        for (m_n, rate, srv), m in og.items():
            if m_n == n:
                series.setdefault(srv, []).append((rate * n, m["latency_ms"]["p99"]))
        svg_plot(os.path.join(out, "overload-%d.svg" % n),
                 "%d subscribers: p99 of accepted messages vs offered load" % n,
                 "offered deliveries/s (log scale)", "p99 latency (ms, log)",
                 {k: sorted(v) for k, v in series.items()}, log_y=True)
    with open(os.path.join(out, "tables.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote plots and tables to", out)


if __name__ == "__main__":
    main()
