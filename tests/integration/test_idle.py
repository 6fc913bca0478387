#!/usr/bin/env python3
"""docs/protocol.md §4, the slow timers: an idle keep-alive connection is
closed after 60 s; an SSE stream carries a ": ping" comment every 15 s."""

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


class Idle(dx.ServerTest):
    """Each case mostly waits on a server timer (15, 60, 70 s); one after
    the other they took 145 s. setUpClass starts every case at once, each
    in its own thread on the class's server, and each test collects its
    case's outcome: the file takes as long as its longest case."""

    CASES = ("sse_ping_comment", "idle_keep_alive_closed_after_60_s",
             "quiet_sockets_outlive_the_http_timers")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The quiet sockets are opened before the idle request, so their
        # wait can end on that request's close (see the quiet case).
        cls.quiet_open = threading.Event()
        cls.idle_closed = threading.Event()
        cls.pool = ThreadPoolExecutor(len(cls.CASES))
        runner = cls()  # any instance has the assertions and self.server
        cls.running = {name: cls.pool.submit(getattr(runner, "case_" + name))
                       for name in cls.CASES}

    @classmethod
    def tearDownClass(cls):
        cls.pool.shutdown(wait=True)
        super().tearDownClass()

    def outcome(self, name):
        self.running[name].result(timeout=200)  # raises what the case raised

    def test_sse_ping_comment(self):
        self.outcome("sse_ping_comment")

    def test_idle_keep_alive_closed_after_60_s(self):
        self.outcome("idle_keep_alive_closed_after_60_s")

    def test_quiet_sockets_outlive_the_http_timers(self):
        self.outcome("quiet_sockets_outlive_the_http_timers")

    def case_sse_ping_comment(self):
        sse = dx.SSEStream(self.server, self.room())
        try:
            t0 = time.monotonic()
            deadline = t0 + 45
            seen = False
            while time.monotonic() < deadline and not seen:
                seen = sse._next_line(max(0.0, deadline - time.monotonic())).startswith(":")
            self.assertTrue(seen, "a ': ping' comment within 45 s")
            self.assertEqual(sse.lines[sse._pos - 1].strip(), ": ping")
        finally:
            sse.close()

    def case_idle_keep_alive_closed_after_60_s(self):
        s = self.server.raw(timeout=150)
        r = dx.HTTPReader(s)
        try:
            self.quiet_open.wait(timeout=30)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(r.response()[0], 200)
            t0 = time.monotonic()
            closed = r.at_eof(timeout=150)
            elapsed = time.monotonic() - t0
            self.idle_closed.set()
            self.assertTrue(closed, "idle keep-alive connection still open after 150 s")
            self.assertGreater(elapsed, 50, "closed after %.0f s, not about 60 s" % elapsed)
        finally:
            s.close()

    def case_quiet_sockets_outlive_the_http_timers(self):
        # The 10 s header timer and the 60 s keep-alive timer are HTTP request
        # timers: an upgraded WebSocket, a TCP client, an SSE stream and a long
        # poll with wait=60 are not idle HTTP connections.
        room, tok = self.room(), self.token()
        ws = self.server.ws_client("quiet_ws")
        ws.join(room)
        tcp = self.server.tcp_client("quiet_tcp")
        tcp.join(room)
        sse = dx.SSEStream(self.server, room)
        lp = dx.LongPoll(self.server, room, since=0, wait=60)
        t0 = time.monotonic()
        self.quiet_open.set()
        try:
            # A 60 s keep-alive timer wrongly armed on these sockets would
            # be due before the one of the idle case's request, made after
            # they opened: once that connection is seen closed, theirs would
            # have fired too. So wait for that close (or 70 s at most), and
            # a moment for their own closes to arrive.
            self.idle_closed.wait(timeout=max(0.0, t0 + 70 - time.monotonic()))
            time.sleep(1)
            st, body = lp.result(timeout=30)
            self.assertEqual(st, 200, "the long poll ran its 60 s")
            self.assertEqual(dx.decode_json(body)["messages"], [])
            r = self.server.post(tok, room, "still there?")
            for c in (ws, tcp):
                m = c.recv_type("message")
                self.assertEqual(m["id"], r["id"])
                c.send({"type": "ping", "t": "late"})
                self.assertEqual(c.recv_type("pong")["t"], "late")
            self.assertEqual(int(sse.next_message()["id"]), r["id"])
        finally:
            lp.close()
            sse.close()
            ws.close()
            tcp.close()


if __name__ == "__main__":
    dx.main()
