#!/usr/bin/env python3
"""A conformance sweep of duplexd against the protocol (docs/protocol.md,
sections as PROTOCOL.md's): the testable statements no other file checks —
the headers every answer carries on HTTP/1.1 and HTTP/1.0, the error words of
the statuses outside PROTOCOL's list, what counts towards the error limit
on raw TCP, cid retries across transports and over the send rate, the
password on raw TCP, shutdown on HTTP/1.0, and the room limit of the ticker
flag. One server for the file, plus one for each case that must stop or
configure its own."""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402

_shared = []


def setUpModule():
    _shared.append(dx.Server().start())


def tearDownModule():
    s = _shared.pop()
    try:
        s.stop()
    finally:
        s.cleanup()


class Shared(dx.ServerTest):
    """The file's one server (started once, for every class)."""

    @classmethod
    def setUpClass(cls):
        cls.server = _shared[0]

    @classmethod
    def tearDownClass(cls):
        pass


def raw(server, text):
    """Sends one request as written; returns (status, headers, body, status line)."""
    s = server.raw()
    try:
        s.sendall(text.encode("latin-1") if isinstance(text, str) else text)
        r = dx.HTTPReader(s)
        head = r.read_until(b"\r\n\r\n").decode("latin-1")
        first, hd = head.split("\r\n", 1)[0], dx.parse_head(head)[1]
        body = b""
        if "content-length" in hd:
            body = r.read_n(int(hd["content-length"]))
        return int(first.split()[1]), hd, body, first
    finally:
        s.close()


