#!/usr/bin/env python3
"""Lists the #include circles between units in src/ and exits 1 if there
is any (0 if none).

    scripts/check-include-cycles.py [SRC_DIR]      (default: src/ of this tree)

A unit is a .c file with its .h (src/server/hub.c and src/server/hub.h are
the unit server/hub). A header X-private.h belongs to unit X when X.c or
X.h exists (it is X's inside, shared by X's files), else it is a unit of
its own. Unit A depends on unit B when one of A's files includes one of
B's; a circle is a path of such dependencies from a unit back to itself,
e.g. server.c includes http-conn.h and http-conn.c includes server.h.
Includes are resolved as the compiler does with `-Isrc`: next to the
including file first, then from SRC_DIR; <system> headers and names that
resolve to no file under SRC_DIR are ignored.

Each circle is printed once, as the units in order and, for each step, the
include that makes it (file:line). Run as the meson test 'include-cycles'
(suite 'lint').
"""

import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
MAX_CYCLES_PER_GROUP = 200


def source_files(src):
    out = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(('.c', '.h')):
                out.append(os.path.relpath(os.path.join(dirpath, name), src))
    return out


def unit_of(path, files):
    """server/hub.c -> server/hub; platform/loop-private.h -> platform/loop
    if platform/loop.c or .h exists."""
    stem = path[:-2]
    if stem.endswith('-private'):
        owner = stem[:-len('-private')]
        if owner + '.c' in files or owner + '.h' in files:
            return owner
    return stem


def resolve(src, including, name, files):
    here = os.path.normpath(os.path.join(os.path.dirname(including), name))
    if here in files:
        return here
    there = os.path.normpath(name)
    if there in files:
        return there
    return None


def strongly_connected(graph):
    """Tarjan, iterative: the components with more than one unit."""
    index = {}
    low = {}
    on_stack = set()
    stack = []
    groups = []
    counter = [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def elementary_cycles(graph, group, limit):
    """Each simple cycle inside one component once, starting at its
    smallest unit (a DFS from every unit over larger units only)."""
    members = set(group)
    cycles = []
    for start in sorted(group):
        path = [start]
        on_path = {start}
        work = [iter(sorted(n for n in graph[start] if n in members and n >= start))]
        while work and len(cycles) < limit:
            step = next(work[-1], None)
            if step is None:
                work.pop()
                on_path.discard(path.pop())
                continue
            if step == start:
                cycles.append(list(path))
            elif step not in on_path:
                path.append(step)
                on_path.add(step)
                work.append(iter(sorted(n for n in graph[step] if n in members and n >= start)))
    return cycles


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', 'src')
    shown = sys.argv[1] if len(sys.argv) > 1 else 'src/'
    if not os.path.isdir(src):
        print('check-include-cycles: no directory %s' % src, file=sys.stderr)
        return 2
    files = set(source_files(src))
    graph = {}
    evidence = {}  # (unit, unit) -> first "file:line includes name"
    for path in sorted(files):
        unit = unit_of(path, files)
        graph.setdefault(unit, set())
        with open(os.path.join(src, path), encoding='utf-8', errors='replace') as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = resolve(src, path, m.group(1), files)
                if target is None:
                    continue
                other = unit_of(target, files)
                if other == unit:
                    continue
                graph[unit].add(other)
                graph.setdefault(other, set())
                evidence.setdefault((unit, other), '%s:%d includes "%s"' % (path, lineno, m.group(1)))

    groups = strongly_connected(graph)
    total = 0
    for group in groups:
        cycles = elementary_cycles(graph, group, MAX_CYCLES_PER_GROUP)
        print('circle group of %d units: %s' % (len(group), ' '.join(group)))
        for cycle in cycles:
            total += 1
            ring = cycle + [cycle[0]]
            print('  ' + ' -> '.join(ring))
            for a, b in zip(ring, ring[1:]):
                print('      %s' % evidence[(a, b)])
        if len(cycles) >= MAX_CYCLES_PER_GROUP:
            print('  (more circles in this group not listed)')
    if groups:
        print('check-include-cycles: %d circle(s) in %d group(s) of units under %s'
              % (total, len(groups), shown))
        return 1
    print('check-include-cycles: no #include circle between the %d units under %s'
          % (len(graph), shown))
    return 0


if __name__ == '__main__':
    sys.exit(main())
