#!/usr/bin/env python3
"""docs/protocol.md §9, limits: the per-token send rate (a token bucket
shared by POSTs and socket sends), rate_limited with retry_after on
sockets and 429 with Retry-After on HTTP, that rate_limited is not counted
as an error, that a flood over one token leaves the room responsive for
another, and that a client that backs off loses nothing acknowledged."""

import json
import os
import socket
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


def start(*extra):
    s = dx.Server(store="memory", extra=list(extra))
    s.start()
    return s


def metrics_page(server):
    """/metrics; under --max-conns-per-ip the connection of the request
    before may still count for a moment after its close (slower under
    Wine), so a 503 is asked again."""
    def fetch():
        st, hd, data = server.curl("GET", "/metrics")
        return data if st == 200 else None
    return dx.wait_until(fetch, what="/metrics answered with 200")


def metric(server, name):
    data = metrics_page(server)
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError("no %s in /metrics" % name)


REFUSED = 'duplex_limit_refused_total{limit="send_rate"}'


class SendRate(unittest.TestCase):
    def tearDown(self):
        if getattr(self, "server", None):
            self.server.stop()
            self.server.cleanup()

    def flood(self, c, room, n, prefix):
        """Sends n messages at once; returns (acked cids, rate_limited errors)."""
        for i in range(n):
            c.send({"type": "send", "room": room, "text": "%s %d" % (prefix, i),
                    "cid": "%s-%d" % (prefix, i)})
        acks, limited = {}, []
        while len(acks) + len(limited) < n:
            o = c.recv()
            if o["type"] == "ack":
                acks[o["cid"]] = o["id"]
            elif o["type"] == "error":
                self.assertEqual(o["code"], "rate_limited", o)
                limited.append(o)
            else:
                self.assertIn(o["type"], ("presence", "message", "joined"), o)
        return acks, limited

    def check_flood(self, c):
        room = "flood"
        acks, limited = self.flood(c, room, 60, "f")
        # Burst of 2N = 10, plus what refilled meanwhile (5/s).
        self.assertGreaterEqual(len(acks), 10)
        self.assertLess(len(acks), 30, "the rate held")
        for e in limited:
            self.assertIsInstance(e["retry_after"], int)
            self.assertGreaterEqual(e["retry_after"], 1)
            self.assertLessEqual(e["retry_after"], 200, "1000/5 ms at most")
            self.assertTrue(e["cid"].startswith("f-"), e)
        # 50 refusals and still open: rate_limited is not an error that counts.
        c.send({"type": "ping", "t": "alive"})
        self.assertEqual(c.recv_type("pong", skip=("presence", "message", "error"))["t"],
                         "alive")
        stored = [m["text"] for m in self.server.all_messages(room)]
        self.assertEqual(len(stored), len(acks), "a refused send is not stored")
        self.assertGreaterEqual(metric(self.server, REFUSED), len(limited))

    def test_websocket_flood(self):
        self.server = start("--send-rate", "5/1")
        c = self.server.ws_client("wsflood")
        self.check_flood(c)
        c.close()

    def test_tcp_flood(self):
        self.server = start("--send-rate", "5/1")
        c = self.server.tcp_client("tcpflood")
        self.check_flood(c)
        c.close()

    def test_http_429_and_shared_bucket(self):
        self.server = start("--send-rate", "2/3")
        c = self.server.tcp_client("shared")
        token = c.token
        for i in range(4):  # the burst, 2N = 4, over the socket
            c.send({"type": "send", "room": "h", "text": "s%d" % i})
            self.assertEqual(c.recv_type("ack")["id"], i + 1)
        st, hd, data = self.server.curl("POST", "/api/v1/rooms/h/messages",
                                        body={"text": "one more"}, token=token)
        self.assertEqual(st, 429, data)
        self.assertEqual(dx.decode_json(data)["error"]["code"], "rate_limited")
        # 1500 ms per send at 2/3: at most 2 s, at least 1 (rounded up).
        self.assertIn(hd["retry-after"], ("1", "2"))
        self.assertEqual(len(self.server.all_messages("h")), 4)
        c.close()

    def test_other_token_stays_prompt(self):
        self.server = start("--send-rate", "5/1")
        other = self.server.tcp_client("other")
        other.join("busy")
        watcher = self.server.ws_client("watcher")
        watcher.join("busy")
        # The flooder: raw TCP, sending as fast as the socket takes it for
        # the whole test, its answers read and thrown away on another thread.
        fl = socket.create_connection(("127.0.0.1", self.server.tcp_port))
        fl.sendall(b'{"type":"hello","nick":"flooder"}\n')
        stop = threading.Event()
        sent = [0]

        def flood():
            line = json.dumps({"type": "send", "room": "busy", "text": "x"}).encode() + b"\n"
            try:
                while not stop.is_set():
                    fl.sendall(line * 50)
                    sent[0] += 50
                    time.sleep(0.001)  # some 50,000 a second: 10,000 times the rate
            except OSError:
                pass

        def drain():
            try:
                while fl.recv(65536):
                    pass
            except OSError:
                pass
        threads = [threading.Thread(target=flood, daemon=True),
                   threading.Thread(target=drain, daemon=True)]
        for t in threads:
            t.start()
        try:
            dx.wait_until(lambda: sent[0] >= 2000, what="the flood under way")
            tok = self.server.session("poster")
            worst = 0.0
            # Others in the room, one after the other while the flood goes
            # on: each send acked, each post answered, each seen by the
            # watcher, never refused (their buckets are their own).
            for i in range(10):
                t0 = time.monotonic()
                other.send({"type": "send", "room": "busy", "text": "other %d" % i,
                            "cid": "o%d" % i})
                ack = other.recv_type("ack", skip=("presence", "message"))
                self.assertEqual(ack["cid"], "o%d" % i)
                self.assertEqual(self.server.post(tok, "busy", "http %d" % i)["id"] > 0, True)
                for want in ("other %d" % i, "http %d" % i):
                    while watcher.recv_type("message")["text"] != want:
                        pass
                worst = max(worst, time.monotonic() - t0)
            self.assertGreater(sent[0], 3000, "the flood went on meanwhile")
        finally:
            stop.set()
            try:
                fl.shutdown(socket.SHUT_RDWR)  # wakes the drain's recv
            except OSError:
                pass
            fl.close()
            for t in threads:
                t.join(10)
        sys.stderr.write("flood: %d sends; the others' slowest round trip %.0f ms\n"
                         % (sent[0], worst * 1000))
        self.assertLess(worst, 6.0 if dx.UNDER_WINE else 2.0, "the room stayed responsive")
        texts = [m["text"] for m in self.server.all_messages("busy")]
        for i in range(10):
            self.assertEqual(texts.count("other %d" % i), 1)
            self.assertEqual(texts.count("http %d" % i), 1)
        # 5/1 with bursts of 10: at most 10 plus 5 a second got through.
        self.assertLess(texts.count("x"), 10 + 5 * 30, "the flood was limited")
        dx.wait_until(lambda: metric(self.server, REFUSED) > 1000, what="the flood refused")
        for c in (other, watcher):
            c.close()

    def test_backing_off_loses_nothing(self):
        self.server = start("--send-rate", "10/1")
        c = self.server.tcp_client("patient")
        n, room = 60, "patient"
        pending = {"p-%d" % i: "p %d" % i for i in range(n)}
        acked = {}
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            for cid, text in list(pending.items()):
                c.send({"type": "send", "room": room, "text": text, "cid": cid})
            wait_ms = 0
            for _ in range(len(pending)):
                o = c.recv()
                if o["type"] == "ack":
                    acked[o["cid"]] = o["id"]
                    pending.pop(o["cid"], None)
                elif o["type"] == "error":
                    self.assertEqual(o["code"], "rate_limited", o)
                    wait_ms = max(wait_ms, o["retry_after"])
            time.sleep(wait_ms / 1000.0)
        self.assertFalse(pending, "all sent within 60 s")
        stored = self.server.all_messages(room)
        ids = [m["id"] for m in stored]
        self.assertEqual(sorted(ids), sorted(acked.values()), "every acked id stored")
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(sorted(m["text"] for m in stored), sorted("p %d" % i for i in range(n)))
        c.close()

    def test_off_and_default(self):
        self.server = start("--send-rate", "0/1")
        c = self.server.tcp_client("free")
        acks, limited = self.flood(c, "free", 100, "z")
        self.assertEqual((len(acks), len(limited)), (100, 0), "0/1 turns the limit off")
        c.close()
        self.server.stop()
        self.server.cleanup()
        self.server = dx.Server(store="memory", send_rate=None)
        self.server.start()
        c = self.server.tcp_client("dflt")
        acks, limited = self.flood(c, "dflt", 100, "d")
        self.assertGreaterEqual(len(acks), 40, "the default 20/1 allows bursts of 40")
        self.assertLess(len(acks), 100, "the default 20/1 is on")
        c.close()

    def test_bad_flag(self):
        for bad in ("20", "x/1", "1/0"):
            p = dx.run_duplexd("--send-rate", bad)
            self.assertEqual(p.returncode, 2, bad)


