#!/usr/bin/env python3
"""duplex.exe under Wine, on Xvfb, used the way a person would (TAP).

The bundle's duplex.exe (so a DLL, schema or translation missing from the
bundle fails here) talks to duplexd.exe (IOCP, its default store, a ticker
in the room), both under Wine. The test finds the window with xdotool,
clicks into the message entry, types a message and presses Enter, and
checks through the HTTP API that the server stored it from that nick. It
then switches the transport live through all five modes with Ctrl+1..5
(checked on the server's /metrics; where Wine drops the shortcut it opens
the transport dropdown with the mouse and picks the mode with the arrow
keys), takes a screenshot, closes the window politely (WM_CLOSE, as a
click on X would) and reads the statistics export duplex.exe writes on
exit (--stats-file): every mode delivered, and no id was lost or repeated.

Environment: DUPLEX_EXE, DUPLEXD_EXE (the .exe files), DUPLEX_TEST_DIR
(where the Wine prefix, logs and screenshot go; the prefix is kept between
runs), DUPLEX_SCREENSHOT (optional: copy the screenshot there).
Own Xvfb and own Wine prefix: the wineserver of scripts/wine-env.sh runs
without a display, and this prefix's `wineserver -k` at the end touches
nothing else.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

DUPLEX_EXE = os.environ.get("DUPLEX_EXE", "")
DUPLEXD_EXE = os.environ.get("DUPLEXD_EXE", "")
TEST_DIR = os.path.abspath(os.environ.get("DUPLEX_TEST_DIR", "."))
MODES = ["poll", "longpoll", "sse", "websocket", "tcp"]
NICK, ROOM = "alice", "lobby"
TEXT = "hello from duplex.exe under Wine"
TEXT2 = "same window, now over WebSocket"
TICK_MS = 400       # the server's ticker: one message per TICK_MS in ROOM
DWELL = 6.0         # seconds in each mode (poll asks every 2 s)
FONTS = "/usr/share/wine/fonts"  # Debian package fonts-wine

PLAN = 10
_n = [0]
_failed = [0]


def tap(ok, desc, diag=""):
    _n[0] += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", _n[0], desc), flush=True)
    if not ok:
        _failed[0] += 1
        for line in str(diag).splitlines():
            print("# " + line, flush=True)
    return ok


def bail(reason):
    print("# " + reason, flush=True)
    while _n[0] < PLAN:
        tap(False, "not reached: " + reason)
    sys.exit(1)


def note(msg):
    print("# %s" % msg, flush=True)


class Wine:
    """A Wine prefix of this test's own, on the test's X display."""

    def __init__(self, prefix, display, log):
        self.prefix = prefix
        self.log = log
        self.env = dict(os.environ, WINEPREFIX=prefix, WINEDEBUG="-all", WINEARCH="win64",
                        WINEDLLOVERRIDES="mscoree,mshtml=", DISPLAY=display)
        self.env.pop("WAYLAND_DISPLAY", None)

    def run(self, *args, timeout=120, env=None):
        # Never meson's pipes: Wine's services outlive this call and would
        # keep them open.
        return subprocess.run(list(args), env=env or self.env, stdin=subprocess.DEVNULL,
                              stdout=self.log, stderr=self.log, timeout=timeout)

    def start(self, *args, env=None, stdout=None):
        return subprocess.Popen(["wine"] + list(args), env=env or self.env,
                                stdin=subprocess.DEVNULL, stdout=stdout or self.log,
                                stderr=self.log)

    def prepare(self):
        marker = os.path.join(self.prefix, ".duplex-client-ready")
        if not os.path.exists(marker):
            note("creating Wine prefix %s (once)" % self.prefix)
            os.makedirs(self.prefix, exist_ok=True)
            self.run("wineboot", "-i", timeout=300)
            # GTK takes its UI font from Windows' message font, "Tahoma",
            # which Debian's Wine does not ship: without it every glyph is a
            # box. Copy fonts-wine's Tahoma in and register it.
            fonts = os.path.join(self.prefix, "drive_c", "windows", "Fonts")
            os.makedirs(fonts, exist_ok=True)
            key = r"HKLM\Software\Microsoft\Windows NT\CurrentVersion\Fonts"
            for f, name in (("tahoma.ttf", "Tahoma (TrueType)"),
                            ("tahomabd.ttf", "Tahoma Bold (TrueType)")):
                shutil.copy(os.path.join(FONTS, f), fonts)
                self.run("wine", "reg", "add", key, "/v", name, "/t", "REG_SZ", "/d", f, "/f")
            self.run("wineserver", "-w")
            open(marker, "w").close()
        self.run("wineserver", "-p")
        self.run("wine", "cmd", "/c", "exit")

    def kill_all(self):
        try:
            self.run("wineserver", "-k", timeout=30)
        except subprocess.TimeoutExpired:
            pass


def start_xvfb():
    """-noreset: an X server resets when its last client leaves and refuses
    whoever connects meanwhile (Wine's helpers come and go; the same race
    made the Linux UI tests fail, tests/client/xvfb-session.py)."""
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24",
                             "-nolisten", "tcp", "-noreset"], pass_fds=(w,), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        num = f.readline().strip()
    if not num:
        proc.kill()
        raise RuntimeError("Xvfb did not start")
    return proc, ":" + num


def xdo(display, *args, timeout=30, check=True):
    p = subprocess.run(["xdotool"] + [str(a) for a in args], env=dict(os.environ, DISPLAY=display),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("xdotool %s: %s" % (" ".join(map(str, args)), p.stderr.strip()))
    return p.stdout.strip()


def http_json(base, path, timeout=10):
    with urllib.request.urlopen(base + path, timeout=timeout) as r:
        return json.loads(r.read().decode())


def accepted(base):
    """duplex_connections_accepted_total per transport, from /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r'^duplex_connections_accepted_total\{transport="(\w+)"\} (\d+)', text, re.M)}


