#!/usr/bin/env python3
"""docs/protocol.md §8 against the real duplexd --udp, with a raw Python UDP
socket: the padded hello with a token, the cookie, no amplification before
the cookie came back, one object per datagram, drops without an answer,
paced replay, ack before the sender's own message, cid retries, ids shared
with HTTP, expiry and the goodbye at shutdown."""

import http.client
import json
import os
import socket
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402

DATAGRAM = 1200
QUIET = 0.4  # how long "no answer" is waited for
if dx.UNDER_WINE:
    QUIET = 1.0


def encode(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def padded_hello(fields, size=DATAGRAM):
    """A hello of exactly `size` bytes (docs/protocol.md §8)."""
    obj = dict({"type": "hello"}, **fields)
    obj["pad"] = ""
    data = encode(obj)
    obj["pad"] = "p" * (size - len(data))
    data = encode(obj)
    assert len(data) == size, len(data)
    return data


class UdpClient:
    """A raw UDP socket that counts every byte each way."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.server = ("127.0.0.1", port)
        self.cookie = None
        self.welcome = None
        self.bytes_sent = 0
        self.bytes_received = 0

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.bytes_sent += len(data)
        self.sock.sendto(data, self.server)

    def send(self, obj, cookie=True):
        if cookie and self.cookie is not None and "cookie" not in obj:
            obj = dict(obj, cookie=self.cookie)
        self.send_raw(encode(obj))

    def recv_datagram(self, timeout=dx.IO_TIMEOUT):
        self.sock.settimeout(timeout)
        data, addr = self.sock.recvfrom(65536)
        self.bytes_received += len(data)
        assert addr[1] == self.server[1], addr
        return data

    def recv(self, timeout=dx.IO_TIMEOUT):
        data = self.recv_datagram(timeout)
        assert len(data) <= DATAGRAM, len(data)
        return json.loads(data)

    def recv_type(self, typ, timeout=dx.IO_TIMEOUT, skip=("presence",)):
        deadline = time.monotonic() + timeout
        while True:
            o = self.recv(max(0.05, deadline - time.monotonic()))
            if o.get("type") == typ:
                return o
            if o.get("type") not in skip:
                raise AssertionError("wanted %s, got %r" % (typ, o))

    def quiet(self, wait=QUIET):
        """Nothing arrives within wait seconds; returns what did, if anything."""
        try:
            return self.recv_datagram(wait)
        except socket.timeout:
            return None

    def hello(self, token, **extra):
        self.send_raw(padded_hello(dict({"token": token}, **extra)))
        self.welcome = self.recv_type("welcome")
        self.cookie = self.welcome["cookie"]
        return self.welcome

    def ping(self, t, **kw):
        self.send({"type": "ping", "t": t}, **kw)


def metric(server, line_start):
    st, hd, body = server.curl("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    raise AssertionError("no %s in /metrics" % line_start)


class UdpTest(dx.ServerTest):
    extra = ("--udp", "127.0.0.1:0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.held = []
        with open(cls.server.ready_file) as f:
            cls.udp_port = int(json.load(f)["udp"])

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            for c in cls.held:
                c.close()

    def setUp(self):
        self.clients = []

    def tearDown(self):
        # Closed only once the class's server is gone: the server keeps a
        # session 30-40 s after its client goes quiet, and a port closed now
        # could be handed to a later test's socket, whose hello (another
        # token from an address with a live session) the server then rightly
        # ignores (docs/protocol.md §8): a welcome that never came, once in
        # a CI run.
        self.held.extend(self.clients)

    def client(self):
        c = UdpClient(self.udp_port)
        self.clients.append(c)
        return c

    def session(self, nick=None):
        c = self.client()
        c.hello(self.token(nick))
        c.ping("validate")
        self.assertEqual(c.recv_type("pong")["t"], "validate")
        return c

    def metric(self, line_start):
        return metric(self.server, line_start)


class Start(UdpTest):
    def test_ready_file_info_and_log_line(self):
        self.assertGreater(self.udp_port, 0)
        st, info = self.server.get_json("/api/v1/info")
        self.assertEqual(st, 200)
        self.assertEqual(info["udp_port"], self.udp_port)
        self.assertIn("udp", info["transports"])
        self.assertRegex(self.server.stderr_text(), r"listening http=\S+ tcp=\S+ udp=127\.0\.0\.1:%d"
                         % self.udp_port)

    def test_off_by_default(self):
        st, info = self.server.get_json("/api/v1/info")
        s = dx.Server().start()
        try:
            st, info = s.get_json("/api/v1/info")
            self.assertNotIn("udp_port", info)
            self.assertNotIn("udp", info["transports"])
            with open(s.ready_file) as f:
                self.assertNotIn("udp", json.load(f))
        finally:
            s.stop()
            s.cleanup()

    def test_padded_hello_gets_welcome_with_cookie(self):
        nick = self.nick()
        token = self.token(nick)
        c = self.client()
        w = c.hello(token)
        self.assertEqual((w["nick"], w["token"]), (nick, token))
        self.assertTrue(w["server"].startswith("duplexd/"), w)
        self.assertIsInstance(w["epoch"], str)
        self.assertIsInstance(w["cookie"], str)
        self.assertGreaterEqual(len(w["cookie"]), 16, "unguessable")
        other = self.client()
        self.assertNotEqual(other.hello(self.token())["cookie"], w["cookie"])

    def test_unpadded_hello_ignored(self):
        c = self.client()
        token = self.token()
        c.send({"type": "hello", "token": token})
        self.assertIsNone(c.quiet(), "an unpadded hello gets no answer")
        c.send_raw(padded_hello({"token": token}, DATAGRAM - 1))
        self.assertIsNone(c.quiet(), "1199 bytes: no answer")
        c.send_raw(padded_hello({"token": token}, DATAGRAM + 1))
        self.assertIsNone(c.quiet(), "1201 bytes: no answer")
        self.assertEqual(c.bytes_received, 0)
        c.hello(token)  # the same address, now padded: welcome

    def test_nick_only_hello_ignored(self):
        c = self.client()
        c.send_raw(padded_hello({"nick": self.nick()}))
        self.assertIsNone(c.quiet(), "a nick is not enough on UDP")

    def test_unknown_token_refused(self):
        c = self.client()
        c.send_raw(padded_hello({"token": "t" * 43}))
        self.assertIsNone(c.quiet(), "a token the server did not issue gets no answer")
        c.send_raw(padded_hello({"token": "not a token"}))
        self.assertIsNone(c.quiet())

    def test_repeated_hello_same_welcome(self):
        c = self.client()
        token = self.token()
        hello = padded_hello({"token": token})
        c.send_raw(hello)
        first = c.recv_datagram()
        c.send_raw(hello)
        second = c.recv_datagram()
        self.assertEqual(first, second, "the same welcome, byte for byte")
        c.cookie = json.loads(first)["cookie"]
        c.ping(1)
        self.assertEqual(c.recv_type("pong")["t"], 1)
        c.send_raw(hello)  # still the same after the cookie came back
        self.assertEqual(c.recv_datagram(), first)


class Abuse(UdpTest):
    def test_no_amplification_before_cookie(self):
        room = self.room()
        token = self.token()
        for i in range(20):
            self.server.post(token, room, "history %d " % i + "x" * 900)
        c = self.client()
        hello = padded_hello({"token": token})
        c.send_raw(hello)
        welcome = c.recv_datagram()
        # Everything an attacker spoofing this address could send without
        # reading the welcome: repeated hellos, cookie-less requests that
        # would make large answers, garbage.
        for _ in range(3):
            c.send_raw(hello)
        c.send({"type": "join", "room": room, "since": 0}, cookie=False)
        c.send({"type": "ping", "t": "x" * 900}, cookie=False)
        c.send_raw(b"{}")
        c.send({"type": "join", "room": room, "since": 0, "cookie": "0" * 32})
        while c.quiet() is not None:
            pass
        self.assertLessEqual(c.bytes_received, 3 * c.bytes_sent,
                             "sent %d, received %d" % (c.bytes_sent, c.bytes_received))
        self.assertEqual(c.bytes_received, 4 * len(welcome), "only the four welcomes came back")

    def test_oversize_dropped(self):
        c = self.session()
        big = encode({"type": "ping", "t": "x" * 1300, "cookie": c.cookie})
        self.assertGreater(len(big), DATAGRAM)
        c.send_raw(big)
        self.assertIsNone(c.quiet(), "a datagram over 1200 bytes is dropped")
        c.ping("after")
        self.assertEqual(c.recv_type("pong")["t"], "after")

    def test_malformed_dropped(self):
        c = self.session()
        for junk in (b"", b"\x00\xff", b"not json", b"[1,2,3]", b'"hello"',
                     b'{"type":"ping","t":1,"cookie":"%s"' % c.cookie.encode(),
                     b'{"type":"ping"}{"type":"ping"}'):
            c.send_raw(junk)
        self.assertIsNone(c.quiet(), "malformed datagrams are dropped without an answer")
        c.ping("ok")
        self.assertEqual(c.recv_type("pong")["t"], "ok")

    def test_wrong_or_missing_cookie_dropped(self):
        c = self.session()
        c.ping("none", cookie=False)
        self.assertIsNone(c.quiet(), "no cookie: dropped")
        c.send({"type": "ping", "t": "wrong", "cookie": "0" * len(c.cookie)})
        self.assertIsNone(c.quiet(), "a wrong cookie: dropped")
        c.send({"type": "ping", "t": "short", "cookie": c.cookie[:-1]})
        self.assertIsNone(c.quiet())
        other = self.session()
        c.send({"type": "ping", "t": "other", "cookie": other.cookie})
        self.assertIsNone(c.quiet(), "another session's cookie: dropped")
        c.ping("right")
        self.assertEqual(c.recv_type("pong")["t"], "right")

    def test_errors_never_end_a_session(self):
        c = self.session()
        for i in range(15):
            c.send({"type": "join", "room": "NOT A ROOM"})
            self.assertEqual(c.recv_type("error")["code"], "bad_request")
        c.ping("alive")
        self.assertEqual(c.recv_type("pong")["t"], "alive")

    def test_datagram_from_unknown_address_dropped(self):
        c = self.session()
        stranger = self.client()
        stranger.send({"type": "ping", "t": 1, "cookie": c.cookie})
        self.assertIsNone(stranger.quiet(), "a cookie is only good from its own address")
        self.assertIsNone(c.quiet())

    def test_metrics_count_drops(self):
        before = self.metric('duplex_udp_dropped_total{reason="bad_cookie"}')
        c = self.session()
        c.ping(1, cookie=False)
        c.quiet()
        dx.wait_until(lambda: self.metric('duplex_udp_dropped_total{reason="bad_cookie"}')
                      > before, what="bad_cookie counted")
        self.assertGreater(self.metric("duplex_udp_datagrams_in_total"), 0)
        self.assertGreater(self.metric("duplex_udp_datagrams_out_total"), 0)
        self.assertGreaterEqual(self.metric("duplex_udp_sessions"), 1)


class Chat(UdpTest):
    def test_send_ack_then_own_message(self):
        room = self.room()
        c = self.session()
        c.send({"type": "join", "room": room})
        j = c.recv_type("joined")
        self.assertEqual(j["last_id"], 0)
        c.send({"type": "send", "room": room, "text": "hi over udp", "cid": "u-1"})
        ack = c.recv()
        self.assertEqual((ack["type"], ack["cid"], ack["room"]), ("ack", "u-1", room), ack)
        msg = c.recv_type("message")
        self.assertEqual((msg["id"], msg["text"], msg["cid"]), (ack["id"], "hi over udp", "u-1"))
        self.assertEqual(msg["from"], c.welcome["nick"])

    def test_cid_retry_returns_same_id(self):
        room = self.room()
        c = self.session()
        c.send({"type": "send", "room": room, "text": "once", "cid": "retry-1"})
        first = c.recv_type("ack")
        c.send({"type": "send", "room": room, "text": "once", "cid": "retry-1"})
        second = c.recv_type("ack")
        self.assertEqual(first["id"], second["id"])
        self.assertEqual([m["text"] for m in self.server.all_messages(room)], ["once"])

    def test_http_posts_arrive_with_same_ids(self):
        room = self.room()
        c = self.session()
        c.send({"type": "join", "room": room})
        c.recv_type("joined")
        token = self.token()
        ids = [self.server.post(token, room, "from http %d" % i)["id"] for i in range(5)]
        got = [c.recv_type("message") for _ in ids]
        self.assertEqual([m["id"] for m in got], ids)
        self.assertEqual([m["text"] for m in got], ["from http %d" % i for i in range(5)])

    def test_join_since_replays_paced_one_per_datagram(self):
        room = self.room()
        token = self.token()
        n = 300
        # One keep-alive connection: a curl per message took 6 s.
        conn = http.client.HTTPConnection("127.0.0.1", self.server.http_port,
                                          timeout=dx.IO_TIMEOUT)
        try:
            for i in range(n):
                conn.request("POST", "/api/v1/rooms/%s/messages" % room,
                             body=json.dumps({"text": "m%d" % i}),
                             headers={"Authorization": "Bearer " + token,
                                      "Content-Type": "application/json"})
                r = conn.getresponse()
                self.assertEqual(r.status, 201, r.read())
                r.read()
        finally:
            conn.close()
        c = self.session()
        c.send({"type": "join", "room": room, "since": 0})
        self.assertEqual(c.recv_type("joined")["last_id"], n)
        start = time.monotonic()
        ids = []
        for _ in range(n):
            data = c.recv_datagram()
            o = json.loads(data)  # exactly one object per datagram
            self.assertEqual(o["type"], "message")
            ids.append(o["id"])
        elapsed = time.monotonic() - start
        self.assertEqual(sorted(ids), list(range(1, n + 1)), "every stored message once")
        self.assertLessEqual(elapsed, n / 100.0, "at least 100 datagrams a second")
        self.assertGreaterEqual(elapsed, 0.05, "paced, not all at once (%.3f s)" % elapsed)
        self.assertIsNone(c.quiet(0.2), "nothing more")

    def test_join_since_then_live(self):
        room = self.room()
        token = self.token()
        for i in range(3):
            self.server.post(token, room, "old %d" % i)
        c = self.session()
        c.send({"type": "join", "room": room, "since": 1})
        c.recv_type("joined")
        self.assertEqual([c.recv_type("message")["id"] for _ in range(2)], [2, 3])
        new = self.server.post(token, room, "new")["id"]
        self.assertEqual(c.recv_type("message")["id"], new)

    def test_object_too_large_is_not_sent(self):
        room = self.room()
        c = self.session()
        c.send({"type": "join", "room": room})
        c.recv_type("joined")
        token = self.token()
        big = self.server.post(token, room, "y" * 1500)["id"]
        small = self.server.post(token, room, "small")["id"]
        m = c.recv_type("message")
        self.assertEqual(m["id"], small, "the 1500-byte message left a gap (id %d)" % big)

    def test_leave(self):
        room = self.room()
        c = self.session()
        c.send({"type": "join", "room": room})
        c.recv_type("joined")
        c.send({"type": "leave", "room": room})
        self.assertEqual(c.recv_type("left")["room"], room)
        self.server.post(self.token(), room, "after leave")
        self.assertIsNone(c.quiet())


def session_expiry():
    """Life.test_session_expires_between_30_and_40_s, on a server of its own.
    It waits 30 to 41 s on the protocol's clock: setUpModule starts it in a
    thread so that the other classes run meanwhile (one after the other,
    the file took 60 s, 42 of them here); the test collects its outcome."""
    check = unittest.TestCase()
    server = dx.Server(extra=UdpTest.extra).start()
    clients = []
    try:
        with open(server.ready_file) as f:
            port = int(json.load(f)["udp"])

        def session():
            c = UdpClient(port)
            clients.append(c)
            c.hello(server.session(dx.unique("n").replace("-", "_")))
            c.ping("validate")
            check.assertEqual(c.recv_type("pong")["t"], "validate")
            return c

        a = session()
        b = session()
        sessions = metric(server, "duplex_udp_sessions")
        t0 = time.monotonic()
        time.sleep(28)
        a.ping("at 28 s")
        check.assertEqual(a.recv_type("pong")["t"], "at 28 s", "still alive at 28 s")
        # b is forgotten (the count drops) by 41 s: wait for that, not 41 s.
        while metric(server, "duplex_udp_sessions") >= sessions:
            check.assertLess(time.monotonic() - t0, 41, "b still known after 41 s")
            time.sleep(0.5)
        b.ping("forgotten")
        check.assertIsNone(b.quiet(1.0), "forgotten after 40 s: the cookie is no longer known")
        b.hello(server.session(dx.unique("n").replace("-", "_")))  # a new hello starts over
        b.ping("again")
        check.assertEqual(b.recv_type("pong")["t"], "again")
    finally:
        for c in clients:
            c.close()
        try:
            server.stop()
        finally:
            server.cleanup()


_background = ThreadPoolExecutor(1)
_expiry = None


def setUpModule():
    global _expiry
    _expiry = _background.submit(session_expiry)


def tearDownModule():
    _background.shutdown(wait=True)


class Life(UdpTest):
    def test_session_expires_between_30_and_40_s(self):
        _expiry.result(timeout=120)  # raises what the check raised

    @dx.skip_on_wine("needs SIGTERM semantics")
    def test_shutdown_sends_error_to_each_session(self):
        s = dx.Server(extra=("--udp", "127.0.0.1:0")).start()
        try:
            with open(s.ready_file) as f:
                port = int(json.load(f)["udp"])
            clients = []
            for i in range(3):
                c = UdpClient(port)
                clients.append(c)
                c.hello(s.session("bye%d" % i))
                c.ping("v")
                c.recv_type("pong")
            s.terminate()
            for c in clients:
                e = c.recv_type("error")
                self.assertEqual(e["code"], "shutting_down")
            self.assertEqual(s.stop(), 0)
        finally:
            for c in clients:
                c.close()
            s.cleanup()


if __name__ == "__main__":
    dx.main()
