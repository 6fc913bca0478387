"""Harness for the duplexd end-to-end tests.

Starts the real duplexd on port 0, reads the ports from --ready-file, and
gives the tests clients that nobody in this project wrote: curl for the HTTP
transports (polling, long polling, SSE), Debian's python3-websockets (10.x,
asyncio API) for WebSocket, and raw sockets for raw TCP and malformed input.

Environment:
  DUPLEXD          path of the duplexd executable (or pass it as argv[1])
  DUPLEXD_WRAPPER  optional command prefix, e.g. "wine" for duplexd.exe
  DUPLEX_LOOP      inherited by duplexd (epoll | poll)
"""

import asyncio
import base64
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

DUPLEXD = os.environ.get("DUPLEXD", "")
WRAPPER = shlex.split(os.environ.get("DUPLEXD_WRAPPER", ""))
UNDER_WINE = bool(WRAPPER) and "wine" in os.path.basename(WRAPPER[0])

# Generous: a noisy 2-core machine, maybe Wine.
START_TIMEOUT = 90.0 if UNDER_WINE else 30.0
IO_TIMEOUT = 20.0


_sqlite = []


def sqlite_available():
    """Whether this duplexd was built with the sqlite store (asked once).
    duplexd.exe has it when the cross build found SQLite in the Windows
    dependency prefix (win32/deps)."""
    if not _sqlite:
        s = Server(store="sqlite")
        try:
            s.start()
            s.stop(check=False)
            _sqlite.append(True)
        except AssertionError:
            _sqlite.append(False)
        finally:
            s.cleanup()
    return _sqlite[0]


def default_store():
    return "sqlite" if sqlite_available() else "memory"


def needs_sqlite(fn):
    """Skips a test when duplexd has no sqlite store."""
    import functools

    @functools.wraps(fn)
    def wrapper(self, *a, **kw):
        if not sqlite_available():
            self.skipTest("duplexd built without the sqlite store")
        return fn(self, *a, **kw)
    return wrapper


def skip_on_wine(reason):
    return unittest.skipIf(UNDER_WINE, "not under Wine: " + reason)