def http_requests(base, route):
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    return sum(int(m.group(1)) for m in re.finditer(
        r'^duplex_http_requests_total\{route="%s",status="\d+"\} (\d+)' % re.escape(route),
        text, re.M))


def wait_for(pred, timeout, interval=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


def window_geometry(display, win):
    out = xdo(display, "getwindowgeometry", "--shell", win)
    g = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])


def click(display, x, y):
    xdo(display, "mousemove", "--sync", x, y)
    time.sleep(0.2)
    xdo(display, "click", 1)


def all_messages(base):
    out, since = [], 0
    while True:
        obj = http_json(base, "/api/v1/rooms/%s/messages?since=%d&limit=1000" % (ROOM, since))
        if not obj["messages"]:
            return out
        out += obj["messages"]
        since = obj["messages"][-1]["id"]


def main():
    print("1..%d" % PLAN, flush=True)
    for exe in (DUPLEX_EXE, DUPLEXD_EXE):
        if not os.path.isfile(exe):
            bail("no such executable: %r (set DUPLEX_EXE and DUPLEXD_EXE)" % exe)
    for tool in ("wine", "wineserver", "Xvfb", "xdotool", "import"):
        if shutil.which(tool) is None:
            print("# SKIP: %s not installed" % tool)
            for i in range(PLAN):
                print("ok %d # SKIP %s not installed" % (i + 1, tool))
            return 0
    if not os.path.isfile(os.path.join(FONTS, "tahoma.ttf")):
        bail("fonts-wine is not installed (%s/tahoma.ttf)" % FONTS)

    os.makedirs(TEST_DIR, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="duplex-wine-client-")
    log = open(os.path.join(TEST_DIR, "test-client-wine.log"), "w")
    xvfb, display = start_xvfb()
    wine = Wine(os.path.join(TEST_DIR, "wine-prefix-client"), display, log)
    server = client = None
    try:
        wine.prepare()

        # duplexd.exe with its default store and a ticker in the room.
        ready = os.path.join(tmp, "ready.json")
        server = wine.start(DUPLEXD_EXE, "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0",
                            "--ready-file", ready, "--data-dir", os.path.join(tmp, "data"),
                            "--ticker", "%s:%d" % (ROOM, TICK_MS), "--log-level", "warn")
        if not wait_for(lambda: os.path.exists(ready) and os.path.getsize(ready) > 0, 90):
            bail("duplexd.exe not ready after 90 s")
        with open(ready) as f:
            ports = json.load(f)
        base = "http://127.0.0.1:%d" % ports["http"]
        note("duplexd.exe on %s (tcp %s)" % (base, ports["tcp"]))

        # duplex.exe, as from the Start menu but pointed at this server.
        stats = os.path.join(tmp, "stats.json")
        stats_win = "Z:" + stats.replace("/", "\\")
        env = dict(wine.env, GSETTINGS_BACKEND="memory", LANG="en_US.UTF-8",
                   LANGUAGE="en", G_MESSAGES_DEBUG="")
        t0 = time.monotonic()
        client = wine.start(DUPLEX_EXE, "--server", base, "--nick", NICK, "--room", ROOM,
                            "--transport", "poll", "--stats-file", stats_win, env=env)
        # 1. The window appears. Wine names its X windows' class after the
        # executable; the title is the room ("#lobby"). GTK also maps a few
        # 1x1 helper windows: the main window is the largest.
        win = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and client.poll() is None:
            ids = xdo(display, "search", "--onlyvisible", "--class", "duplex.exe",
                      check=False).split()
            sized = [(window_geometry(display, i), i) for i in ids]
            sized = [(g[2] * g[3], i) for g, i in sized if g[2] > 200 and g[3] > 200]
            if sized:
                win = max(sized)[1]
                break
            time.sleep(0.5)
        if not tap(win is not None, "duplex.exe opens its window (xdotool search)",
                   "exit status %s" % client.poll()):
            bail("no window")
        note("window %s after %.1f s" % (win, time.monotonic() - t0))
        # Connected in poll mode: the server sees its polls.
        polled = wait_for(lambda: http_requests(base, "messages") >= 2, 60)
        time.sleep(1.0)  # the first frame and the entry's focus
        x, y, w, h = window_geometry(display, win)
        note("window geometry %dx%d at %d,%d" % (w, h, x, y))

        # 2. Type into the message entry (bottom left; the Send button is
        # at the bottom right) and press Enter.
        click(display, x + w // 3, y + h - 28)
        xdo(display, "type", "--delay", "60", TEXT)
        xdo(display, "key", "Return")

        def stored(text):
            return [m for m in all_messages(base) if m.get("text") == text]
        got = wait_for(lambda: stored(TEXT), 30, 0.5)
        tap(bool(got) and polled and all(m.get("from") == NICK for m in got) and len(got) == 1,
            "the typed message reached the server once, from %s" % NICK,
            "stored: %r" % (got,))

        # 3-6. Live switches: Ctrl+2..5, checked on the server.
        time.sleep(DWELL)
        for i, mode in enumerate(MODES[1:], start=2):
            before = accepted(base)

            def switched():
                now = accepted(base)
                if mode == "longpoll":
                    return now.get("longpoll", 0) > before.get("longpoll", 0)
                return now.get(mode, 0) > before.get(mode, 0)
            xdo(display, "key", "ctrl+%d" % i)
            how = "Ctrl+%d" % i
            if not wait_for(switched, 8):
                # Wine dropped the shortcut: the transport dropdown (the
                # header bar's first widget), then the mode by keyboard.
                how = "the transport dropdown"
                x, y, w, h = window_geometry(display, win)
                click(display, x + 60, y + 22)
                time.sleep(1.0)
                xdo(display, "key", "Home")
                for _ in range(i - 1):
                    xdo(display, "key", "Down")
                xdo(display, "key", "Return")
            ok = wait_for(switched, 15)
            tap(ok, "switch to %s with %s" % (mode, how), "accepted: %r -> %r"
                % (before, accepted(base)))
            time.sleep(DWELL)
            if mode == "websocket":
                # 7. The screenshot, with a line typed over WebSocket on
                # screen among the ticker's.
                x, y, w, h = window_geometry(display, win)
                click(display, x + w // 3, y + h - 28)
                xdo(display, "type", "--delay", "60", TEXT2)
                xdo(display, "key", "Return")
                typed2 = wait_for(lambda: stored(TEXT2), 30, 0.5)
                time.sleep(1.5)
                shot = os.path.join(TEST_DIR, "screenshot-windows.png")
                p = subprocess.run(["import", "-display", display, "-window", win, shot],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=60)
                tap(p.returncode == 0 and os.path.getsize(shot) > 10000 and bool(typed2),
                    "a second line typed over WebSocket, and a screenshot (%s)" % shot,
                    "second line stored: %r" % (typed2,))
                if os.environ.get("DUPLEX_SCREENSHOT"):
                    shutil.copy(shot, os.environ["DUPLEX_SCREENSHOT"])

        # 8. Close the window as a click on its X does (WM_CLOSE); the
        # export is written on exit.
        last = http_json(base, "/api/v1/rooms/%s/messages?since=0&limit=1" % ROOM)["last_id"]
        wine.run("wine", "taskkill", "/IM", "duplex.exe", timeout=60)
        try:
            rc = client.wait(60)
        except subprocess.TimeoutExpired:
            rc = None
        tap(rc == 0 and os.path.exists(stats), "closing the window exits 0 and writes --stats-file",
            "exit status %s, stats file %s" % (rc, "present" if os.path.exists(stats) else "absent"))
        if not os.path.exists(stats):
            bail("no statistics export")
        with open(stats) as f:
            export = json.load(f)
        shutil.copy(stats, os.path.join(TEST_DIR, "test-client-stats.json"))

        # 9. Every mode delivered, and the switches are the ones made.
        modes = {m.get("mode"): m for m in export.get("modes", [])}
        switches = [(s.get("from"), s.get("to")) for s in export.get("switches", [])]
        want = list(zip(MODES, MODES[1:]))
        tap(all(modes.get(m, {}).get("messages", 0) > 0 for m in MODES) and switches == want
            and export.get("nick") == NICK and export.get("room") == ROOM,
            "the export: all five modes delivered messages, switches %s"
            % " -> ".join(MODES),
            "messages per mode: %r\nswitches: %r" % (
                {m: modes.get(m, {}).get("messages") for m in MODES}, switches))

        # 10. No id lost or repeated across the switches.
        d = export.get("deliveries", {}).get(ROOM, {})
        first, lastd = d.get("first_id", 0), d.get("last_id", 0)
        tap(d.get("duplicates") == 0 and d.get("gaps") == 0 and first >= 1
            and d.get("count") == lastd - first + 1 and lastd >= last,
            "deliveries in %s: ids %s..%s, none lost or repeated (server had %d at close)"
            % (ROOM, first, lastd, last), "deliveries: %r" % (d,))
    finally:
        for p in (client, server):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        wine.kill_all()
        xvfb.kill()
        xvfb.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if _failed[0] else 0


if __name__ == "__main__":
    sys.exit(main())
