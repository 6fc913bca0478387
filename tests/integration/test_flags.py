#!/usr/bin/env python3
"""docs/protocol.md §1: flags, start-up, ready file, log line, exit statuses."""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


def one_line(testcase, text):
    lines = [l for l in text.decode("utf-8", "replace").splitlines() if l.strip()]
    testcase.assertEqual(len(lines), 1, "expected one line on stderr, got %r" % lines)
    return lines[0]


class BadFlags(unittest.TestCase):
    def check_usage(self, *args):
        with tempfile.TemporaryDirectory() as d:
            p = dx.run_duplexd("--data-dir", d, "--store", "memory", *args)
        self.assertEqual(p.returncode, 2, "args %r: exit %d, stderr %r"
                         % (args, p.returncode, p.stderr))
        one_line(self, p.stderr)

    def test_unknown_flag(self):
        self.check_usage("--no-such-flag")

    def test_missing_value(self):
        self.check_usage("--http")

    def test_bad_store(self):
        self.check_usage("--store", "floppy")

    def test_bad_log_level(self):
        self.check_usage("--log-level", "loud")

    def test_bad_address(self):
        self.check_usage("--http", "not-an-address")

    def test_bad_port_number(self):
        self.check_usage("--tcp", "127.0.0.1:70000")

    def test_bad_ticker(self):
        self.check_usage("--ticker", "NotARoom!:100")

    def test_help(self):
        p = dx.run_duplexd("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        text = (p.stdout + p.stderr).decode("utf-8", "replace")
        for flag in ("--http", "--tcp", "--data-dir", "--store", "--ready-file",
                     "--ticker", "--password", "--log-level"):
            self.assertIn(flag, text)

    def test_version(self):
        p = dx.run_duplexd("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        text = (p.stdout + p.stderr).decode("utf-8", "replace")
        self.assertRegex(text, r"\d+\.\d+")


class RuntimeErrors(unittest.TestCase):
    def test_port_in_use(self):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        try:
            for flag in ("--http", "--tcp"):
                with tempfile.TemporaryDirectory() as d:
                    other = "--tcp" if flag == "--http" else "--http"
                    p = dx.run_duplexd(flag, "127.0.0.1:%d" % port, other, "127.0.0.1:0",
                                       "--data-dir", d, "--store", "memory",
                                       "--ready-file", os.path.join(d, "ready.json"))
                    self.assertEqual(p.returncode, 1, "%s on a used port: exit %d, %r"
                                     % (flag, p.returncode, p.stderr))
                    one_line(self, p.stderr)
                    self.assertFalse(os.path.exists(os.path.join(d, "ready.json")),
                                     "ready file written although a listener failed")
        finally:
            blocker.close()

    @dx.needs_sqlite
    def test_unwritable_data_dir(self):
        with tempfile.TemporaryDirectory() as d:
            blocker = os.path.join(d, "a-file")
            with open(blocker, "w") as f:
                f.write("x")
            p = dx.run_duplexd("--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0",
                               "--data-dir", os.path.join(blocker, "sub"),
                               "--store", "sqlite")
        self.assertEqual(p.returncode, 1, "exit %d, %r" % (p.returncode, p.stderr))
        one_line(self, p.stderr)

    def test_memory_store_ignores_data_dir(self):
        # "--data-dir ... unused with --store memory": an unusable one is no error.
        with tempfile.TemporaryDirectory() as d:
            blocker = os.path.join(d, "a-file")
            with open(blocker, "w") as f:
                f.write("x")
            s = dx.Server(store="memory", data_dir=os.path.join(blocker, "sub"))
            try:
                s.start()
                s.post(s.session("mem"), "m", "fine")
                s.stop()
            finally:
                s.cleanup()

    @dx.needs_sqlite
    def test_default_store_is_sqlite(self):
        s = dx.Server(store="")  # no --store: sqlite where built in
        try:
            s.start()
            s.post(s.session("dflt"), "dflt", "kept")
            s.stop()
            s.start()
            self.assertEqual([m["text"] for m in s.poll("dflt")["messages"]], ["kept"],
                             "history survives a restart with the default store")
            s.stop()
        finally:
            s.cleanup()

    @dx.needs_sqlite
    def test_data_dir_created(self):
        s = dx.Server(store="sqlite")
        s.data_dir = os.path.join(s.tmp, "deep", "er", "data")
        try:
            s.start()
            self.assertTrue(os.path.isdir(s.data_dir))
            s.stop()
        finally:
            s.cleanup()


class Startup(unittest.TestCase):
    def test_ready_file_and_log_line(self):
        s = dx.Server(log_level="info")
        try:
            # Watch the ready file while the server starts: whenever it exists it
            # must hold the complete object (written to a temp file, renamed).
            seen = []
            stop = threading.Event()

            def watch():
                while not stop.is_set():
                    try:
                        with open(s.ready_file, "rb") as f:
                            seen.append(f.read())
                    except OSError:
                        pass

            t = threading.Thread(target=watch, daemon=True)
            t.start()
            s.start()
            stop.set()
            t.join()
            for content in seen:
                obj = json.loads(content.decode())  # raises on a partial file
                self.assertEqual(set(obj), {"http", "tcp"}, obj)
            with open(s.ready_file) as f:
                obj = json.load(f)
            self.assertIsInstance(obj["http"], int)
            self.assertIsInstance(obj["tcp"], int)
            self.assertNotEqual(obj["http"], 0)
            self.assertNotEqual(obj["tcp"], 0)
            # The ports are real: both accept connections.
            socket.create_connection(("127.0.0.1", obj["http"]), 5).close()
            socket.create_connection(("127.0.0.1", obj["tcp"]), 5).close()
            # No temp file left beside the ready file.
            self.assertEqual(sorted(f for f in os.listdir(s.tmp)
                                    if not f.endswith(".log") and f != "data"),
                             ["ready.json"])
            want = "listening http=127.0.0.1:%d tcp=127.0.0.1:%d" % (obj["http"], obj["tcp"])
            dx.wait_until(lambda: want in s.stderr_text() + s.stdout_text(),
                          what="log line %r" % want)
            # Both meson registrations must really exercise their backend: when the
            # log names the loop, it is the one DUPLEX_LOOP asked for.
            loop = os.environ.get("DUPLEX_LOOP")
            named = re.findall(r"\b(epoll|poll|iocp) loop\b", s.stderr_text() + s.stdout_text())
            if loop and named:
                self.assertEqual(set(named), {loop}, "DUPLEX_LOOP=%s honoured" % loop)
            # /api/v1/info tells the TCP port.
            st, info = s.get_json("/api/v1/info")
            self.assertEqual(info["tcp_port"], obj["tcp"])
            s.stop()
        finally:
            s.cleanup()

    def test_version_matches_info(self):
        p = dx.run_duplexd("--version")
        s = dx.Server().start()
        try:
            st, info = s.get_json("/api/v1/info")
            m = re.match(r"duplexd/(\S+)$", info["server"])
            self.assertTrue(m, info)
            self.assertIn(m.group(1), (p.stdout + p.stderr).decode())
            s.stop()
        finally:
            s.cleanup()

    def test_sigterm_idle_exit_0(self):
        s = dx.Server().start()
        try:
            t0 = time.monotonic()
            rc = s.stop(timeout=15)
            if not dx.UNDER_WINE:
                self.assertEqual(rc, 0)
                self.assertLess(time.monotonic() - t0, 6.5, "exit 0 within 5 s of SIGTERM")
        finally:
            s.cleanup()

    @dx.skip_on_wine("no SIGINT semantics")
    def test_sigint_exit_0(self):
        import signal
        s = dx.Server().start()
        try:
            s.proc.send_signal(signal.SIGINT)
            rc = s.proc.wait(15)
            self.assertEqual(rc, 0)
        finally:
            s.cleanup()

    def test_password(self):
        s = dx.Server(extra=["--password", "s3cret"]).start()
        try:
            st, hd, body = s.curl("POST", "/api/v1/session", body={"nick": "alice"})
            self.assertEqual(st, 401, body)
            self.assertEqual(dx.decode_json(body)["error"]["code"], "unauthorized")
            st, hd, body = s.curl("POST", "/api/v1/session",
                                  body={"nick": "alice", "password": "wrong"})
            self.assertEqual(st, 401, body)
            st, hd, body = s.curl("POST", "/api/v1/session",
                                  body={"nick": "alice", "password": "s3cret"})
            self.assertEqual(st, 201, body)
            self.assertEqual(dx.decode_json(body)["nick"], "alice")
            # hello must carry it too (TCP and WebSocket).
            c = s.tcp_client()
            c.send({"type": "hello", "nick": "alice"})
            o = c.recv()
            self.assertEqual(o["type"], "error", o)
            c.close()
            c = s.tcp_client("alice", password="s3cret")
            c.close()
            w = s.ws_client()
            w.send({"type": "hello", "nick": "alice", "password": "nope"})
            got = []
            try:
                while True:
                    got.append(w.recv())
            except EOFError:
                pass
            except AssertionError:
                pass
            self.assertTrue(got and got[0]["type"] == "error" or w.close_code == 1008,
                            "bad password on hello: got %r, close %r" % (got, w.close_code))
            w.close()
            w = s.ws_client("alice", password="s3cret")
            w.close()
            s.stop()
        finally:
            s.cleanup()

    def test_ticker(self):
        s = dx.Server(extra=["--ticker", "news:100"]).start()
        try:
            msgs = dx.wait_until(lambda: len(s.poll("news")["messages"]) >= 2 and
                                 s.poll("news")["messages"], what="ticker messages")
            self.assertEqual(msgs[0]["from"], "ticker")
            self.assertEqual([m["id"] for m in msgs[:2]], [1, 2])
            s.stop()
        finally:
            s.cleanup()


if __name__ == "__main__":
    dx.main()
