"""Harness for the cluster suite (duplexd --redis, docs/protocol.md §7).

Starts its own redis-server (Debian's, a free loopback port, a temporary
directory, appendonly yes, appendfsync always) and several duplexd nodes
on free loopback ports, and reuses the integration suite's clients
(tests/integration/duplexd.py: curl, python3-websockets, raw sockets).

A missing redis-server, or a duplexd built without Redis support, skips
the suite (exit status 77, counted as skipped by meson).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import duplexd as dd  # noqa: E402

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
IO_TIMEOUT = dd.IO_TIMEOUT


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# -- Redis ---------------------------------------------------------------------
def resp_encode(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class RespReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("redis closed the connection")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _n(self, n):
        while len(self.buf) < n + 2:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("redis closed the connection")
            self.buf += d
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._n(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("bad RESP: %r" % line)


class Redis:
    """One redis-server of the test's own (never the system service)."""

    def __init__(self, tmp, extra=()):
        self.extra = list(extra)
        self.password = None
        if "--requirepass" in self.extra:
            self.password = self.extra[self.extra.index("--requirepass") + 1]
        self.dir = os.path.join(tmp, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.log = os.path.join(tmp, "redis.log")

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--daemonize", "no", "--logfile", self.log,
             "--protected-mode", "yes"] + self.extra,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.cmd("PING") == "PONG":
                    return self
            except (OSError, EOFError, RuntimeError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("redis-server did not start: %s" % self.log_text())
            time.sleep(0.05)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def cmd(self, *args):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            r = RespReader(s)
            if self.password:
                s.sendall(resp_encode("AUTH", self.password))
                r.reply()
            s.sendall(resp_encode(*args))
            return r.reply()

    def stop(self):
        """SIGTERM: Redis fsyncs its AOF and exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def wipe(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir, exist_ok=True)


# -- nodes ---------------------------------------------------------------------
class Node(dd.Server):
    def __init__(self, redis_url, name, history=100000, extra=()):
        super().__init__(store="", extra=["--redis", redis_url, "--node-id", name,
                                          "--history", str(history)] + list(extra))
        self.name = name

    def healthz(self):
        try:
            st, hd, body = self.curl("GET", "/healthz", timeout=5)
            return st
        except AssertionError:
            return 0

    def wait_healthy(self, timeout=IO_TIMEOUT):
        dd.wait_until(lambda: self.healthz() == 200, timeout=timeout,
                      what="%s /healthz 200" % self.name)

    def info(self):
        st, obj = self.get_json("/api/v1/info")
        assert st == 200, obj
        return obj

    def metric(self, name):
        st, hd, body = self.curl("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def post_status(self, token, room, text, cid=None):
        body = {"text": text}
        if cid is not None:
            body["cid"] = cid
        st, hd, data = self.curl("POST", "/api/v1/rooms/%s/messages" % room, body=body,
                                 token=token)
        return st, hd, dd.decode_json(data) if data else None


class ClusterTest(unittest.TestCase):
    """A fresh Redis and N nodes for every test."""

    nodes_n = 3
    history = 100000
    node_extra = ()  # more duplexd flags for every node

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="duplex-cluster-")
        self.redis = Redis(self.tmp).start()
        self.nodes = []
        for i in range(self.nodes_n):
            self.nodes.append(self.start_node("n%d" % i))
        self._closers = []

    def start_node(self, name):
        n = Node(self.redis.url, name, history=self.history, extra=self.node_extra).start()
        n.wait_healthy()
        return n

    def tearDown(self):
        for c in self._closers:
            try:
                c()
            except Exception:
                pass
        failed = []
        for n in self.nodes:
            try:
                # A node still running must stop cleanly (exit 0 within
                # the shutdown grace) with Redis still up.
                alive = n.proc is not None and n.proc.poll() is None
                if alive:
                    n.stop(check=True)
            except AssertionError as e:
                failed.append(str(e))
            finally:
                n.cleanup()
        self.redis.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(failed, [], "nodes stopped cleanly")

    def closing(self, obj):
        self._closers.append(obj.close)
        return obj

    def room(self):
        return dd.unique("c")

    def nick(self):
        return dd.unique("u").replace("-", "_")


def socket_messages(client, n, timeout=IO_TIMEOUT):
    """The next n chat messages a socket client (TCP or WebSocket) gets."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        o = client.recv(max(0.1, deadline - time.monotonic()))
        if o.get("type") == "message":
            got.append(o)
    return got


def main():
    if REDIS_SERVER is None:
        print("1..0 # SKIP redis-server is not installed (scripts/setup-deps.sh installs it)")
        sys.exit(77)
    argv = list(sys.argv)
    if len(argv) > 1 and os.path.isfile(argv[1]):
        dd.DUPLEXD = os.path.abspath(argv.pop(1))
    if not dd.DUPLEXD:
        sys.stderr.write("usage: %s DUPLEXD [unittest args] (or set DUPLEXD)\n" % argv[0])
        sys.exit(2)
    probe = dd.run_duplexd("--redis", "redis://127.0.0.1:1", "--help")
    if probe.returncode != 0 and b"without Redis" in probe.stderr:
        print("1..0 # SKIP duplexd was built without Redis support (hiredis)")
        sys.exit(77)
    import faulthandler
    faulthandler.register(signal.SIGTERM, all_threads=True, chain=True)
    unittest.main(module="__main__", argv=argv, verbosity=2)
