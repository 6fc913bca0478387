#!/usr/bin/env python3
"""docs/protocol.md §9: the HTTP, WebSocket and raw TCP parsers behind TLS.

The libFuzzer targets (tests/fuzz/fuzz-http.c, fuzz-websocket.c) drive the
parsers in memory; OpenSSL owns the record layer. This test joins the two:
the seeds of their corpora (tests/fuzz/corpus/http and websocket) and
deterministic mutations of them (bit flips, cuts, splices, repeats) go to
a real duplexd with --tls-cert over TLS connections, each input split into
several TLS records at cuts of its own, and the same bytes go to a plain
duplexd. Both must answer alike: the same statuses, error codes and
WebSocket frames, the same closes. Every answer must be well formed; one
that says `Connection: close` (a request the parser refused) is followed
by the server's close without the client closing first; and the TLS server
is up afterwards and serves https, wss and TLS TCP correctly. The raw TCP
port gets the same treatment with the NDJSON and JSON corpora (lines after
a hello).
"""

import concurrent.futures
import json
import os
import random
import re
import select
import shutil
import socket
import ssl
import struct
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import duplexd as dx  # noqa: E402
import tls_certs  # noqa: E402

CORPUS = os.path.join(HERE, "..", "fuzz", "corpus")
# Per seed; under Wine (slower, and waiting longer for quiet) half as many.
MUTATIONS = 3 if dx.UNDER_WINE else 6
WORKERS = 48       # inputs in flight (each: a plain connection, then a TLS one)
QUIET_S = 1.5 if dx.UNDER_WINE else 0.5  # no byte for this long: the server waits for more
END_S = 4.0        # after the client's close: the server's close, at most


# -- inputs -------------------------------------------------------------------

def corpus_seeds(kind, decoder_bit):
    """The seeds of tests/fuzz/corpus/KIND that the fuzz target reads in the
    server's role (the first byte's low bit; the second byte is its split
    seed), without those two bytes. ndjson: three bytes of options; json:
    a JSON text, made one line."""
    d = os.path.join(CORPUS, kind)
    out = []
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        if kind == "ndjson":
            out.append((name, data[3:]))
        elif kind == "json":
            out.append((name, data.replace(b"\r", b" ").replace(b"\n", b" ") + b"\n"))
        elif len(data) > 2 and (data[0] & 1) == decoder_bit:
            out.append((name, data[2:]))
    return out


def mutate(rng, data, others):
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:                     # flip bits of one byte
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1 and b:                   # a random byte
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 2:                         # cut short
            del b[i:]
        elif op == 3:                         # delete a run
            del b[i:i + rng.randint(1, 16)]
        elif op == 4:                         # repeat a run
            b[i:i] = b[i:i + rng.randint(1, 64)] * rng.randint(1, 4)
        else:                                 # splice another seed
            o = rng.choice(others)
            j = rng.randrange(len(o) + 1)
            b[i:] = o[j:]
    return bytes(b)


def inputs(kind, decoder_bit, prefix=b"", seed=14, mutations=MUTATIONS):
    rng = random.Random(seed)
    seeds = corpus_seeds(kind, decoder_bit)
    others = [s for _, s in seeds]
    out = []
    for name, s in seeds:
        out.append((name, s))
        for k in range(mutations):
            out.append(("%s~%d" % (name, k), mutate(rng, s, others)))
    # A long poll answers at once (wait=0): no answer depends on timing.
    return [(n, prefix + re.sub(rb"wait=\d*", b"wait=0", d)) for n, d in out]


def cuts_for(name, n):
    rng = random.Random(name)
    return sorted({rng.randrange(n + 1) for _ in range(3)}) if n else []


# -- one connection, plain or TLS ---------------------------------------------

