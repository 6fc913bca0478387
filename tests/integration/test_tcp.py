#!/usr/bin/env python3
"""docs/protocol.md §5 over raw TCP (NDJSON): the same objects as on
WebSocket (the whole WebSocket suite re-run on a socket), plus line framing."""

import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402
import test_websocket as tw  # noqa: E402


class TCP(tw.WebSocket):
    transport = "tcp"

    def check_policy_close(self, c):
        self.assertTrue(c.closed, "closed after the 11th error")

    def test_line_too_large_then_keeps_working(self):
        c = self.client("bigline")
        room = self.room()
        c.send_raw(b'{"type":"send","room":"%s","text":"' % room.encode() + b"x" * 17000 + b'"}\n')
        o = c.recv()
        self.assertEqual((o["type"], o["code"]), ("error", "too_large"), o)
        c.send({"type": "ping", "t": "after"})
        self.assertEqual(c.recv_type("pong")["t"], "after")
        self.assertEqual(self.server.poll(room)["last_id"], 0, "the long line was skipped")
        # A very long line arriving in many pieces is skipped as a whole.
        c.send_raw(b"y" * 100000)
        c.send_raw(b"y" * 100000 + b"\n")
        o = c.recv()
        self.assertEqual((o["type"], o["code"]), ("error", "too_large"), o)
        c.send({"type": "ping", "t": "again"})
        self.assertEqual(c.recv_type("pong")["t"], "again")

    def test_line_of_exactly_16k_is_not_too_large(self):
        c = self.client("exact")
        # Padded with an unknown field (ignored), so no field limit is hit.
        line = b'{"type":"ping","t":16384,"pad":"'
        line += b"p" * (16384 - len(line) - 2) + b'"}'
        self.assertEqual(len(line), 16384)
        c.send_raw(line + b"\n")
        self.assertEqual(c.recv_type("pong")["t"], 16384)

    def test_many_objects_in_one_write_and_split_lines(self):
        c = self.client("batch")
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.send_raw(b'{"type":"ping","t":1}\n{"type":"ping","t":2}\n{"type":"ping","t":3}\n')
        self.assertEqual([c.recv_type("pong")["t"] for _ in range(3)], [1, 2, 3])
        for b in b'{"type":"ping","t":4}\n':
            c.send_raw(bytes([b]))
        self.assertEqual(c.recv_type("pong")["t"], 4)

    def test_nc_half_close(self):
        # The classic: pipe lines into nc, which half-closes after stdin ends.
        # Every answer must still come before the server closes.
        import shutil
        import subprocess
        if not shutil.which("nc"):
            self.skipTest("nc not installed")
        room = self.room()
        lines = ('{"type":"hello","nick":"ncuser"}\n'
                 '{"type":"send","room":"%s","text":"via nc","cid":"n1"}\n'
                 '{"type":"ping","t":42}\n' % room)
        p = subprocess.run(["nc", "-N", "-w", "10", "127.0.0.1", str(self.server.tcp_port)],
                           input=lines.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        out = [dx.decode_json(l) for l in p.stdout.splitlines() if l.strip()]
        types = [o["type"] for o in out]
        # The ack waits for the store, so a pong may overtake it; both must come.
        self.assertEqual(types[0], "welcome", out)
        self.assertEqual(sorted(types[1:3]), ["ack", "pong"], out)
        self.assertEqual([o["cid"] for o in out if o["type"] == "ack"], ["n1"])
        self.assertEqual(self.server.poll(room)["messages"][0]["text"], "via nc")

    def test_crlf_and_blank_lines(self):
        c = self.client("crlf")
        c.send_raw(b'{"type":"ping","t":5}\r\n')
        self.assertEqual(c.recv_type("pong")["t"], 5)

    def test_output_is_ndjson(self):
        c = self.client("nd")
        c.send({"type": "ping", "t": 6})
        c.sock.settimeout(dx.IO_TIMEOUT)
        data = c.buf
        while b"\n" not in data:
            data += c.sock.recv(65536)
        line = data.split(b"\n", 1)[0]
        self.assertNotIn(b"\r", line)
        self.assertEqual(dx.decode_json(line)["type"], "pong")

    def test_invalid_utf8_line_is_an_error(self):
        c = self.client("utf")
        c.send_raw(b'{"type":"send","room":"r","text":"\xff\xfe"}\n')
        self.assertEqual(c.recv()["type"], "error")
        c.send({"type": "ping", "t": 7})
        self.assertEqual(c.recv_type("pong")["t"], 7)


if __name__ == "__main__":
    dx.main()
