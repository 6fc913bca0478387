#!/usr/bin/env python3
"""docs/protocol.md §1, --ticker ROOM:MS:FILE: the ticker plays a script,
one line per message, in order, from the top again after the last line;
the demo script shipped in data/demo loads; a file that cannot be played
is refused at start-up with one line on stderr, before anything is bound."""

import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402

DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "demo",
                    "baseball-ko.txt")


def script_lines(data):
    """The lines duplexd posts from a script (docs/protocol.md §1)."""
    text = data.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    out = []
    for line in text.split("\n"):
        line = line.rstrip(" \t\r")
        if line.strip(" \t\r") and not line.lstrip(" \t\r").startswith("#"):
            out.append(line)
    return out


def all_messages(server, room, at_least):
    def enough():
        msgs = server.all_messages(room)
        return msgs if len(msgs) >= at_least else None
    return dx.wait_until(enough, timeout=60, interval=0.1, what="%d ticker lines" % at_least)


class Script(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="duplexd-ticker-")

    def tearDown(self):
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def play(self, path, room, ms, at_least):
        s = dx.Server(extra=["--ticker", "%s:%d:%s" % (room, ms, path)]).start()
        try:
            msgs = all_messages(s, room, at_least)
            s.stop()
            return msgs
        finally:
            s.cleanup()

    def check_played(self, msgs, lines):
        self.assertEqual([m["id"] for m in msgs], list(range(1, len(msgs) + 1)), "ids 1, 2, 3, …")
        for i, m in enumerate(msgs):
            self.assertEqual(m["from"], "ticker")
            self.assertEqual(m["text"], lines[i % len(lines)],
                             "message %d is line %d of the script" % (i + 1, i % len(lines) + 1))

    def test_lines_in_order_then_again(self):
        data = ("\ufeff# 주석은 올리지 않습니다\r\n\r\n"
                "[1회초] 플레이볼!\r\n"
                "  들여쓴 줄, 끝의 공백은 잘립니다  \t\n"
                "   \n"
                "[9회말] 경기 끝났습니다!").encode("utf-8")
        lines = script_lines(data)
        self.assertEqual(len(lines), 3)
        msgs = self.play(self.write("script.txt", data), "yagu", 40, 3 * len(lines) + 1)
        self.check_played(msgs, lines)
        self.assertEqual(msgs[1]["text"], "  들여쓴 줄, 끝의 공백은 잘립니다")

    def test_shipped_demo(self):
        with open(DEMO, "rb") as f:
            lines = script_lines(f.read())
        self.assertGreaterEqual(len(lines), 150, "nine innings of play-by-play")
        self.assertTrue(any(l.startswith("[9회") for l in lines))
        # Every line once, and the first few again: the loop.
        msgs = self.play(os.path.abspath(DEMO), "baseball", 5, len(lines) + 3)
        self.check_played(msgs, lines)

    # -- refused at start-up ---------------------------------------------
    def refused(self, spec, status, *needles):
        ready = os.path.join(self.tmp, "ready.json")
        p = dx.run_duplexd("--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--store", "memory",
                           "--data-dir", os.path.join(self.tmp, "data"), "--ready-file", ready,
                           "--ticker", spec, timeout=60)
        lines = [l for l in p.stderr.decode("utf-8", "replace").splitlines() if l.strip()]
        self.assertEqual(p.returncode, status, "exit status; stderr %r" % lines)
        self.assertEqual(len(lines), 1, "one line on stderr, got %r" % lines)
        for n in needles:
            self.assertIn(n, lines[0])
        self.assertFalse(os.path.exists(ready), "refused before listening")
        return lines[0]

    def test_missing_file(self):
        self.refused("news:100:" + os.path.join(self.tmp, "nope.txt"), 1, "nope.txt")

    def test_not_utf8(self):
        path = self.write("latin1.txt", "1회초\nStra\xdfe caf\xe9\n".encode("latin-1", "replace"))
        self.refused("news:100:" + path, 1, "latin1.txt", "line 2", "UTF-8")

    def test_line_too_long(self):
        path = self.write("long.txt", b"short\n" + "가".encode() * 1366 + b"\n")
        self.refused("news:100:" + path, 1, "long.txt", "line 2", "4098 bytes")

    def test_nul_byte(self):
        # Not "nul.txt": on Windows that names the NUL device.
        path = self.write("zero.txt", b"one\ntwo\x00\n")
        self.refused("news:100:" + path, 1, "zero.txt", "line 2", "NUL")

    def test_nothing_to_post(self):
        path = self.write("empty.txt", b"# only a comment\n\n")
        self.refused("news:100:" + path, 1, "empty.txt", "no line")

    def test_directory(self):
        self.refused("news:100:" + self.tmp, 1)

    def test_bad_form(self):
        self.refused("news:100:", 2, "ROOM:MS:FILE")
        self.refused("news::" + DEMO, 2, "ROOM:MS:FILE")


if __name__ == "__main__":
    dx.main()