class SessionRate(unittest.TestCase):
    """--session-rate N/S per client IP: POST /api/v1/session and a socket
    hello with a nick share the bucket; a hello with a token is free."""

    def test_sessions_per_ip(self):
        s = start("--session-rate", "2/60")
        try:
            st, hd, data = s.curl("GET", "/metrics")
            self.assertIn(b'duplex_limit_refused_total{limit="session_rate"} 0', data)
            tokens = [s.session("n%d" % i) for i in range(3)]  # 3 of the burst of 4
            c = s.tcp_client("fourth")  # the 4th, over a socket
            st, hd, data = s.curl("POST", "/api/v1/session", body={"nick": "fifth"})
            self.assertEqual(st, 429, data)
            self.assertEqual(dx.decode_json(data)["error"]["code"], "rate_limited")
            # 30 s per session at 2/60: rounded up, at most 30.
            self.assertTrue(1 <= int(hd["retry-after"]) <= 30, hd)
            w = s.ws_client()
            w.send({"type": "hello", "nick": "sixth"})
            o = w.recv()
            self.assertEqual((o["type"], o["code"]), ("error", "rate_limited"), o)
            self.assertTrue(1 <= o["retry_after"] <= 30000, o)
            # A token is not a new session: resuming one still works.
            w.send({"type": "hello", "token": tokens[0]})
            self.assertEqual(w.recv_type("welcome")["nick"], "n0")
            self.assertEqual(s.post(tokens[1], "r", "still posting")["id"], 1)
            st, hd, data = s.curl("GET", "/metrics")
            self.assertIn(b'duplex_limit_refused_total{limit="session_rate"} 2', data)
            c.close()
            w.close()
        finally:
            s.stop()
            s.cleanup()

    def test_off_by_default(self):
        s = start()
        try:
            for i in range(30):
                s.session("free%d" % i)
        finally:
            s.stop()
            s.cleanup()


