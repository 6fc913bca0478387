#!/usr/bin/env python3
"""TAP: UDP mode through AT-SPI (docs/protocol.md §8). duplexd runs with
--udp and a fast ticker; the client starts in WebSocket mode with 20 %
simulated UDP loss. Ctrl+6 switches to "UDP datagrams"; the UDP figures
appear, ticker messages and a gap notice show in the list and the gap
counter rises; the repair switch (off by default) is turned on, and the
missing ids come back over HTTP, marked "repaired", until none is missing.
Run under xvfb-run -a dbus-run-session -- PYTHON test-ui-udp.py."""
import json
import os
import subprocess
import tempfile
import time

from atspi_util import find, find_app, focus_window, pyatspi, stop, tap

LOSS = 20


def start_server(tmp):
    ready = os.path.join(tmp, 'ready.json')
    proc = subprocess.Popen([os.environ['DUPLEXD'], '--http', '127.0.0.1:0', '--tcp',
                             '127.0.0.1:0', '--udp', '127.0.0.1:0', '--ready-file', ready,
                             '--store', 'memory', '--log-level', 'warn',
                             '--ticker', 'lobby:150'])
    for _ in range(200):
        if os.path.exists(ready):
            with open(ready) as f:
                return proc, json.load(f)
        time.sleep(0.05)
    raise RuntimeError('duplexd did not get ready')


def named(name):
    return lambda n: n.name == name


def figures(grid):
    """The UDP grid's name → value labels (attached name, value, name, …)."""
    labels = [grid.getChildAtIndex(i).name for i in range(grid.childCount)]
    return dict(zip(labels[0::2], (int(v) for v in labels[1::2])))


def wait_for(cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.3)
    return cond()


def main():
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        server, ports = start_server(tmp)
        base = 'http://127.0.0.1:%d' % ports['http']
        env = dict(os.environ, GSETTINGS_BACKEND='memory')
        app_proc = subprocess.Popen([os.environ['DUPLEX'], '--server', base, '--nick', 'uiudp',
                                     '--room', 'lobby', '--transport', 'websocket',
                                     '--udp-loss', str(LOSS)], env=env)
        try:
            app = find_app(app_proc.pid)
            results.append((app is not None, 'the window is on the AT-SPI bus'))
            if app is None:
                return results
            find(app, named('Message'))
            focus_window(app_proc.pid)
            subprocess.run(['xdotool', 'key', 'ctrl+6'], check=True)
            grid = find(app, lambda n: n.name == 'UDP statistics'
                        and n.getState().contains(pyatspi.STATE_VISIBLE), timeout=20)
            results.append((grid is not None, 'Ctrl+6: UDP mode shows its figures'))
            if grid is None:
                return results
            dropdown = find(app, named('Transport'))
            shown = dropdown is not None and any(
                n.name == 'UDP datagrams' for n in (dropdown.getChildAtIndex(i)
                                                    for i in range(dropdown.childCount)))
            results.append((shown or find(app, named('UDP datagrams'), timeout=5) is not None,
                            'the dropdown names "UDP datagrams"'))
            gap_row = find(app, lambda n: n.name.startswith('Gap: id'), timeout=40)
            results.append((gap_row is not None, 'a gap notice in the message list: %s'
                            % (gap_row.name if gap_row else None)))
            got = wait_for(lambda: figures(grid).get('Gaps (ids skipped)', 0) > 0
                           and figures(grid), 20)
            results.append((bool(got), 'the gap counter rises with %d %% loss: %s'
                            % (LOSS, got or figures(grid))))
            switch = find(app, lambda n: n.name == 'Repair gaps over HTTP'
                          and n.getRole() != pyatspi.ROLE_LABEL)
            off = switch is not None and not switch.getState().contains(pyatspi.STATE_CHECKED)
            results.append((off, 'repair is off by default'))
            if switch is None:
                return results
            action = switch.queryAction()
            action.doAction(0)
            on = wait_for(lambda: switch.getState().contains(pyatspi.STATE_CHECKED), 5)
            results.append((on, 'the repair switch turns on'))
            # The ticker keeps losing datagrams: repaired ones appear, and
            # every gap seen is soon repaired (or came late).
            badge = find(app, named('repaired'), timeout=30)
            results.append((badge is not None, 'a repaired message carries its badge'))
            got = wait_for(lambda: (lambda f: f.get('Repaired over HTTP', 0) > 0
                                    and f.get('Ids still missing', 1) == 0 and f)(figures(grid)),
                           30)
            results.append((bool(got), 'with repair no id stays missing: %s'
                            % (got or figures(grid))))
        finally:
            stop(app_proc)
            stop(server)
    return results


if __name__ == '__main__':
    tap(main())
