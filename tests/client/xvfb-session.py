#!/usr/bin/env python3
"""Runs a command on its own Xvfb display: xvfb-session.py COMMAND [ARGS...]

Xvfb -displayfd picks a free display number itself, when it binds it, and
tells us which. `xvfb-run -a` instead looks for a free number by its lock
file and starts Xvfb afterwards: when another X server starts at the same
moment (a second test, the Windows suite's Xvfb), both pick the same
number, one Xvfb fails, and xvfb-run still runs the command on a display
it cannot open. The command's exit status is ours; the server dies with it.
"""

import os
import signal
import subprocess
import sys


def start_xvfb():
    r, w = os.pipe()
    proc = subprocess.Popen(['Xvfb', '-displayfd', str(w), '-screen', '0', '1280x800x24',
                             '-nolisten', 'tcp', '-ac'], pass_fds=(w,), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        num = f.readline().strip()
    if not num:
        proc.kill()
        proc.wait()
        sys.exit('xvfb-session: Xvfb did not start')
    return proc, ':' + num


def main():
    if len(sys.argv) < 2:
        sys.exit('usage: xvfb-session.py COMMAND [ARGS...]')
    xvfb, display = start_xvfb()
    env = dict(os.environ, DISPLAY=display)
    env.pop('WAYLAND_DISPLAY', None)
    env.pop('XAUTHORITY', None)
    try:
        child = subprocess.Popen(sys.argv[1:], env=env)
        # meson stops a test that runs past its timeout with SIGTERM: pass it on.
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        status = child.wait()
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
