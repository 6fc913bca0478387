#!/usr/bin/python3
"""PROTOCOL.md section 4, the slow timers: an idle keep-alive connection is
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


if __name__ == "__main__":
    dx.main()
