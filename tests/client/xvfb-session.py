#!/usr/bin/env python3
"""Runs a command on its own Xvfb display: xvfb-session.py COMMAND [ARGS...]

Xvfb -displayfd picks a free display number itself, when it binds it, and
tells us which. `xvfb-run -a` instead looks for a free number by its lock
file and starts Xvfb afterwards: when another X server starts at the same
moment (a second test, the Windows suite's Xvfb), both pick the same
number, one Xvfb fails, and xvfb-run still runs the command on a display
it cannot open. The command's exit status is ours; the server dies with it.

The number is not the first free one either: a display just given up by
another server (the Windows suite's Xvfb, which starts at :0) can still be
cleaned up by that server after ours took it, removing our socket. So each
session starts at a number of its own in 200-999 and takes the next one
that is free.

-noreset: by default an X server resets when its last client leaves, and a
client that connects during the reset is refused. at-spi-bus-launcher
connects and leaves just as the window starts: "cannot open display" in
client-ui-tls, twice in CI.
"""

import os
import re
import signal
import subprocess
import sys
import threading


def try_xvfb(num):
    """Xvfb on :num, or None if that display is taken (Xvfb then exits
    without writing the number)."""
    r, w = os.pipe()
    proc = subprocess.Popen(['Xvfb', ':%d' % num, '-displayfd', str(w), '-screen', '0',
                             '1280x800x24', '-nolisten', 'tcp', '-ac', '-noreset'], pass_fds=(w,),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        got = f.readline().strip()
    if got:
        return proc, ':' + got
    proc.kill()
    proc.wait()
    return None


def start_xvfb():
    first = 200 + (os.getpid() * 7919) % 800
    for k in range(64):
        started = try_xvfb(200 + (first - 200 + k) % 800)
        if started:
            return started
    sys.exit('xvfb-session: Xvfb did not start on any of 64 displays')


TAP_LINE = re.compile(r'(ok|not ok|1\.\.|#|TAP version|Bail out!|\s|$)')


def pass_tap(stream):
    """Copy the test's output, commenting out lines that are not TAP: the
    AT-SPI registry the session starts prints a greeting on the stdout it
    inherits, which meson reports as unknown TAP output."""
    for raw in iter(stream.readline, b''):
        line = raw.decode('utf-8', 'replace')
        if not TAP_LINE.match(line):
            line = '# ' + line
        sys.stdout.write(line)
        sys.stdout.flush()


def main():
    if len(sys.argv) < 2:
        sys.exit('usage: xvfb-session.py COMMAND [ARGS...]')
    xvfb, display = start_xvfb()
    env = dict(os.environ, DISPLAY=display)
    env.pop('WAYLAND_DISPLAY', None)
    env.pop('XAUTHORITY', None)
    try:
        child = subprocess.Popen(sys.argv[1:], env=env, stdout=subprocess.PIPE)
        # meson stops a test that runs past its timeout with SIGTERM: pass it on.
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        reader = threading.Thread(target=pass_tap, args=(child.stdout,), daemon=True)
        reader.start()
        status = child.wait()
        # A daemon the session started may hold the pipe a little longer.
        reader.join(timeout=3)
    finally:
        xvfb.terminate()
        try:
            xvfb.wait(timeout=10)
        except subprocess.TimeoutExpired:
            xvfb.kill()
            xvfb.wait()
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == '__main__':
    main()
