#!/usr/bin/env python3
"""TAP: a password-protected duplexd (--password-file, docs/protocol.md §9)
through AT-SPI. The client, started without a password, asks for one in a
dialog; a wrong one is refused and said so in the dialog; the right one
connects, and a message typed in the window is stored by the server.
Run under xvfb-run -a dbus-run-session -- PYTHON test-ui-password.py."""
import os
import subprocess
import tempfile

from atspi_util import (find, find_app, press_enter, pyatspi, running, start_server, tap,
                        toplevel_title, type_into, wait_stored)

PASSWORD = 'open sesame'


def password_entry(app):
    """The entry of the dialog on screen: a wrong password closes the dialog
    and a new one asks again, and the old entry may linger on the tree."""
    return find(app, lambda n: n.name == 'Password'
                and n.getRole() in (pyatspi.ROLE_PASSWORD_TEXT, pyatspi.ROLE_TEXT,
                                    pyatspi.ROLE_ENTRY)
                and toplevel_title(n) == 'Server Password', timeout=20)


def chat(app, pid, base):
    """The dialog, a wrong password, the right one, a message: (ok, what) pairs."""
    asked = find(app, lambda n: n.name == 'This server needs a password.', timeout=20)
    yield asked is not None, 'the password dialog appears'
    entry = password_entry(app)
    yield entry is not None, 'it has a password entry'
    if entry is None:
        return
    type_into(entry, pid, 'not it')
    press_enter()
    wrong = find(app, lambda n: n.name.startswith('Wrong password.'), timeout=20)
    yield wrong is not None, 'a wrong password is said to be wrong'
    entry = password_entry(app)
    if entry is None:
        yield False, 'the dialog asks again, with an entry'
        return
    type_into(entry, pid, PASSWORD)
    press_enter()
    state = find(app, lambda n: n.name == 'Connected' and n.getRole() == pyatspi.ROLE_LABEL,
                 timeout=20)
    yield state is not None, 'the right one connects'
    message = find(app, lambda n: n.name == 'Message', timeout=10)
    if message is None:
        yield False, 'the message entry is there'
        return
    type_into(message, pid, 'hello with a password')
    press_enter()
    yield wait_stored(base, 'lobby', 'hello with a password'), \
        'a message typed in the window is stored'


def main():
    with tempfile.TemporaryDirectory() as tmp:
        pw_file = os.path.join(tmp, 'password')
        with open(pw_file, 'w') as f:
            f.write(PASSWORD + '\n')
        server, ports = start_server(tmp, ['--password-file', pw_file])
        base = 'http://127.0.0.1:%d' % ports['http']
        env = dict(os.environ, GSETTINGS_BACKEND='memory')
        with running(server), running(subprocess.Popen(
                [os.environ['DUPLEX'], '--server', base, '--nick', 'uipw', '--room', 'lobby',
                 '--transport', 'websocket'], env=env)) as app_proc:
            app = find_app(app_proc.pid)
            results = [(app is not None, 'the window is on the AT-SPI bus')]
            if app is not None:
                results += list(chat(app, app_proc.pid, base))
            return results


if __name__ == '__main__':
    tap(main())