class Plain:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=dx.IO_TIMEOUT)

    def send(self, data):
        self.sock.sendall(data)

    def half_close(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def read(self, timeout):
        """Bytes; b"" when nothing came in time; None at the end."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return b""
        try:
            d = self.sock.recv(65536)
        except OSError:
            return None
        return d or None

    def close(self):
        self.sock.close()


class TLS(Plain):
    """TLS through memory BIOs, so the client decides each record and when
    its close_notify goes out."""

    def __init__(self, port, ctx):
        super().__init__(port)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname="localhost")
        deadline = time.monotonic() + dx.IO_TIMEOUT
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                if not self._fill(max(deadline - time.monotonic(), 0.01)):
                    raise AssertionError("the TLS handshake did not finish")
        self._flush()

    def _flush(self):
        d = self.out.read()
        if d:
            try:
                self.sock.sendall(d)
            except OSError:
                pass

    def _fill(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return False
        try:
            d = self.sock.recv(65536)
        except OSError:
            d = b""
        if d:
            self.inc.write(d)
        else:
            self.inc.write_eof()
        return True

    def send(self, data):
        # Each write is its own record: the parsers see the input in pieces.
        self.obj.write(data)
        self._flush()

    def half_close(self):
        try:
            self.obj.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass
        self._flush()

    def read(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                d = self.obj.read(65536)
                self._flush()
                return d or None
            except ssl.SSLWantReadError:
                left = deadline - time.monotonic()
                if left <= 0 or not self._fill(left):
                    return b""
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return None
            except ssl.SSLError as e:
                # An alert from the server is its close; anything else a fault.
                if "ALERT" in str(e).upper():
                    return None
                raise


def exchange(conn, data, cuts):
    """Sends data in pieces; reads until the server closes or is quiet, then
    closes the client's side and reads until the server's close. Returns
    (bytes, server closed first, server closed at all)."""
    got = b""
    try:
        pos = 0
        for c in cuts + [len(data)]:
            if c > pos:
                conn.send(data[pos:c])
                pos = c
        closed_first = False
        while True:
            d = conn.read(QUIET_S)
            if d is None:
                closed_first = True
                break
            if d == b"":
                break
            got += d
        closed = closed_first
        if not closed:
            conn.half_close()
            deadline = time.monotonic() + END_S
            while time.monotonic() < deadline:
                d = conn.read(deadline - time.monotonic())
                if d is None:
                    closed = True
                    break
                got += d
        return got, closed_first, closed
    finally:
        conn.close()


# -- what came back, normalized -----------------------------------------------

def ws_frames(data):
    """(opcode, what) for each whole server frame; raises on a masked one."""
    out = []
    while len(data) >= 2:
        b0, b1 = data[0], data[1]
        assert not b1 & 0x80, "a masked frame from the server"
        n, off = b1 & 0x7F, 2
        if n == 126:
            if len(data) < 4:
                break
            n, off = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            if len(data) < 10:
                break
            n, off = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < off + n:
            break
        payload, data = data[off:off + n], data[off + n:]
        op = b0 & 0x0F
        if op == 1:
            m = json.loads(payload)
            out.append(("text", m.get("type"), m.get("code")))
        elif op == 8:
            out.append(("close", struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None))
        else:
            out.append(("op", op))
    return out


def answers(data):
    """The server's answers, parsed strictly: a list of (status, error code,
    Connection: close) and then, after a 101, the WebSocket frames."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError("a cut answer head: %r" % data[:200])
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) [^\r\n]*$", lines[0])
        assert m, "not a status line: %r" % lines[0]
        status = int(m.group(1))
        hdr = {}
        for line in lines[1:]:
            k, colon, v = line.partition(":")
            assert colon and k and k == k.strip(), "a bad header line %r" % line
            hdr[k.lower()] = v.strip()
        close = hdr.get("connection", "").lower() == "close"
        if status == 101:
            out.append((101, None, False))
            out.extend(ws_frames(rest))
            return out
        if status == 100:
            out.append((100, None, False))
            data = rest
            continue
        if hdr.get("content-type", "").startswith("text/event-stream"):
            out.append((status, "stream", close))
            return out
        n = int(hdr.get("content-length", "0"))
        body, data = rest[:n], rest[n:]
        assert len(body) == n, "a cut body"
        code = None
        if status >= 400 and body:
            code = json.loads(body)["error"]["code"]
        out.append((status, code, close))
    return out


def lines(data):
    """The server's NDJSON lines: (type, error code) of each, without the
    room's messages and presence, which other inputs' connections make."""
    out = []
    *whole, rest = data.split(b"\n")
    assert rest == b"", "a cut line: %r" % rest[:200]
    for line in whole:
        m = json.loads(line)
        assert isinstance(m, dict) and isinstance(m.get("type"), str), line
        if m["type"] not in ("message", "presence"):
            out.append((m["type"], m.get("code")))
    # An ack comes when the store has the message, a refusal of a later line
    # at once: their relative order is the store's timing, not the parser's.
    # The other answers keep their order; the acks are compared as a set.
    return [a for a in out if a[0] != "ack"] + sorted(a for a in out if a[0] == "ack")


class BehindTLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not tls_certs.have_openssl():
            raise unittest.SkipTest("no openssl command")
        cls.tmp = tempfile.mkdtemp(prefix="duplex-tls-fuzz-")
        ca = tls_certs.make_ca(cls.tmp)
        cert = tls_certs.make_server_cert(cls.tmp, "s", ca, 14)
        cls.ctx = ssl.create_default_context(cafile=ca[0])
        cls.ctx.set_alpn_protocols(["http/1.1"])
        # No delivery bound: the test's own parallel inputs may put one
        # server's fan-out behind and not the other's, and a refusal
        # (rate_limited) on one side only is load, not a difference.
        quiet = ("--max-delivery-ms", "0")
        cls.plain = dx.Server(store="memory", extra=quiet).start()
        cls.tls = dx.Server(store="memory",
                            extra=quiet + ("--tls-cert", cert[0], "--tls-key", cert[1])).start()

    @classmethod
    def tearDownClass(cls):
        for s in (cls.tls, cls.plain):
            try:
                s.stop()
            finally:
                s.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_both(self, name, data, port):
        cuts = cuts_for(name, len(data))
        p = exchange(Plain(getattr(self.plain, port)), data, cuts)
        t = exchange(TLS(getattr(self.tls, port), self.ctx), data, cuts)
        return name, p, t

    def feed(self, items, port="http_port", parse=None):
        parse = parse or answers
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(lambda it: self.run_both(*it, port), items))
        n_closed = 0
        for name, p, t in results:
            with self.subTest(input=name):
                ap, at = parse(p[0]), parse(t[0])
                self.assertEqual(at, ap, "TLS and plain answer differently")
                self.assertEqual(t[1:], p[1:], "TLS and plain close differently")
                if any(a[2] for a in at if len(a) == 3 and isinstance(a[0], int)):
                    # Connection: close: the server closes, unasked.
                    self.assertTrue(t[1], "said Connection: close and kept the connection")
                    n_closed += 1
                if any(a[0] == "close" for a in at):
                    self.assertTrue(t[2], "sent a WebSocket close and kept the connection")
        return results, n_closed

    def assert_serves(self):
        self.assertIsNone(self.tls.proc.poll(), "duplexd exited")
        s = TLS(self.tls.http_port, self.ctx)
        got, _, _ = exchange(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", [])
        self.assertTrue(got.startswith(b"HTTP/1.1 200 ") and got.endswith(b"\r\n\r\nok"), got)

    def test_http_corpus(self):
        items = inputs("http", 0)
        results, n_closed = self.feed(items)
        statuses = {a[0] for _, _, t in results for a in answers(t[0]) if isinstance(a[0], int)}
        # The corpus reaches the parser's refusals and the routes alike.
        self.assertTrue({200, 400}.issubset(statuses), statuses)
        self.assertTrue(statuses & {411, 413, 431, 501, 505}, statuses)
        self.assertGreater(n_closed, 10)
        sys.stderr.write("http: %d inputs, statuses %s, %d closed by the server\n"
                         % (len(items), sorted(statuses), n_closed))
        self.assert_serves()
        # A full exchange afterwards: session, post, read over https.
        body = json.dumps({"nick": "after_fuzz"}).encode()
        got, _, _ = exchange(TLS(self.tls.http_port, self.ctx),
                             b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                             b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                             % len(body) + body, [])
        self.assertEqual(answers(got)[0][0], 201, got)

    def test_websocket_corpus(self):
        hs = dx.ws_handshake_bytes(0, extra="Sec-WebSocket-Protocol: duplex.v1\r\n")
        items = inputs("websocket", 0, prefix=hs)
        results, _ = self.feed(items)
        frames = [a for _, _, t in results for a in answers(t[0])[1:]]
        codes = {a[1] for a in frames if a[0] == "close"}
        self.assertTrue(codes & {1002, 1007}, codes)
        self.assertIn(("text", "welcome", None), frames)
        sys.stderr.write("websocket: %d inputs, close codes %s\n" % (len(items), sorted(codes, key=str)))
        self.assert_serves()
        # A real client afterwards: hello, join, send, ack, the message.
        ws = dx.WSClient("wss://localhost:%d/api/v1/ws" % self.tls.http_port, ssl=self.ctx)
        try:
            ws.hello("after_ws_fuzz")
            ws.join("after")
            ws.send({"type": "send", "room": "after", "text": "still fine", "cid": "a1"})
            self.assertEqual(ws.recv_type("ack")["cid"], "a1")
            self.assertEqual(ws.recv_type("message")["text"], "still fine")
        finally:
            ws.close()

    def test_tcp_lines(self):
        hello = b'{"type":"hello","nick":"fz"}\n{"type":"join","room":"fz"}\n'
        # Most inputs leave the line open (no close to wait for): fewer
        # mutations of the 41 JSON seeds keep this part at a few seconds.
        items = (inputs("ndjson", 0, prefix=hello)
                 + inputs("json", 0, prefix=hello, mutations=MUTATIONS // 3))
        results, _ = self.feed(items, "tcp_port", lines)
        kinds = {a for _, _, t in results for a in lines(t[0])}
        self.assertIn(("welcome", None), kinds)
        self.assertIn(("error", "bad_request"), kinds)
        self.assertTrue({k for k, _ in kinds} & {"ack", "pong"}, kinds)
        n_closed = sum(1 for _, _, t in results if t[1])
        sys.stderr.write("tcp: %d inputs, %d kinds of answer, %d closed by the server\n"
                         % (len(items), len(kinds), n_closed))
        self.assertIsNone(self.tls.proc.poll(), "duplexd exited")
        s = TLS(self.tls.tcp_port, self.ctx)
        got, _, _ = exchange(s, b'{"type":"hello","nick":"after_tcp"}\n{"type":"join","room":"z"}\n'
                             b'{"type":"send","room":"z","text":"ok","cid":"t1"}\n', [])
        self.assertEqual([k for k, _ in lines(got)][:3], ["welcome", "joined", "ack"], got)


if __name__ == "__main__":
    dx.main()