class MaxConnsPerIP(unittest.TestCase):
    """--max-conns-per-ip N counts the HTTP and raw TCP listeners together;
    over it a raw TCP connection is closed at once and an HTTP one gets
    503 and a close."""

    def test_cap_holds_at_its_number(self):
        s = start("--max-conns-per-ip", "3")
        try:
            a = s.tcp_client("a")
            b = s.ws_client("b")
            c = s.raw()  # an idle HTTP connection counts too
            time.sleep(0.2)
            extra = s.raw(s.tcp_port)
            extra.settimeout(dx.IO_TIMEOUT)
            try:
                self.assertEqual(extra.recv(100), b"", "closed right after accept")
            except ConnectionResetError:
                pass
            extra.close()
            st, hd, data = s.curl("GET", "/api/v1/rooms")
            self.assertEqual(st, 503, data)
            self.assertEqual(dx.decode_json(data)["error"]["code"], "rate_limited")
            # The three still work.
            a.send({"type": "ping", "t": 1})
            self.assertEqual(a.recv_type("pong")["t"], 1)
            b.send({"type": "ping", "t": 2})
            self.assertEqual(b.recv_type("pong")["t"], 2)
            c.sendall(b"GET /api/v1/rooms HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(dx.HTTPReader(c).response()[0], 200)
            # One gone: room for exactly one more.
            a.close()
            a2 = dx.wait_until(lambda: self.try_hello(s, "a2"), what="a place after a close")
            extra = s.raw(s.tcp_port)
            extra.settimeout(dx.IO_TIMEOUT)
            try:
                self.assertEqual(extra.recv(100), b"", "the cap holds again at 3")
            except ConnectionResetError:
                pass
            extra.close()
            a2.send({"type": "ping", "t": 3})
            self.assertEqual(a2.recv_type("pong")["t"], 3)
            for x in (a2, b, c):
                x.close()
            self.assertGreaterEqual(
                metric(s, 'duplex_limit_refused_total{limit="max_conns_per_ip"}'), 3)
        finally:
            s.stop()
            s.cleanup()


    @staticmethod
    def try_hello(s, nick):
        """A raw TCP client that got its welcome, or None if closed at once."""
        c = dx.LineClient(s.raw(s.tcp_port))
        try:
            c.hello(nick)
            return c
        except (AssertionError, OSError, EOFError):
            c.close()
            return None


class TrustedProxy(unittest.TestCase):
    """--trusted-proxy CIDR: X-Forwarded-For's last hop on HTTP and a PROXY
    v1 header on raw TCP name the client; from anyone else XFF is ignored."""

    def sessions(self, s, xff, n):
        got = []
        for i in range(n):
            st, hd, data = s.curl("POST", "/api/v1/session", body={"nick": "p%d" % i},
                                  headers=["X-Forwarded-For: " + xff])
            got.append(st)
        return got

    def test_forwarded_for_from_trusted_proxy(self):
        s = start("--session-rate", "1/60", "--trusted-proxy", "127.0.0.0/8",
                  "--trusted-proxy", "::1/128")
        try:
            self.assertEqual(self.sessions(s, "9.9.9.9, 198.51.100.1", 3), [201, 201, 429])
            self.assertEqual(self.sessions(s, "198.51.100.2", 2), [201, 201],
                             "another client behind the same proxy has its own bucket")
            # PROXY v1 on raw TCP: the header names the client.
            c = dx.LineClient(s.raw(s.tcp_port))
            c.send_raw(b"PROXY TCP4 198.51.100.1 127.0.0.1 40000 8081\r\n")
            c.send({"type": "hello", "nick": "via-tcp"})
            o = c.recv()
            self.assertEqual((o["type"], o.get("code")), ("error", "rate_limited"), o)
            c.close()
            c = dx.LineClient(s.raw(s.tcp_port))
            c.send_raw(b"PROXY TCP6 2001:db8::7 ::1 40000 8081\r\n")
            self.assertEqual(c.hello("v6-client")["type"], "welcome")
            c.close()
            # PROXY UNKNOWN counts as the proxy itself (fresh bucket here).
            c = dx.LineClient(s.raw(s.tcp_port))
            c.send_raw(b"PROXY UNKNOWN\r\n")
            self.assertEqual(c.hello("the-proxy")["type"], "welcome")
            c.close()
            # A trusted proxy's raw TCP connection must start with the header.
            c = dx.LineClient(s.raw(s.tcp_port))
            c.send({"type": "hello", "nick": "no-header"})
            self.assertEqual(c.wait_closed(), [])
            c.close()
        finally:
            s.stop()
            s.cleanup()

    def test_untrusted_peer_xff_ignored(self):
        s = start("--session-rate", "1/60", "--trusted-proxy", "10.0.0.0/8")
        try:
            self.assertEqual(self.sessions(s, "198.51.100.1", 2), [201, 201])
            self.assertEqual(self.sessions(s, "198.51.100.2", 1), [429],
                             "XFF from an untrusted peer names nobody")
            # No PROXY header expected from an untrusted peer: plain NDJSON.
            st, hd, data = s.curl("GET", "/api/v1/rooms")
            self.assertEqual(st, 200)
        finally:
            s.stop()
            s.cleanup()

    def test_conn_cap_per_forwarded_client(self):
        s = start("--max-conns-per-ip", "2", "--trusted-proxy", "127.0.0.1/32")
        try:
            conns = []
            for i in range(2):  # two TCP connections for one client behind the proxy
                c = dx.LineClient(s.raw(s.tcp_port))
                c.send_raw(b"PROXY TCP4 203.0.113.5 127.0.0.1 4000%d 8081\r\n" % i)
                c.hello("cap%d" % i)
                conns.append(c)
            c = dx.LineClient(s.raw(s.tcp_port))
            c.send_raw(b"PROXY TCP4 203.0.113.5 127.0.0.1 40009 8081\r\n")
            c.send({"type": "ping", "t": 1})
            self.assertEqual(c.wait_closed(), [], "the third from that client is closed")
            c.close()
            # Once a connection is counted as the client, the proxy has room again.
            st, hd, data = s.curl("GET", "/api/v1/rooms", headers=["X-Forwarded-For: 203.0.113.6"])
            self.assertEqual(st, 200)
            st, hd, data = s.curl("GET", "/api/v1/rooms", headers=["X-Forwarded-For: 203.0.113.5"])
            self.assertEqual(st, 503, data)
            for c in conns:
                c.close()
        finally:
            s.stop()
            s.cleanup()


class PasswordFile(unittest.TestCase):
    """--password-file (docs/protocol.md §9): the first line, without its
    line end and trailing spaces, is the password."""

    def test_first_line_is_the_password(self):
        s = dx.Server(store="memory")
        path = os.path.join(s.tmp, "pw")
        with open(path, "wb") as f:
            f.write(b"s3cret word \r\nnot this\n")
        s.extra += ["--password-file", path]
        s.start()
        try:
            st, hd, data = s.curl("POST", "/api/v1/session",
                                  body={"nick": "a", "password": "s3cret word"})
            self.assertEqual(st, 201, data)
            for wrong in ("s3cret word ", "s3cret wor", "not this", "s3cret word x"):
                st, hd, data = s.curl("POST", "/api/v1/session",
                                      body={"nick": "a", "password": wrong})
                self.assertEqual(st, 401, (wrong, data))
            c = s.tcp_client()
            c.hello("b", password="s3cret word")
            c.close()
            c = s.tcp_client()
            c.send({"type": "hello", "nick": "c", "password": "nope"})
            self.assertEqual(c.recv()["type"], "error")
            c.close()
        finally:
            s.stop()
            s.cleanup()

    def test_bad_files(self):
        p = dx.run_duplexd("--password-file", "/nonexistent/duplex-pw", "--http", "127.0.0.1:0",
                           "--tcp", "127.0.0.1:0", "--store", "memory")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"--password-file", p.stderr)
        p = dx.run_duplexd("--password-file", "x", "--password", "y")
        self.assertEqual(p.returncode, 2, p.stderr)


if __name__ == "__main__":
    dx.main()
