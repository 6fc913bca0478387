#!/usr/bin/env python3
"""docs/protocol.md §4, the slow timers: an idle keep-alive connection is
closed after 60 s; an SSE stream carries a ": ping" comment every 15 s."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


class Idle(dx.ServerTest):
    def test_sse_ping_comment(self):
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

    def test_idle_keep_alive_closed_after_60_s(self):
        s = self.server.raw(timeout=150)
        r = dx.HTTPReader(s)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(r.response()[0], 200)
            t0 = time.monotonic()
            closed = r.at_eof(timeout=150)
            elapsed = time.monotonic() - t0
            self.assertTrue(closed, "idle keep-alive connection still open after 150 s")
            self.assertGreater(elapsed, 50, "closed after %.0f s, not about 60 s" % elapsed)
        finally:
            s.close()


    def test_quiet_sockets_outlive_the_http_timers(self):
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
        try:
            time.sleep(70)
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
