#!/usr/bin/env python3
"""What a duplexd did between two /metrics snapshots, as one JSON object:
its history store's commits (count, mean, the bucket holding the 50th and
99th percentile) and the sends its delivery bound refused, in all and by
the test that refused them (queued work, a room behind, memory).

  metrics-delta.py BEFORE AFTER  ->  {"store_writes": ..., ...}

compare-peers.sh adds it to every overload point of a duplexd, so that a
point whose accepted messages waited is seen to have waited on the disk
(the store's commit, an fsync) or on the fan-out."""
import json
import math
import re
import sys

SAMPLE = re.compile(r'^([a-z_]+)(?:\{([a-z]+)="([^"]+)"\})? ([0-9.eE+-]+)$')


def read(path):
    values, buckets = {}, {}
    with open(path) as f:
        for line in f:
            m = SAMPLE.match(line.strip())
            if not m:
                continue
            name, label, key, value = m.group(1), m.group(2), m.group(3), float(m.group(4))
            if label is None:
                values[name] = value
            elif label == 'le':
                buckets.setdefault(name, {})[math.inf if key == '+Inf' else float(key)] = value
            else:
                values['%s{%s}' % (name, key)] = value
    return values, buckets


def quantile_le(deltas, total, q):
    """The upper bound of the bucket holding quantile q (inf past the last)."""
    for le in sorted(deltas):
        if deltas[le] >= q * total:
            return le
    return math.inf


def main():
    (v0, b0), (v1, b1) = read(sys.argv[1]), read(sys.argv[2])
    name = 'duplex_store_write_seconds'
    n = v1.get(name + '_count', 0) - v0.get(name + '_count', 0)
    out = {'store_writes': int(n)}
    if n > 0:
        total = v1.get(name + '_sum', 0) - v0.get(name + '_sum', 0)
        deltas = {le: c - b0.get(name + '_bucket', {}).get(le, 0)
                  for le, c in b1.get(name + '_bucket', {}).items()}
        out['store_write_mean_ms'] = round(total / n * 1e3, 2)
        for q, key in ((0.5, 'store_write_p50_le_ms'), (0.99, 'store_write_p99_le_ms')):
            le = quantile_le(deltas, n, q)
            out[key] = None if le == math.inf else round(le * 1e3, 2)
    refused = 'duplex_delivery_refused_total'
    out['delivery_refused'] = int(v1.get(refused, 0) - v0.get(refused, 0))
    for why in ('queued', 'behind', 'memory'):
        key = 'duplex_delivery_refused_why_total{%s}' % why
        out['delivery_refused_' + why] = int(v1.get(key, 0) - v0.get(key, 0))
    print(json.dumps(out))


if __name__ == '__main__':
    main()
