#!/usr/bin/env python3
"""docs/protocol.md §4: a request whose headers have not all arrived 10 s
after its first byte is answered 408 and closed (even if bytes keep dripping)."""

import os
import select
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


class SlowHeaders(dx.ServerTest):
    def test_408_after_10_s(self):
        s = self.server.raw(timeout=60)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 200
        t0 = time.monotonic()
        s.sendall(request[:1])
        i = 1
        got = b""
        # Drip one byte every 0.5 s; the headers never end within 10 s.
        while time.monotonic() - t0 < 60:
            r, _, _ = select.select([s], [], [], 0.5)
            if r:
                d = s.recv(65536)
                if not d:
                    break
                got += d
                if b"\r\n\r\n" in got:
                    break
                continue
            if i < len(request):
                try:
                    s.sendall(request[i:i + 1])
                except OSError:
                    break
                i += 1
        elapsed = time.monotonic() - t0
        self.assertTrue(got.startswith(b"HTTP/1.1 408"), "got %r after %.1f s" % (got[:200], elapsed))
        self.assertGreater(elapsed, 8.0, "408 came too early (%.1f s)" % elapsed)
        self.assertLess(elapsed, 40.0, "408 came too late (%.1f s)" % elapsed)
        reader = dx.HTTPReader(s)
        reader.buf = got
        st, hd, body = reader.response()
        self.assert_error(st, hd, body, "timeout", 408)
        self.assertTrue(reader.at_eof(), "closed after 408")
        s.close()
        # The server is fine.
        st, hd, body = self.server.curl("GET", "/healthz")
        self.assertEqual(st, 200)


if __name__ == "__main__":
    dx.main()
