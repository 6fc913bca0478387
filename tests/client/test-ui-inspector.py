#!/usr/bin/env python3
"""TAP: the wire inspector of the real duplex window, driven through AT-SPI.

WebSocket: the header bar's toggle (found by its accessible name) opens the
inspector, which shows the upgrade request, the `101` answer, then frames —
among them one carrying a message posted over HTTP meanwhile.
Short polling: Ctrl+I opens it; each poll is one request and one response,
and an empty poll's response has more header bytes than body bytes.

Run under Xvfb with a private D-Bus session (see atspi_util)."""
import os
import re
import subprocess
import sys
import tempfile
import time

from atspi_util import find, find_app, focus_window, post, pyatspi, start_server

BYTES = re.compile(r'hdr (\d+) B \+ body (\d+) B')


def rows(app):
    """The inspector's row texts (the visible ones)."""
    out = []
    list_view = find(app, lambda x: x.name == 'Wire traffic' and x.getRole() != pyatspi.ROLE_LABEL,
                     timeout=10)
    if list_view is None:
        return out

    def walk(node, depth=0):
        if node is None or depth > 8:
            return
        try:
            if node.getRole() == pyatspi.ROLE_LABEL and node.name:
                out.append(node.name)
            for i in range(node.childCount):
                walk(node.getChildAtIndex(i), depth + 1)
        except Exception:
            pass
    walk(list_view)
    return out


def wait_rows(app, pred, timeout=30):
    end = time.time() + timeout
    got = []
    while time.time() < end:
        got = rows(app)
        if pred(got):
            return True, got
        time.sleep(0.5)
    return False, got


def start_app(base, mode, room):
    return subprocess.Popen([os.environ['DUPLEX'], '--server', base, '--nick', 'inspector',
                             '--room', room, '--transport', mode])


def stop_app(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_websocket(base):
    results = []
    proc = start_app(base, 'websocket', 'insp-ws')
    try:
        app = find_app(proc.pid)
        # GTK 4.8 reports a toggle button as a push button.
        toggle = app and find(app, lambda x: x.name == 'Wire inspector'
                              and x.getRole() in (pyatspi.ROLE_TOGGLE_BUTTON,
                                                  pyatspi.ROLE_PUSH_BUTTON))
        results.append((toggle is not None,
                        'websocket: the header bar has a "Wire inspector" toggle button'))
        if toggle is None:
            return results
        tip = toggle.description or ''
        results.append(('Ctrl+I' in tip, 'websocket: its tooltip names the shortcut (%r)' % tip))
        time.sleep(1.5)
        action = toggle.queryAction()
        action.doAction(0)
        ok, got = wait_rows(app, lambda r: any('→ HTTP' in t and 'GET /api/v1/ws HTTP/1.1' in t
                                               for t in r)
                            and any('← HTTP' in t and '101 Switching Protocols' in t for t in r))
        results.append((ok, 'websocket: the inspector shows the upgrade request and the 101 '
                        '(%d rows)' % len(got)))
        order = [i for i, t in enumerate(got) if '101 Switching Protocols' in t]
        frames = [t for t in got if ' WS ' in t and 'text FIN' in t]
        ok = bool(order) and any(i > order[0] for i, t in enumerate(got) if ' WS ' in t)
        results.append((ok and any('→ WS' in t and 'MASK' in t for t in frames)
                        and any('← WS' in t and 'MASK' not in t for t in frames),
                        'websocket: then frames, ours masked, the server\'s not (%d frames)'
                        % len(frames)))
        text = 'inspected %d' % (int(time.time() * 1000) % 100000)
        post(base, 'bob', 'insp-ws', text)
        ok, got = wait_rows(app, lambda r: any('← WS' in t and text in t for t in r))
        good = ok and all(int(m.group(1)) in (2, 4, 10) for m in
                          (BYTES.search(t) for t in got if '← WS' in t and text in t) if m)
        results.append((good, 'websocket: a message posted over HTTP arrives as a text frame '
                        'with a 2/4/10-byte header'))
    finally:
        stop_app(proc)
    return results


def run_poll(base):
    results = []
    proc = start_app(base, 'poll', 'insp-poll')
    try:
        app = find_app(proc.pid)
        results.append((app is not None, 'poll: the window is on the AT-SPI bus'))
        if app is None:
            return results
        find(app, lambda x: x.name == 'Message' and x.getRole() in (pyatspi.ROLE_ENTRY,
                                                                   pyatspi.ROLE_TEXT))
        time.sleep(1)
        focus_window(proc.pid)
        subprocess.run(['xdotool', 'key', 'ctrl+i'], check=True)
        # The default interval is 2 s: a few polls come by.
        ok, got = wait_rows(app, lambda r: sum('200 OK' in t for t in r) >= 3, timeout=40)
        requests = [t for t in got if '→ HTTP' in t and '/rooms/insp-poll/messages?since=' in t]
        responses = [t for t in got if '← HTTP' in t and 'HTTP/1.1 200 OK' in t]
        results.append((ok, 'poll: Ctrl+I opens the inspector; polls are shown (%d rows)'
                        % len(got)))
        # Each poll is one request and one answer (the newest may be on its way).
        results.append((len(requests) >= 3 and len(requests) - len(responses) in (0, 1),
                        'poll: one request and one response per poll (%d requests, %d responses)'
                        % (len(requests), len(responses))))
        sizes = [tuple(map(int, BYTES.search(t).groups())) for t in responses if BYTES.search(t)]
        results.append((bool(sizes) and all(h > b for h, b in sizes),
                        'poll: empty polls carry more header bytes than body bytes (%s)'
                        % ', '.join('%d>%d' % s for s in sizes[:4])))
    finally:
        stop_app(proc)
    return results


def main():
    with tempfile.TemporaryDirectory() as tmp:
        server, ports = start_server(tmp)
        base = 'http://127.0.0.1:%d' % ports['http']
        pyatspi.Registry.getDesktop(0)
        time.sleep(1)
        plan = [(run_websocket, 5), (run_poll, 4)]
        print('1..%d' % sum(n for _, n in plan))
        n = 0
        failed = False
        try:
            for fn, count in plan:
                res = fn(base)
                while len(res) < count:
                    res.append((False, '%s: skipped after an earlier failure' % fn.__name__))
                for ok, what in res:
                    n += 1
                    print('%s %d - %s' % ('ok' if ok else 'not ok', n, what), flush=True)
                    failed |= not ok
        finally:
            server.terminate()
            server.wait(10)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
