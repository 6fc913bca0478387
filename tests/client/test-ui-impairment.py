#!/usr/bin/env python3
"""TAP: drive the network impairment panel and read the TIME_WAIT figures
through AT-SPI, in the real duplex window against the real duplexd.

Open the panel from the header bar, set a delay from the server, turn the
impairment on, see the header bar's indicator and the relay's address, and
see a message posted over HTTP still arrive (through the relay); the
statistics panel shows the TIME_WAIT figures of this computer as a number.

Run under Xvfb with a private D-Bus session:
  xvfb-run -a dbus-run-session -- PYTHON test-ui-impairment.py
Needs DUPLEXD and DUPLEX in the environment."""
import os
import subprocess
import sys
import tempfile
import time

from atspi_util import find, find_app, focus_window, post, pyatspi, start_server


def text_of(node):
    try:
        return node.queryText().getText(0, -1)
    except Exception:
        return ''


def visible(node):
    """GTK reports VISIBLE as the widget's visibility (SHOWING stays unset
    for header bar and popover children under Xvfb)."""
    try:
        return node.getState().contains(pyatspi.STATE_VISIBLE)
    except Exception:
        return False


def click(node, pid):
    """A real click in the middle of the widget."""
    try:
        x, y, w, h = node.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
    except Exception:
        return False
    if w <= 0 or h <= 0:
        return False
    focus_window(pid)
    subprocess.run(['xdotool', 'mousemove', str(x + w // 2), str(y + h // 2), 'click', '1'],
                   check=True)
    return True


def activate(node, pid):
    """The widget's first AT-SPI action (click, toggle), else a real click."""
    try:
        action = node.queryAction()
        if action.nActions > 0 and action.doAction(0):
            return True
    except Exception:
        pass
    return click(node, pid)


def press_space(node, pid):
    focus_window(pid)
    try:
        node.queryComponent().grabFocus()
    except Exception:
        pass
    subprocess.run(['xdotool', 'key', 'space'], check=True)


def value_beside(caption):
    """The figure the grid shows right of its caption."""
    try:
        return caption.parent.getChildAtIndex(caption.getIndexInParent() + 1)
    except Exception:
        return None


def name_of(node):
    try:
        return node.name
    except Exception:
        return None


def value_of(node):
    try:
        return node.queryValue().currentValue
    except Exception:
        return None


def set_spin(node, pid, value):
    """Set a spin button through its AT-SPI value, else type it in."""
    try:
        node.queryValue().currentValue = value
        if value_of(node) == value:
            return
    except Exception:
        pass
    try:
        node.queryComponent().grabFocus()
    except Exception:
        pass
    focus_window(pid)
    try:
        node.queryComponent().grabFocus()
    except Exception:
        pass
    subprocess.run(['xdotool', 'key', 'ctrl+a'], check=True)
    subprocess.run(['xdotool', 'type', '--delay', '20', str(value)], check=True)
    subprocess.run(['xdotool', 'key', 'Tab'], check=True)


def wait_for(pred, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.3)
    return False


def run(base, results):
    room = 'ui-impairment'
    proc = subprocess.Popen([os.environ['DUPLEX'], '--server', base, '--nick', 'ui-relay',
                             '--room', room, '--transport', 'websocket'])
    try:
        app = find_app(proc.pid)
        results.append((app is not None, 'the window is on the AT-SPI bus'))
        if app is None:
            return
        client_caption = find(app, lambda x: x.name == 'TIME_WAIT on this computer'
                              and x.getRole() == pyatspi.ROLE_LABEL)
        server_caption = find(app, lambda x: x.name == 'TIME_WAIT at the server'
                              and x.getRole() == pyatspi.ROLE_LABEL)
        client_tw = value_beside(client_caption) if client_caption else None
        server_tw = value_beside(server_caption) if server_caption else None
        ok = client_tw is not None and wait_for(lambda: (name_of(client_tw) or '').isdigit())
        results.append((ok and server_tw is not None,
                        'the statistics panel shows TIME_WAIT on this computer (%s) and at the '
                        'server (%s)' % (name_of(client_tw), name_of(server_tw))))
        indicator = find(app, lambda x: x.name == 'Impaired network', timeout=10)
        results.append((indicator is None or not visible(indicator),
                        'no impairment indicator while the network is not impaired'))

        button = find(app, lambda x: x.name == 'Network impairment'
                      and x.getRole() != pyatspi.ROLE_LABEL)
        opened = button is not None and click(button, proc.pid)
        delay = find(app, lambda x: x.name == 'Delay from the server'
                     and x.getRole() == pyatspi.ROLE_SPIN_BUTTON, timeout=20)
        switch = find(app, lambda x: x.name == 'Impair the network'
                      and x.getRole() != pyatspi.ROLE_LABEL, timeout=20)
        results.append((opened and delay is not None and switch is not None,
                        'the header bar button opens the impairment panel (button %s, clicked %s, '
                        'delay %s, switch %s)' % (button is not None, opened, delay is not None,
                                                  switch is not None)))
        if delay is None or switch is None:
            return
        set_spin(delay, proc.pid, 300)
        ok = wait_for(lambda: value_of(delay) == 300, 10)
        results.append((ok, 'a delay of 300 ms set in "Delay from the server" (%s)'
                        % value_of(delay)))
        activate(switch, proc.pid)
        indicator = find(app, lambda x: x.name == 'Impaired network' and visible(x), timeout=20)
        status = find(app, lambda x: x.getRole() == pyatspi.ROLE_LABEL
                      and 'through http://127.0.0.1:' in (x.name or ''), timeout=20)
        results.append((indicator is not None and status is not None,
                        'turned on: the header bar says "Impaired network" and the panel names '
                        'the relay (%s)' % (name_of(status) if status else None)))
        time.sleep(2)  # the transport reconnects through the relay
        text = 'through the relay %d' % (int(time.time() * 1000) % 100000)
        post(base, 'bob', room, text)
        shown = find(app, lambda x: x.name == text, timeout=30)
        results.append((shown is not None, 'a message posted over HTTP still arrives'))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    checks = 7
    with tempfile.TemporaryDirectory() as tmp:
        server, ports = start_server(tmp)
        base = 'http://127.0.0.1:%d' % ports['http']
        pyatspi.Registry.getDesktop(0)
        time.sleep(1)
        print('1..%d' % checks)
        results = []
        try:
            run(base, results)
        finally:
            server.terminate()
            server.wait(10)
        while len(results) < checks:
            results.append((False, 'skipped after an earlier failure'))
        failed = False
        for n, (ok, what) in enumerate(results, 1):
            print('%s %d - %s' % ('ok' if ok else 'not ok', n, what), flush=True)
            failed |= not ok
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
