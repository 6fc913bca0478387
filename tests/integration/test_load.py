#!/usr/bin/env python3
"""docs/protocol.md §6 and docs/architecture.md: a slow consumer is disconnected
rather than slowing the room; 3,000 idle connections are held cheaply."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


class SlowConsumer(dx.ServerTest):
    store = "memory"

    def slow_socket(self, port):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.settimeout(dx.IO_TIMEOUT)
        return sock

    def slow_readers(self, room):
        """A TCP member, a WebSocket member and an SSE stream that will never read."""
        tcp = self.slow_socket(self.server.tcp_port)
        lc = dx.LineClient(tcp)
        lc.hello("slow_tcp")
        lc.join(room)
        ws = self.slow_socket(self.server.http_port)
        ws.sendall(dx.ws_handshake_bytes(self.server.http_port))
        r = dx.HTTPReader(ws)
        self.assertTrue(r.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 101"))
        ws.sendall(dx.ws_frame(1, b'{"type":"hello","nick":"slow_ws"}'))
        ws.sendall(dx.ws_frame(1, ('{"type":"join","room":"%s"}' % room).encode()))
        sse = self.slow_socket(self.server.http_port)
        sse.sendall(("GET /api/v1/rooms/%s/events HTTP/1.1\r\nHost: x\r\n"
                     "Accept: text/event-stream\r\n\r\n" % room).encode())
        # All three are members before the flood starts.
        dx.wait_until(lambda: [x["online"] for x in self.server.get_json("/api/v1/rooms")[1]["rooms"]
                               if x["name"] == room] == [4], what="4 members online")
        return {"tcp": tcp, "websocket": ws, "sse": sse}

    def test_slow_readers_are_disconnected(self):
        room = self.room()
        tok = self.token()
        self.server.post(tok, room, "start")  # the room shows in /api/v1/rooms
        fast = self.server.tcp_client("fast")
        fast.join(room)
        slow = self.slow_readers(room)
        n, text = 4000, "z" * 4000  # ~16 MB through the room
        got = []
        errors = []

        def read_fast():
            try:
                while len(got) < n:
                    got.append(fast.recv_type("message", timeout=60)["id"])
            except Exception as e:
                errors.append(e)
        rt = threading.Thread(target=read_fast)
        rt.start()
        w = self.server.tcp_client("firehose")
        batch = 50
        for start in range(0, n, batch):
            # Keep the fast reader close behind, so only the slow ones fall back.
            dx.wait_until(lambda: len(got) >= start - 2 * batch or errors, timeout=60,
                          what="the fast reader")
            for i in range(start, start + batch):
                w.send({"type": "send", "room": room, "text": text})
            for i in range(batch):
                w.recv_type("ack", timeout=60)
        rt.join(180)
        self.assertEqual(errors, [])
        self.assertEqual(got, list(range(2, n + 2)), "the fast reader was not slowed or cut")
        # Now drain the slow ones: each must end in EOF/reset well before the 16 MB.
        for kind, sock in slow.items():
            received = 0
            sock.settimeout(30)
            closed = False
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    d = sock.recv(65536)
                except ConnectionResetError:
                    closed = True
                    break
                except socket.timeout:
                    break
                if not d:
                    closed = True
                    break
                received += len(d)
            sock.close()
            self.assertTrue(closed, "slow %s reader still connected after %d bytes"
                            % (kind, received))
            self.assertLess(received, n * len(text), "the slow %s reader was cut" % kind)
        w.close()
        fast.close()
        st, hd, body = self.server.curl("GET", "/healthz")
        self.assertEqual(st, 200)


class FanOut(dx.ServerTest):
    store = "memory"

    def test_300_members_get_everything_in_order(self):
        room = self.room()
        tcps = []
        for i in range(200):
            c = self.server.tcp_client()
            c.send({"type": "hello", "nick": "fan%d" % i})
            c.send({"type": "join", "room": room})
            tcps.append(c)
        wss = []
        for i in range(100):
            w = dx.RawWS(self.server)
            w.send_text({"type": "hello", "nick": "wfan%d" % i})
            w.send_text({"type": "join", "room": room})
            wss.append(w)
        for c in tcps:
            c.recv_type("welcome")
            c.recv_type("joined")

        def ws_next(w, typ):
            while True:
                op, payload = w.read_frame()
                self.assertEqual(op, 1)
                o = json.loads(payload)
                if o["type"] == typ:
                    return o
                self.assertIn(o["type"], ("welcome", "joined", "presence"), o)
        for w in wss:
            ws_next(w, "joined")
        tok = self.token()
        n = 50
        for i in range(0, n, 10):  # a tenth over HTTP, the rest over TCP
            self.server.post(tok, room, "fan %d" % i)
        sender = self.server.tcp_client("fan_sender")
        for i in range(n):
            if i % 10 != 0:
                sender.send({"type": "send", "room": room, "text": "fan %d" % i})
        for i in range(n - n // 10):
            sender.recv_type("ack")
        sender.close()
        for c in tcps:
            got = [c.recv_type("message") for _ in range(n)]
            self.assertEqual([m["id"] for m in got], list(range(1, n + 1)))
            c.close()
        for w in wss:
            got = [ws_next(w, "message")["id"] for _ in range(n)]
            self.assertEqual(got, list(range(1, n + 1)))
            w.close()


class BigHistory(dx.ServerTest):
    """A 12 MB backlog: replay must be paced to the reader, not dumped into its
    queue (which the slow-consumer rule would then cut)."""

    def test_replay_of_12_mb_on_every_transport(self):
        room = self.room()
        w = self.server.tcp_client("filler")
        n = 3000
        for start in range(0, n, 100):
            for i in range(100):
                w.send({"type": "send", "room": room, "text": "%05d" % (start + i) + "y" * 3995})
            for i in range(100):
                w.recv_type("ack", timeout=60)
        w.close()
        for make in (self.server.tcp_client, self.server.ws_client):
            c = make("replayer")
            try:
                c.join(room, since=0)
                ids = [c.recv_type("message", timeout=60)["id"] for _ in range(n)]
            finally:
                c.close()
            self.assertEqual(ids, list(range(1, n + 1)), make.__name__)
        sse = dx.SSEStream(self.server, room, since=0)
        try:
            ids = [int(sse.next_message(60)["id"]) for _ in range(n)]
        finally:
            sse.close()
        self.assertEqual(ids, list(range(1, n + 1)), "SSE")
        obj = self.server.poll(room, limit=1000)
        self.assertEqual([m["id"] for m in obj["messages"]], list(range(1, 1001)))
        self.assertEqual(obj["messages"][999]["text"][:5], "00999")

    def test_poll_of_escaped_texts_pages_correctly(self):
        # Texts of control characters swell sixfold as JSON (\u0001): ~6 MB for
        # 500 of them. An answer may hold fewer than `limit` ("at most L"), but
        # paging with since gets every id once, in order.
        room = self.room()
        tok = self.token()
        for i in range(3):  # the largest: 4,096 bytes, ~24 KiB escaped, over HTTP
            self.server.post(tok, room, "\u0001" * 4096)
        c = self.server.tcp_client("escaper")
        for i in range(497):  # ~12 KiB lines: under the 16 KiB line limit
            c.send({"type": "send", "room": room, "text": "\u0001" * 2000})
        for i in range(497):
            c.recv_type("ack", timeout=60)
        c.close()
        ids, since = [], 0
        while True:
            obj = self.server.poll(room, since=since, limit=1000)
            if not obj["messages"]:
                break
            ids += [m["id"] for m in obj["messages"]]
            since = ids[-1]
        self.assertEqual(ids, list(range(1, 501)))
        self.assertEqual(self.server.poll(room, limit=1)["messages"][0]["text"], "\u0001" * 4096)


class IdleConnections(dx.ServerTest):
    store = "memory"

    def check_rss(self, when):
        if dx.UNDER_WINE:
            return  # Wine's own footprint makes the 64 MiB bound meaningless there
        rss = self.server.vmrss_kib()
        sys.stderr.write("[duplexd VmRSS %s: %d KiB] " % (when, rss))
        self.assertLess(rss, 64 * 1024, "VmRSS %d KiB %s" % (rss, when))

    def test_3000_idle_connections(self):
        room = self.room()
        tok = self.token()
        self.server.post(tok, room, "x")
        socks = []
        try:
            # 1,000 raw TCP clients that said hello and joined, 1,000 WebSockets that
            # did the handshake, 1,000 HTTP connections that sent nothing.
            for i in range(1000):
                c = self.server.tcp_client()
                c.send({"type": "hello", "nick": "idle%d" % i})
                socks.append(c)
            for c in socks:
                self.assertEqual(c.recv()["type"], "welcome")
            ws = []
            for i in range(1000):
                s = self.server.raw()
                s.sendall(dx.ws_handshake_bytes(self.server.http_port))
                ws.append(s)
            for s in ws:
                head = dx.HTTPReader(s).read_until(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 101"), head[:100])
            http = [self.server.raw() for _ in range(1000)]
            st, hd, body = self.server.curl("GET", "/healthz")
            self.assertEqual(st, 200, "healthz answers with 3,000 idle connections")
            self.assertEqual(body.strip(), b"ok")
            self.check_rss("with 3,000 idle connections")
            # They are all still alive: a sample of each kind answers.
            for c in socks[::100]:
                c.send({"type": "ping", "t": 1})
                self.assertEqual(c.recv_type("pong")["t"], 1)
            for s in ws[::100]:
                s.sendall(dx.ws_frame(9, b"alive"))
                self.assertEqual(s.recv(64)[:2], b"\x8a\x05")
            for s in http[::100]:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(dx.HTTPReader(s).response()[0], 200)
            for c in socks[::100]:
                c.send({"type": "join", "room": room, "since": 0})
            for c in socks[::100]:
                c.recv_type("joined")
                self.assertEqual(c.recv_type("message")["text"], "x")
            st, hd, body = self.server.curl("GET", "/metrics")
            self.assertEqual(st, 200)
            self.check_rss("after using a sample of them")
            socks += [dx.LineClient(s) for s in ws + http]
        finally:
            for c in socks:
                c.close()
        st, hd, body = self.server.curl("GET", "/healthz")
        self.assertEqual(st, 200)


if __name__ == "__main__":
    dx.main()