class Headers(Shared):
    """docs/protocol.md §4: every answer, on every route and HTTP version,
    says Access-Control-Allow-Origin; JSON bodies say their type."""

    def requests(self, version):
        room, tok = "conf-hd", self.server.session("hd_nick")
        big_line = "GET /api/v1/rooms?x=" + "a" * 9000 + " HTTP/%s\r\n\r\n" % version
        big_head = "GET /healthz HTTP/%s\r\nX-Big: %s\r\n\r\n" % (version, "b" * 17000)
        ws = ("GET /api/v1/ws HTTP/%s\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              % version)
        return [
            (200, None, "GET /healthz HTTP/%s\r\n\r\n" % version),
            (200, None, "GET /metrics HTTP/%s\r\n\r\n" % version),
            (200, None, "GET /api/v1/info HTTP/%s\r\n\r\n" % version),
            (200, None, "GET /api/v1/time HTTP/%s\r\n\r\n" % version),
            (200, None, "GET /api/v1/rooms HTTP/%s\r\n\r\n" % version),
            (200, None, "GET /api/v1/rooms/%s/messages?since=0 HTTP/%s\r\n\r\n" % (room, version)),
            (201, None, "POST /api/v1/session HTTP/%s\r\nContent-Length: 16\r\n\r\n"
                        '{"nick":"hd_10"}' % version),
            (201, None, "POST /api/v1/rooms/%s/messages HTTP/%s\r\nAuthorization: Bearer %s\r\n"
                        'Content-Length: 12\r\n\r\n{"text":"x"}' % (room, version, tok)),
            (400, "bad_request", "GET /api/v1/rooms/%s/messages?since=x HTTP/%s\r\n\r\n"
                                 % (room, version)),
            (401, "unauthorized", "POST /api/v1/rooms/%s/messages HTTP/%s\r\n"
                                  'Content-Length: 12\r\n\r\n{"text":"x"}' % (room, version)),
            (404, "not_found", "GET /nope HTTP/%s\r\n\r\n" % version),
            (405, "method_not_allowed", "PUT /healthz HTTP/%s\r\nContent-Length: 0\r\n\r\n"
                                        % version),
            (411, "length_required", "POST /api/v1/session HTTP/%s\r\n\r\n" % version),
            (413, "too_large", "POST /api/v1/session HTTP/%s\r\nContent-Length: 70000\r\n\r\n"
                               % version),
            (414, "uri_too_long", big_line),
            (431, "headers_too_large", big_head),
            (400, "bad_request", ws + "Sec-WebSocket-Version: 13\r\n\r\n"),
            # A WebSocket handshake needs HTTP/1.1 (docs/protocol.md §4.7).
            (426 if version == "1.1" else 400,
             "upgrade_required" if version == "1.1" else "bad_request",
             ws + "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 8\r\n\r\n" % dx.WS_KEY),
        ]

    def check_version(self, version):
        for status, word, req in self.requests(version):
            st, hd, body, first = raw(self.server, req)
            what = "%s (HTTP/%s)" % (req.split("\r\n", 1)[0][:60], version)
            self.assertEqual(st, status, what + ": " + repr(body[:200]))
            self.assertEqual(hd.get("access-control-allow-origin"), "*", what)
            self.assertRegex(first, r"^HTTP/1\.[01] ", what)
            if word is not None:
                self.assert_error(st, hd, body, word, status)
            if status == 405:
                self.assertIn("allow", hd, what)
            if status == 426:
                self.assertEqual(hd.get("sec-websocket-version"), "13", what)
            if version == "1.0":
                self.assertNotIn("chunked", hd.get("transfer-encoding", ""), what)

    def test_every_answer_http11(self):
        self.check_version("1.1")

    def test_every_answer_http10(self):
        self.check_version("1.0")

    def test_sse_head_on_both_versions(self):
        for version in ("1.1", "1.0"):
            s = self.server.raw()
            try:
                s.sendall(("GET /api/v1/rooms/conf-sse/events HTTP/%s\r\n"
                           "Accept: text/event-stream\r\n\r\n" % version).encode())
                head = dx.HTTPReader(s).read_until(b"\r\n\r\n").decode("latin-1")
            finally:
                s.close()
            st, hd = int(head.split()[1]), dx.parse_head(head)[1]
            self.assertEqual(st, 200, head)
            self.assertEqual(hd.get("content-type"), "text/event-stream", version)
            self.assertEqual(hd.get("cache-control"), "no-cache", version)
            self.assertEqual(hd.get("access-control-allow-origin"), "*", version)

    def test_preflight_and_head(self):
        st, hd, body, _ = raw(self.server, "OPTIONS /api/v1/rooms/conf-o/messages HTTP/1.1\r\n"
                                           "Content-Length: 0\r\n\r\n")
        self.assertEqual(st, 204)
        self.assertEqual(hd.get("access-control-allow-methods"), "GET, HEAD, POST")
        self.assertIn("Authorization", hd.get("access-control-allow-headers", ""))
        self.assertEqual(hd.get("access-control-allow-origin"), "*")
        # A HEAD long poll does not wait (docs/protocol.md §4.2); same head as GET.
        s = self.server.raw()
        try:
            s.sendall(b"HEAD /api/v1/rooms/conf-o/messages?since=0&wait=30 HTTP/1.1\r\n\r\n")
            s.settimeout(5)
            head = dx.HTTPReader(s).read_until(b"\r\n\r\n").decode("latin-1")
        finally:
            s.close()
        hd = dx.parse_head(head)[1]
        self.assertTrue(head.startswith("HTTP/1.1 200"), head)
        self.assertGreater(int(hd["content-length"]), 0)
        self.assert_json_type(hd)

    def test_status_words_outside_the_list(self):
        # docs/protocol.md §4.2 settles the words PROTOCOL.md §4 leaves open.
        st, hd, body, _ = raw(self.server, "GET /healthz HTTP/1.2\r\n\r\n")
        self.assert_error(st, hd, body, "version_not_supported", 505)
        st, hd, body, _ = raw(self.server, "POST /api/v1/session HTTP/1.1\r\n"
                                           "Transfer-Encoding: gzip, chunked\r\n\r\n")
        self.assert_error(st, hd, body, "not_implemented", 501)


class RawTCP(Shared):
    """docs/protocol.md §2 and §5 on the raw TCP port, beyond what
    test_tcp.py (the WebSocket suite re-run on TCP) checks."""

    def test_not_authenticated_counts_towards_the_limit(self):
        c = self.server.tcp_client()
        try:
            for i in range(11):
                c.send({"type": "ping", "t": i})
            codes = [o["code"] for o in c.wait_closed()]
            self.assertEqual(codes, ["not_authenticated"] * 11)
        finally:
            c.close()

    def test_ping_t_echoed_as_written(self):
        c = self.server.tcp_client(self.nick())
        try:
            c.send_raw(b'{"type":"ping","t":1.5e3}\n')
            c.sock.settimeout(dx.IO_TIMEOUT)
            while b"\n" not in c.buf:
                c.buf += c.sock.recv(4096)
            self.assertIn(b'"t":1.5e3', c.buf)
        finally:
            c.close()

    def test_too_large_lines_count_as_errors(self):
        c = self.server.tcp_client(self.nick())
        try:
            for i in range(10):
                c.send_raw(b"x" * 16385 + b"\n")
                self.assertEqual(c.recv()["code"], "too_large")
            c.send_raw(b"y" * 16385 + b"\n")
            c.wait_closed()
            self.assertTrue(c.closed)
        finally:
            c.close()

    def test_leave_of_a_room_not_joined(self):
        # docs/protocol.md §5.3: it still answers left.
        c = self.server.tcp_client(self.nick())
        try:
            room = self.room()
            c.send({"type": "leave", "room": room})
            self.assertEqual(c.recv_type("left"), {"type": "left", "room": room})
        finally:
            c.close()


class Idempotency(Shared):
    """docs/protocol.md §6: a cid retry is answered with the original id on
    every transport, whichever transport first carried it."""

    def test_cid_across_transports(self):
        room = self.room()
        tcp = self.server.tcp_client(self.nick())
        ws = self.server.ws_client()
        try:
            tok = tcp.token
            ws.send({"type": "hello", "token": tok})
            self.assertEqual(ws.recv()["type"], "welcome")
            first = self.server.post(tok, room, "once", cid="x-1")
            tcp.send({"type": "send", "room": room, "text": "once", "cid": "x-1"})
            a = tcp.recv_type("ack")
            self.assertEqual((a["id"], a["ts"]), (first["id"], first["ts"]))
            ws.send({"type": "send", "room": room, "text": "once", "cid": "x-1"})
            b = ws.recv()
            self.assertEqual((b["type"], b["id"], b["ts"]), ("ack", first["id"], first["ts"]))
            ws.send({"type": "send", "room": room, "text": "twice", "cid": "x-2"})
            c = ws.recv()
            again = self.server.post(tok, room, "twice", cid="x-2")
            self.assertEqual((again["id"], again["ts"]), (c["id"], c["ts"]))
            self.assertEqual(self.server.poll(room)["last_id"], 2, "stored once each")
        finally:
            tcp.close()
            ws.close()


@dx.skip_on_wine("needs SIGTERM semantics (Wine ends the process at once)")
class Shutdown(unittest.TestCase):
    """docs/protocol.md §6 on HTTP/1.0 (test_lifecycle.py has HTTP/1.1): a
    held long poll gets 503 shutting_down, a stream ends, an idle
    keep-alive connection is closed. Its own server: it is stopped."""

    def test_http10_long_poll_and_stream(self):
        s = dx.Server(store="memory").start()
        try:
            sse = s.raw()
            sse.sendall(b"GET /api/v1/rooms/conf-shut/events HTTP/1.0\r\n\r\n")
            rs = dx.HTTPReader(sse)
            rs.read_until(b"\r\n\r\n")
            lp = s.raw()
            lp.sendall(b"GET /api/v1/rooms/conf-shut/messages?since=0&wait=30 HTTP/1.0\r\n\r\n")
            ka = s.raw()
            ka.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
            rk = dx.HTTPReader(ka)
            self.assertEqual(rk.response()[0], 200)
            dx.wait_until(lambda: b"duplex_longpolls_waiting 1" in s.curl("GET", "/metrics")[2],
                          what="the long poll held")
            s.terminate()
            st, hd, body = dx.HTTPReader(lp).response()
            self.assertEqual(st, 503)
            self.assertEqual(dx.decode_json(body)["error"]["code"], "shutting_down")
            self.assertEqual(hd.get("access-control-allow-origin"), "*")
            self.assertTrue(rs.at_eof(), "the HTTP/1.0 stream ends with its connection")
            self.assertTrue(rk.at_eof(), "an idle keep-alive connection is closed")
            self.assertEqual(s.proc.wait(15), 0)
            for x in (sse, lp, ka):
                x.close()
        finally:
            s.cleanup()


class Password(unittest.TestCase):
    """docs/protocol.md §1 and §5.2 on raw TCP: hello needs the password,
    with a nick or a token; a password error closes the connection."""

    def test_raw_tcp(self):
        s = dx.Server(store="memory", extra=["--password", "sekrit"]).start()
        try:
            st, hd, body = s.curl("POST", "/api/v1/session", body={"nick": "pw_a"})
            self.assertEqual(st, 401, body)
            tok = s.session("pw_a", password="sekrit")
            for hello in ({"nick": "pw_b"}, {"nick": "pw_b", "password": "wrong"},
                          {"token": tok}):
                c = s.tcp_client()
                c.send(dict(type="hello", **hello))
                rest = c.wait_closed()
                self.assertEqual([o["code"] for o in rest], ["unauthorized"], hello)
                c.close()
            c = s.tcp_client()
            c.hello("pw_b", password="sekrit")
            c.close()
            s.stop()
        finally:
            s.cleanup()


class RateAndRetry(unittest.TestCase):
    """docs/protocol.md §6 with §9: a cid retry over the send rate is
    refused like any send, then answered with the original id."""

    def test_retry_over_the_rate(self):
        s = dx.Server(store="memory", send_rate="2/1").start()
        try:
            c = s.tcp_client("rr")
            acks = {}
            for cid in ("a", "b", "c", "d"):  # the burst, 2N = 4
                c.send({"type": "send", "room": "rr", "text": "x", "cid": cid})
                acks[cid] = c.recv_type("ack")
            c.send({"type": "send", "room": "rr", "text": "x", "cid": "a"})
            e = c.recv_type("error")
            self.assertEqual((e["code"], e["cid"]), ("rate_limited", "a"))
            self.assertTrue(1 <= e["retry_after"] <= 500, e)
            dx.time.sleep(e["retry_after"] / 1000.0)
            c.send({"type": "send", "room": "rr", "text": "x", "cid": "a"})
            again = c.recv_type("ack")
            self.assertEqual((again["id"], again["ts"]), (acks["a"]["id"], acks["a"]["ts"]))
            self.assertEqual(s.poll("rr")["last_id"], 4, "stored once")
            c.close()
            s.stop()
        finally:
            s.cleanup()


class Ticker(unittest.TestCase):
    """docs/protocol.md §1–2: --ticker takes a room name of §2."""

    def test_room_limit(self):
        r = dx.run_duplexd("--ticker", "r" * 33 + ":1000", "--http", "127.0.0.1:0",
                           "--tcp", "127.0.0.1:0", "--store", "memory")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(r.stderr.decode().strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    dx.main()
