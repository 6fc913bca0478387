#!/usr/bin/env python3
"""TAP: drive the real duplex window through AT-SPI, once per transport.

For each mode: start `duplex --server … --nick … --room … --transport MODE
--stats-file PATH`, post a message over HTTP as somebody else and find its
text in the window's accessible tree, then type a reply into the entry
(found by its accessible name), press Enter, and check the server stored it
from our nick; quit with Ctrl+Q and read the statistics export written on
exit.

Run under Xvfb with a private D-Bus session:
  xvfb-run -a dbus-run-session -- PYTHON test-ui.py   (a python3 with pyatspi)
Needs DUPLEXD and DUPLEX (paths of the two programs) in the environment."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from atspi_util import (find, find_app, post, press_enter, pyatspi,
                        start_server, stored, type_into)

MODES = ['poll', 'longpoll', 'sse', 'websocket', 'tcp']


def check_export(path, base, nick, room, mode):
    """The --stats-file export: this run's one mode carried messages, and the
    transport delivered no id twice and skipped none."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return False, 'no readable export (%s)' % e
    modes = {m['mode']: m for m in doc['modes']}
    got = doc['deliveries'].get(room, {})
    ok = (doc['version'] == 1 and doc['server'] == base and doc['nick'] == nick
          and doc['room'] == room and list(modes) == [mode]
          and modes[mode]['messages'] >= 1 and doc['switches'] == []
          and got.get('count', 0) >= 1 and got.get('duplicates') == 0 and got.get('gaps') == 0)
    return ok, '%d messages, deliveries %s' % (modes.get(mode, {}).get('messages', 0), got)


def run_mode(base, mode, tmp):
    nick = 'ui-' + mode
    room = 'ui-' + mode
    env = dict(os.environ)
    stats_file = os.path.join(tmp, 'stats-%s.json' % mode)
    app_proc = subprocess.Popen([os.environ['DUPLEX'], '--server', base, '--nick', nick,
                                 '--room', room, '--transport', mode,
                                 '--stats-file', stats_file], env=env)
    results = []
    try:
        app = find_app(app_proc.pid)
        results.append((app is not None, '%s: the window is on the AT-SPI bus' % mode))
        if app is None:
            return results
        entry = find(app, lambda x: x.name == 'Message'
                     and x.getRole() in (pyatspi.ROLE_ENTRY, pyatspi.ROLE_TEXT))
        # A busy machine exposes the tree slowly: generous timeouts.
        dropdown = find(app, lambda x: x.name == 'Transport')
        messages = find(app, lambda x: x.name == 'Messages'
                        and x.getRole() != pyatspi.ROLE_LABEL)
        missing = [n for n, w in (('entry', entry), ('dropdown', dropdown),
                                  ('message list', messages)) if w is None]
        results.append((not missing,
                        '%s: entry, transport dropdown and message list have accessible names%s'
                        % (mode, ' (missing: %s)' % ', '.join(missing) if missing else '')))
        # Let the transport connect, then post from elsewhere.
        time.sleep(1.5)
        text = 'hello %s from bob %d' % (mode, int(time.time() * 1000) % 100000)
        post(base, 'bob', room, text)
        shown = find(app, lambda x: x.name == text, timeout=45)
        results.append((shown is not None, '%s: a message posted over HTTP appears in the window'
                        % mode))
        if entry is None:
            return results
        reply = 'reply over %s' % mode
        how = type_into(entry, app_proc.pid, reply)
        how2 = press_enter()
        ok = False
        end = time.time() + 20
        while time.time() < end and not ok:
            ok = any(m['from'] == nick and m['text'] == reply for m in stored(base, room))
            time.sleep(0.3)
        results.append((ok, '%s: reply typed into the entry (%s), Enter (%s): stored by the '
                        'server from %s' % (mode, how, how2, nick)))
        # The last mode ends as a session manager or `kill` ends it: SIGTERM
        # must quit as Ctrl+Q does, export included.
        how = 'SIGTERM' if mode == MODES[-1] else 'Ctrl+Q'
        if how == 'SIGTERM':
            app_proc.send_signal(signal.SIGTERM)
        else:
            subprocess.run(['xdotool', 'key', 'ctrl+q'], check=True)
        try:
            status = app_proc.wait(15)
            ok, what = check_export(stats_file, base, nick, room, mode)
            ok = ok and status == 0
            what += ', exit status %d' % status
        except subprocess.TimeoutExpired:
            ok, what = False, 'still running 15 s after %s' % how
        results.append((ok, '%s: %s quits and writes --stats-file: %s' % (mode, how, what)))
    finally:
        app_proc.terminate()
        try:
            app_proc.wait(10)
        except subprocess.TimeoutExpired:
            app_proc.kill()
    return results


def main():
    with tempfile.TemporaryDirectory() as tmp:
        server, ports = start_server(tmp)
        base = 'http://127.0.0.1:%d' % ports['http']
        # Start the accessibility bus and registry before the first app, so
        # it registers with a registry that is already listening.
        pyatspi.Registry.getDesktop(0)
        time.sleep(1)
        print('1..%d' % (5 * len(MODES) + 1))
        n = 1
        failed = False
        usage = subprocess.run([os.environ['DUPLEX'], '--help'], capture_output=True,
                               text=True).stdout
        documented = all(o in usage for o in ('--server=URL', '--nick=NICK', '--room=ROOM',
                                              '--transport=MODE', '--stats-file=PATH'))
        print('%s 1 - --help documents --server, --nick, --room, --transport and --stats-file'
              % ('ok' if documented else 'not ok'), flush=True)
        failed |= not documented
        try:
            for mode in MODES:
                res = run_mode(base, mode, tmp)
                while len(res) < 5:
                    res.append((False, '%s: skipped after an earlier failure' % mode))
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
