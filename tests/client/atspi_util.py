"""Shared AT-SPI helpers for the client's UI tests (test-ui*.py).

Importing this module sets up the environment GTK needs to expose its
accessible tree over AT-SPI (GTK_A11Y=atspi, no NO_AT_BRIDGE) before pyatspi
is loaded, so import it before anything that imports pyatspi.  Run the tests
under Xvfb with a private D-Bus session:
  xvfb-run -a dbus-run-session -- PYTHON test-ui-NAME.py   (a python3 with pyatspi)
DUPLEXD and DUPLEX (paths of the two programs) come from the environment."""
import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

os.environ.pop('NO_AT_BRIDGE', None)
os.environ['GTK_A11Y'] = 'atspi'
import pyatspi  # noqa: E402


def start_server(tmp, extra=()):
    """duplexd on free ports with more arguments `extra`: (process, its ports)."""
    ready = os.path.join(tmp, 'ready.json')
    proc = subprocess.Popen([os.environ['DUPLEXD'], '--http', '127.0.0.1:0', '--tcp',
                             '127.0.0.1:0', '--ready-file', ready, '--store', 'memory',
                             '--log-level', 'warn'] + list(extra))
    for _ in range(200):
        if os.path.exists(ready):
            with open(ready) as f:
                return proc, json.load(f)
        time.sleep(0.05)
    raise RuntimeError('duplexd did not get ready')


def http(url, body=None, token=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode())
    if body is not None:
        req.add_header('Content-Type', 'application/json')
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def post(base, nick, room, text):
    token = http(base + '/api/v1/session', {'nick': nick})['token']
    return http('%s/api/v1/rooms/%s/messages' % (base, room), {'text': text}, token)


def stored(base, room):
    return http('%s/api/v1/rooms/%s/messages?since=0' % (base, room))['messages']


def wait_stored(base, room, text, timeout=15):
    """True once the server holds a message `text` in room."""
    end = time.time() + timeout
    while time.time() < end:
        if any(m['text'] == text for m in stored(base, room)):
            return True
        time.sleep(0.25)
    return False


def walk(node, depth=0):
    if node is None or depth > 40:
        return
    yield node
    try:
        n = node.childCount
    except Exception:
        return
    for i in range(n):
        try:
            child = node.getChildAtIndex(i)
        except Exception:
            continue
        yield from walk(child, depth + 1)


def find_app(pid, timeout=45):
    end = time.time() + timeout
    while time.time() < end:
        desktop = pyatspi.Registry.getDesktop(0)
        for i in range(desktop.childCount):
            try:
                app = desktop.getChildAtIndex(i)
                if app is not None and app.get_process_id() == pid:
                    return app
            except Exception:
                pass
        time.sleep(0.3)
    return None


def find(app, pred, timeout=45):
    end = time.time() + timeout
    while time.time() < end:
        for node in walk(app):
            try:
                if pred(node):
                    return node
            except Exception:
                pass
        time.sleep(0.3)
    return None


def focus_window(pid, title=None):
    """Give the app's X window the keyboard (Xvfb has no window manager).
    With a title, the window of that title, once it is mapped: while a
    dialog is open the app has two windows, and a dialog can be on the
    accessible tree before it is on the screen (a password typed then went
    to the main window)."""
    out = []
    if title:
        try:
            out = subprocess.run(['xdotool', 'search', '--sync', '--onlyvisible', '--pid', str(pid),
                                  '--name', '^%s$' % re.escape(title)],
                                 capture_output=True, text=True, timeout=10).stdout.split()
        except subprocess.TimeoutExpired:
            pass
    if not out:
        out = subprocess.run(['xdotool', 'search', '--sync', '--onlyvisible', '--pid', str(pid)],
                             capture_output=True, text=True, timeout=20).stdout.split()
    if out:
        subprocess.run(['xdotool', 'mousemove', '--window', out[-1], '300', '300'])
        subprocess.run(['xdotool', 'windowfocus', '--sync', out[-1]])


def toplevel_title(node):
    """The title of the window an accessible is in (the ancestor right
    under the application: its role is not always 'frame'), or None."""
    try:
        while node is not None:
            parent = node.parent
            if parent is None:
                return None
            if parent.getRole() == pyatspi.ROLE_APPLICATION:
                return node.name or None
            node = parent
    except Exception:
        pass
    return None


def type_into(entry, pid, text):
    """Real key presses into the entry the accessible tree found."""
    title = toplevel_title(entry)
    try:
        entry.queryComponent().grabFocus()
    except Exception:
        pass
    focus_window(pid, title)
    subprocess.run(['xdotool', 'type', '--delay', '20', text], check=True)
    return 'xdotool'


def press_enter():
    subprocess.run(['xdotool', 'key', 'Return'], check=True)
    return 'xdotool'


def stop(proc, timeout=10):
    """Terminate a program the test started; kill it if it lingers."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def running(proc):
    """Stop proc (stop()) when the block ends, however it ends."""
    try:
        yield proc
    finally:
        stop(proc)


def tap(results):
    """Print (ok, what) pairs as TAP and exit 0 if all passed."""
    print('1..%d' % len(results))
    for i, (ok, what) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', i, what))
    sys.exit(0 if all(ok for ok, _ in results) else 1)