def wait_until(pred, timeout=IO_TIMEOUT, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def server_command(*args):
    if not DUPLEXD:
        raise unittest.SkipTest("DUPLEXD not set")
    return WRAPPER + [DUPLEXD] + [str(a) for a in args]


def run_duplexd(*args, timeout=30):
    """Runs duplexd to completion (for flag tests). Returns CompletedProcess."""
    return subprocess.run(server_command(*args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


class Server:
    """One running duplexd on port 0 with its own temporary directory."""

    def __init__(self, store=None, data_dir=None, extra=(), log_level="warn", send_rate="0/1"):
        self.tmp = tempfile.mkdtemp(prefix="duplexd-it-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        # None: the suite's default; "": no --store flag (the server's default).
        self.store = default_store() if store is None else store
        self.extra = list(extra)
        # The suites drive transports by sending fast from one token: they
        # run without the per-token send rate (docs/protocol.md §9) unless
        # they pass --send-rate or send_rate ("0/1" off; None: duplexd's
        # default, 20/1). test_limits.py tests the limit itself.
        if send_rate is not None and "--send-rate" not in self.extra:
            self.extra += ["--send-rate", send_rate]
        # Likewise the delivery bound (docs/protocol.md §9.1): suites that
        # flood rooms whose members read later would be refused; it is on
        # only where a test passes --max-delivery-ms (test_backpressure.py).
        if "--max-delivery-ms" not in self.extra:
            self.extra += ["--max-delivery-ms", "0"]
        self.log_level = log_level
        self.proc = None
        self.http_port = None
        self.tcp_port = None
        self.ready_file = os.path.join(self.tmp, "ready.json")
        self.log_path = os.path.join(self.tmp, "stderr.log")
        self.out_path = os.path.join(self.tmp, "stdout.log")

    # -- life cycle -------------------------------------------------------
    def start(self):
        try:
            return self._start()
        except AssertionError:
            # Under a loaded CI machine Wine itself sometimes fails to start
            # a process: it exits at once with status 1 and prints nothing
            # (duplexd always says why on stderr). Only that case is retried,
            # once; any failure duplexd explains is a test failure.
            if not (UNDER_WINE and self.proc is not None and self.proc.returncode == 1
                    and not self.stderr_text().strip()):
                raise
            sys.stderr.write("duplexd.py: Wine failed to start duplexd.exe silently; retrying once\n")
            return self._start()

    def _start(self):
        if os.path.exists(self.ready_file):
            os.unlink(self.ready_file)
        args = ["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0",
                "--ready-file", self.ready_file, "--data-dir", self.data_dir,
                "--log-level", self.log_level] + self.extra
        if self.store:
            args += ["--store", self.store]
        self._err = open(self.log_path, "ab")
        self._out = open(self.out_path, "ab")
        self.proc = subprocess.Popen(server_command(*args), stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._err)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("duplexd exited with %s before ready; stderr: %s"
                                     % (self.proc.returncode, self.stderr_text()[-2000:]))
            if os.path.exists(self.ready_file):
                try:
                    with open(self.ready_file) as f:
                        ready = json.load(f)
                    self.http_port = int(ready["http"])
                    self.tcp_port = int(ready["tcp"])
                    break
                except (ValueError, KeyError):
                    pass  # not atomic? the flags test reports that precisely
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("duplexd not ready after %.0f s" % START_TIMEOUT)
            time.sleep(0.02)
        return self

    def stderr_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout_text(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def terminate(self):
        """Sends SIGTERM (POSIX) or terminates (Wine)."""
        if UNDER_WINE:
            self.proc.terminate()
        else:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout=15.0, check=True):
        """Stops politely; returns the exit status. Checks exit 0 off Wine."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._close_logs()
                if check:
                    raise AssertionError("duplexd did not exit %.0f s after SIGTERM" % timeout)
                return None
        rc = self.proc.returncode
        self._close_logs()
        if check and not UNDER_WINE and rc != 0:
            raise AssertionError("duplexd exited %s after SIGTERM; stderr: %s"
                                 % (rc, self.stderr_text()[-2000:]))
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_logs()

    def _close_logs(self):
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f:
                f.close()

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def pid(self):
        return self.proc.pid

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.http_port

    # -- HTTP through curl -----------------------------------------------
    def curl(self, method, path, body=None, headers=(), token=None, timeout=IO_TIMEOUT):
        """Returns (status, headers{lower: value}, body bytes)."""
        with tempfile.TemporaryDirectory() as d:
            hfile = os.path.join(d, "h")
            bfile = os.path.join(d, "b")
            cmd = ["curl", "-sS", "--http1.1", "-X", method, "-o", bfile, "-D", hfile,
                   "--max-time", str(int(timeout)), "-H", "Expect:"]
            if token:
                cmd += ["-H", "Authorization: Bearer " + token]
            for h in headers:
                cmd += ["-H", h]
            inp = None
            if body is not None:
                if not isinstance(body, (bytes, bytearray)):
                    body = json.dumps(body).encode()
                cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
                inp = body
            cmd.append(self.base + path)
            p = subprocess.run(cmd, input=inp, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout + 10)
            if p.returncode != 0:
                raise AssertionError("curl %s %s failed (%d): %s"
                                     % (method, path, p.returncode, p.stderr.decode()))
            with open(hfile, "rb") as f:
                head = f.read().decode("latin-1")
            with open(bfile, "rb") as f:
                data = f.read()
        return parse_head(head) + (data,)

    def get_json(self, path, **kw):
        st, hd, data = self.curl("GET", path, **kw)
        return st, decode_json(data)

    def session(self, nick, password=None):
        body = {"nick": nick}
        if password is not None:
            body["password"] = password
        st, hd, data = self.curl("POST", "/api/v1/session", body=body)
        assert st == 201, "session for %s: %s %r" % (nick, st, data)
        return decode_json(data)["token"]

    def post(self, token, room, text, cid=None):
        body = {"text": text}
        if cid is not None:
            body["cid"] = cid
        st, hd, data = self.curl("POST", "/api/v1/rooms/%s/messages" % room,
                                 body=body, token=token)
        assert st == 201, "post to %s: %s %r" % (room, st, data)
        return decode_json(data)

    def poll(self, room, since=0, limit=None, **kw):
        q = "since=%d" % since
        if limit is not None:
            q += "&limit=%d" % limit
        st, obj = self.get_json("/api/v1/rooms/%s/messages?%s" % (room, q), **kw)
        assert st == 200, "poll %s: %s %r" % (room, st, obj)
        return obj

    def all_messages(self, room):
        out, since = [], 0
        while True:
            obj = self.poll(room, since=since, limit=1000)
            if not obj["messages"]:
                return out
            out += obj["messages"]
            since = obj["messages"][-1]["id"]

    # -- raw sockets ------------------------------------------------------
    def raw(self, port=None, timeout=IO_TIMEOUT):
        s = socket.create_connection(("127.0.0.1", port or self.http_port), timeout=timeout)
        s.settimeout(timeout)
        return s

    def tcp_client(self, hello_nick=None, **kw):
        c = LineClient(self.raw(self.tcp_port))
        if hello_nick:
            c.hello(hello_nick, **kw)
        return c

    def ws_client(self, hello_nick=None, subprotocols=None, **kw):
        c = WSClient("ws://127.0.0.1:%d/api/v1/ws" % self.http_port, subprotocols)
        if hello_nick:
            c.hello(hello_nick, **kw)
        return c

    def vmrss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None


def decode_json(data):
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise AssertionError("not JSON: %r" % data[:300])


def parse_head(head):
    """Parses the last header block of curl -D output."""
    blocks = [b for b in re.split(r"\r?\n\r?\n", head) if b.strip()]
    if not blocks:
        raise AssertionError("no response head")
    lines = blocks[-1].splitlines()
    status = int(lines[0].split()[1])
    hd = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hd[k.strip().lower()] = v.strip()
    return status, hd


# -- raw HTTP ---------------------------------------------------------------
class HTTPReader:
    """Reads HTTP/1.1 responses from a raw socket (Content-Length or chunked)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self):
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def read_until(self, sep):
        while sep not in self.buf:
            if not self._fill():
                raise AssertionError("connection closed before %r; got %r" % (sep, self.buf[:300]))
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_n(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise AssertionError("connection closed in body")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self):
        """Returns (status, headers{lower: value}, body)."""
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        hd = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hd[k.strip().lower()] = v.strip()
        if hd.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.read_until(b"\r\n").split(b";")[0].strip(), 16)
                if size == 0:
                    self.read_until(b"\r\n")
                    break
                body += self.read_n(size)
                self.read_n(2)
        elif "content-length" in hd:
            body = self.read_n(int(hd["content-length"]))
        else:
            while self._fill():
                pass
            body, self.buf = self.buf, b""
        return status, hd, body

    def at_eof(self, timeout=IO_TIMEOUT):
        """True once the peer closes (drains any extra bytes)."""
        self.sock.settimeout(timeout)
        try:
            while self._fill():
                pass
        except socket.timeout:
            return False
        return True


def raw_request(server, data, timeout=IO_TIMEOUT):
    s = server.raw(timeout=timeout)
    try:
        s.sendall(data)
        return HTTPReader(s).response()
    finally:
        s.close()


# -- NDJSON over raw TCP ----------------------------------------------------
class LineClient:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.closed = False

    def send(self, obj):
        self.sock.sendall(json.dumps(obj).encode() + b"\n")

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_text(self, text):
        self.sock.sendall(text.encode() + b"\n")

    def recv(self, timeout=IO_TIMEOUT):
        """Next object; raises EOFError when the server closes."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line from server within %.0f s" % timeout)
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                d = b""
            if not d:
                self.closed = True
                raise EOFError("server closed the connection")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return decode_json(line)

    def recv_type(self, typ, timeout=IO_TIMEOUT, skip=("presence",)):
        """Next object of type typ, skipping presence events."""
        while True:
            o = self.recv(timeout)
            if o.get("type") == typ:
                return o
            if o.get("type") not in skip:
                raise AssertionError("expected %s, got %r" % (typ, o))

    def hello(self, nick, **extra):
        self.send(dict(type="hello", nick=nick, **extra))
        w = self.recv()
        assert w.get("type") == "welcome", "hello got %r" % (w,)
        self.token = w.get("token")
        return w

    def join(self, room, since=None):
        o = {"type": "join", "room": room}
        if since is not None:
            o["since"] = since
        self.send(o)
        return self.recv_type("joined")

    def wait_closed(self, timeout=IO_TIMEOUT):
        """Reads until EOF; returns the objects read before it."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                got.append(self.recv(max(0.1, deadline - time.monotonic())))
            except EOFError:
                return got

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# -- WebSocket through python3-websockets (10.x asyncio API) ------------------
class WSClient:
    """A synchronous face over a websockets connection on its own loop thread."""

    def __init__(self, uri, subprotocols=None, **kw):
        import websockets
        self._ws_mod = websockets
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        async def connect():
            return await websockets.connect(uri, subprotocols=subprotocols,
                                            max_size=2 ** 22, open_timeout=IO_TIMEOUT,
                                            ping_interval=None, **kw)
        self.ws = self._run(connect())
        self.subprotocol = self.ws.subprotocol

    def _run(self, coro, timeout=IO_TIMEOUT + 5):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def send(self, obj):
        self._run(self.ws.send(json.dumps(obj)))

    def send_text(self, text):
        self._run(self.ws.send(text))

    def recv(self, timeout=IO_TIMEOUT):
        """Next object; raises EOFError when the connection closes."""
        async def r():
            return await asyncio.wait_for(self.ws.recv(), timeout)
        try:
            data = self._run(r(), timeout + 5)
        except self._ws_mod.exceptions.ConnectionClosed:
            raise EOFError("websocket closed: %s" % self.ws.close_code)
        except asyncio.TimeoutError:
            raise AssertionError("no websocket message within %.0f s" % timeout)
        if isinstance(data, bytes):
            raise AssertionError("binary frame from server: %r" % data[:100])
        return json.loads(data)

    recv_type = LineClient.recv_type
    hello = LineClient.hello
    join = LineClient.join
    wait_closed = LineClient.wait_closed

    @property
    def close_code(self):
        return self.ws.close_code

    def close(self):
        try:
            self._run(self.ws.close(), 10)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


# -- raw WebSocket for malformed input ----------------------------------------
WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def ws_handshake_bytes(port, key=WS_KEY, version="13", extra=""):
    h = ("GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\n" % port)
    if key is not None:
        h += "Sec-WebSocket-Key: %s\r\n" % key
    if version is not None:
        h += "Sec-WebSocket-Version: %s\r\n" % version
    return (h + extra + "\r\n").encode()


def ws_frame(opcode, payload, mask=True, fin=True):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


class RawWS:
    """A hand-made WebSocket client: handshake, then frames byte by byte."""

    def __init__(self, server):
        self.sock = server.raw()
        self.sock.sendall(ws_handshake_bytes(server.http_port))
        self.reader = HTTPReader(self.sock)
        head = self.reader.read_until(b"\r\n\r\n").decode("latin-1")
        assert head.startswith("HTTP/1.1 101"), "handshake answered %r" % head[:200]

    def send(self, data):
        self.sock.sendall(data)

    def send_text(self, obj):
        self.send(ws_frame(1, json.dumps(obj).encode()))

    def read_frame(self):
        """Returns (opcode, payload); raises EOFError on close of the TCP stream."""
        r = self.reader
        try:
            b0, b1 = r.read_n(2)
        except AssertionError:
            raise EOFError("tcp closed")
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", r.read_n(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", r.read_n(8))[0]
        assert not (b1 & 0x80), "server frames must not be masked"
        return b0 & 0x0F, r.read_n(n)

    def read_close_code(self):
        """Reads frames up to the close frame; returns its code (None if none)."""
        while True:
            try:
                op, payload = self.read_frame()
            except EOFError:
                return None
            if op == 8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005

    def close(self):
        self.sock.close()


# -- curl streaming (SSE) -----------------------------------------------------
class SSEStream:
    """curl -N on /events; parses the head and the events as they come."""

    def __init__(self, server, room, since=None, last_event_id=None, accept=True):
        path = "/api/v1/rooms/%s/events" % room
        if since is not None:
            path += "?since=%d" % since
        # curl -N flushes the body as it comes, but buffers the head it prints
        # with -i until the first body bytes: stdbuf makes stdout unbuffered, so
        # "headers sent at once" is observable.
        cmd = (["stdbuf", "-o0"] if shutil.which("stdbuf") else []) + [
            "curl", "-sS", "-N", "-i", "--http1.1"]
        if accept:
            cmd += ["-H", "Accept: text/event-stream"]
        if last_event_id is not None:
            cmd += ["-H", "Last-Event-ID: %s" % last_event_id]
        cmd.append(server.base + path)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.lines = []
        self.cond = threading.Condition()
        self.done = False
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()
        self.status = None
        self.headers = {}
        self._pos = 0
        self._read_head()

    def _reader(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self.cond.notify_all()
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def _next_line(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while self._pos >= len(self.lines):
                if self.done:
                    raise EOFError("SSE stream ended")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no SSE line within %.0f s" % timeout)
                self.cond.wait(left)
            line = self.lines[self._pos]
            self._pos += 1
            return line

    def _read_head(self):
        first = self._next_line(IO_TIMEOUT)
        self.status_line = first
        self.status = int(first.split()[1])
        while True:
            line = self._next_line(IO_TIMEOUT)
            if line == "":
                break
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()

    def next_event(self, timeout=IO_TIMEOUT):
        """Returns a dict of fields (id, event, data) of the next event; comments skipped."""
        ev = {}
        raw = []
        deadline = time.monotonic() + timeout  # ": ping" comments must not extend it
        while True:
            line = self._next_line(max(0.0, deadline - time.monotonic()))
            if line == "":
                if ev:
                    ev["_raw"] = raw
                    return ev
                continue
            if line.startswith(":"):
                continue
            raw.append(line)
            k, _, v = line.partition(":")
            if v.startswith(" "):
                v = v[1:]
            ev[k] = ev[k] + "\n" + v if k in ev else v

    def next_message(self, timeout=IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next_event(max(0.0, deadline - time.monotonic()))
            if ev.get("event") == "message":
                return ev

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class LongPoll:
    """A long poll run by curl in the background."""

    def __init__(self, server, room, since, wait):
        path = "/api/v1/rooms/%s/messages?since=%d&wait=%d" % (room, since, wait)
        self.proc = subprocess.Popen(
            ["curl", "-sS", "--http1.1", "-w", "\n%{http_code}", "--max-time",
             str(wait + 30), server.base + path],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)

    def result(self, timeout):
        out, err = self.proc.communicate(timeout=timeout)
        body, _, code = out.rpartition(b"\n")
        return int(code or 0), body

    def done(self):
        return self.proc.poll() is not None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


# -- test base ----------------------------------------------------------------
_counter = [0]


def unique(prefix="r"):
    _counter[0] += 1
    return ("%s-%d-%d" % (prefix, os.getpid() % 100000, _counter[0]))[:32]


class ServerTest(unittest.TestCase):
    """One server shared by the tests of a class (started in setUpClass)."""

    store = None
    extra = ()

    @classmethod
    def setUpClass(cls):
        cls.server = Server(store=cls.store, extra=cls.extra).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.cleanup()

    def room(self):
        return unique("r")

    def nick(self):
        return unique("n").replace("-", "_")

    def token(self, nick=None):
        return self.server.session(nick or self.nick())

    def assert_error(self, status, hd, body, code, expect_status):
        self.assertEqual(status, expect_status, "body %r" % body[:200])
        obj = decode_json(body)
        self.assertIn("error", obj, obj)
        self.assertEqual(obj["error"].get("code"), code, obj)
        self.assertIsInstance(obj["error"].get("message"), str, obj)
        self.assert_json_type(hd)

    def assert_json_type(self, hd):
        ct = hd.get("content-type", "").lower().replace(" ", "")
        self.assertEqual(ct, "application/json;charset=utf-8", "Content-Type of a JSON body")


def main():
    global DUPLEXD
    argv = list(sys.argv)
    if len(argv) > 1 and os.path.isfile(argv[1]):
        DUPLEXD = os.path.abspath(argv.pop(1))
    if not DUPLEXD:
        sys.stderr.write("usage: %s DUPLEXD [unittest args] (or set DUPLEXD)\n" % argv[0])
        sys.exit(2)
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
    # When meson's timeout kills a hung test, say where it hung.
    import faulthandler
    faulthandler.register(signal.SIGTERM, all_threads=True, chain=True)
    unittest.main(module="__main__", argv=argv, verbosity=2)
