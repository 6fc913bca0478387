#!/usr/bin/env python3
"""docs/protocol.md §4–5: the WebSocket handshake and frame rules, with
raw sockets (what no well-behaved client library will send)."""

import base64
import hashlib
import json
import os
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


class Handshake(dx.ServerTest):
    def test_accept_key(self):
        st, hd, body = self.raw_upgrade(dx.ws_handshake_bytes(self.server.http_port))
        self.assertEqual(st, 101)
        want = base64.b64encode(hashlib.sha1(
            (dx.WS_KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.assertEqual(hd.get("sec-websocket-accept"), want)
        self.assertEqual(hd.get("upgrade", "").lower(), "websocket")
        self.assertIn("upgrade", hd.get("connection", "").lower())

    def raw_upgrade(self, data):
        s = self.server.raw()
        try:
            s.sendall(data)
            r = dx.HTTPReader(s)
            head = r.read_until(b"\r\n\r\n").decode("latin-1")
            lines = head.split("\r\n")
            st = int(lines[0].split()[1])
            hd = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    hd[k.strip().lower()] = v.strip()
            body = b""
            if st != 101 and "content-length" in hd:
                body = r.read_n(int(hd["content-length"]))
            return st, hd, body
        finally:
            s.close()

    def test_browser_style_headers(self):
        # Firefox sends "Connection: keep-alive, Upgrade"; header names and the
        # Upgrade token are case-insensitive.
        data = ("GET /api/v1/ws HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: WebSocket\r\n"
                "connection: keep-alive, Upgrade\r\nsec-websocket-key: %s\r\n"
                "sec-websocket-version: 13\r\nOrigin: http://example.org\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n" % dx.WS_KEY).encode()
        st, hd, body = self.raw_upgrade(data)
        self.assertEqual(st, 101)
        self.assertNotIn("sec-websocket-extensions", hd, "no extension was implemented")

    def test_no_key_400(self):
        st, hd, body = self.raw_upgrade(dx.ws_handshake_bytes(self.server.http_port, key=None))
        self.assert_error(st, hd, body, "bad_request", 400)

    def test_bad_key_400(self):
        st, hd, body = self.raw_upgrade(dx.ws_handshake_bytes(self.server.http_port,
                                                              key="short"))
        self.assert_error(st, hd, body, "bad_request", 400)

    def test_bad_version_426(self):
        for v in ("8", "14", "abc"):
            st, hd, body = self.raw_upgrade(dx.ws_handshake_bytes(self.server.http_port,
                                                                  version=v))
            self.assertEqual(st, 426, "version %s" % v)
            self.assertEqual(hd.get("sec-websocket-version"), "13")

    def test_subprotocol_echo(self):
        st, hd, body = self.raw_upgrade(dx.ws_handshake_bytes(
            self.server.http_port, extra="Sec-WebSocket-Protocol: chat, duplex.v1\r\n"))
        self.assertEqual(st, 101)
        self.assertEqual(hd.get("sec-websocket-protocol"), "duplex.v1")
        st, hd, body = self.raw_upgrade(dx.ws_handshake_bytes(
            self.server.http_port, extra="Sec-WebSocket-Protocol: chat\r\n"))
        self.assertEqual(st, 101)
        self.assertNotIn("sec-websocket-protocol", hd, "never pick one the client did not offer")

    def test_upgrade_only_on_ws_path(self):
        data = dx.ws_handshake_bytes(self.server.http_port).replace(b"/api/v1/ws", b"/healthz")
        st, hd, body = self.raw_upgrade(data)
        self.assertNotEqual(st, 101)

    def test_post_to_ws_path(self):
        st, hd, body = self.server.curl("POST", "/api/v1/ws", body={"x": 1})
        self.assertIn(st, (400, 405, 426))


class Frames(dx.ServerTest):
    def ws(self):
        w = dx.RawWS(self.server)
        self.addCleanup(w.close)
        return w

    def hello(self, w, nick="raw"):
        w.send_text({"type": "hello", "nick": nick})
        op, payload = w.read_frame()
        self.assertEqual(op, 1)
        self.assertEqual(json.loads(payload)["type"], "welcome")

    def test_text_frame_roundtrip(self):
        w = self.ws()
        self.hello(w)
        w.send_text({"type": "ping", "t": 9})
        op, payload = w.read_frame()
        self.assertEqual(op, 1)
        self.assertEqual(json.loads(payload)["t"], 9)

    def test_handshake_and_first_frame_in_one_write(self):
        s = self.server.raw()
        self.addCleanup(s.close)
        s.sendall(dx.ws_handshake_bytes(self.server.http_port)
                  + dx.ws_frame(1, b'{"type":"hello","nick":"eager"}')
                  + dx.ws_frame(1, b'{"type":"ping","t":"same-packet"}'))
        r = dx.HTTPReader(s)
        self.assertTrue(r.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 101"))
        w = dx.RawWS.__new__(dx.RawWS)
        w.sock, w.reader = s, r
        op, payload = w.read_frame()
        self.assertEqual(json.loads(payload)["type"], "welcome")
        op, payload = w.read_frame()
        self.assertEqual(json.loads(payload)["t"], "same-packet")

    def test_fragmented_message(self):
        w = self.ws()
        self.hello(w)
        data = json.dumps({"type": "ping", "t": "frag"}).encode()
        w.send(dx.ws_frame(1, data[:5], fin=False) + dx.ws_frame(0, data[5:12], fin=False))
        w.send(dx.ws_frame(9, b"mid"))  # a control frame between fragments is allowed
        w.send(dx.ws_frame(0, data[12:], fin=True))
        frames = [w.read_frame(), w.read_frame()]
        ops = sorted(op for op, _ in frames)
        self.assertEqual(ops, [1, 10], frames)
        for op, payload in frames:
            if op == 10:
                self.assertEqual(payload, b"mid")
            else:
                self.assertEqual(json.loads(payload)["t"], "frag")

    def test_ws_ping_pong_frames(self):
        w = self.ws()
        w.send(dx.ws_frame(9, b"hello?"))
        self.assertEqual(w.read_frame(), (10, b"hello?"))

    def test_client_close_echoed(self):
        w = self.ws()
        w.send(dx.ws_frame(8, struct.pack("!H", 1000) + b"bye"))
        self.assertEqual(w.read_close_code(), 1000)

    def test_unmasked_frame_1002(self):
        w = self.ws()
        w.send(dx.ws_frame(1, b'{"type":"hello","nick":"x"}', mask=False))
        self.assertEqual(w.read_close_code(), 1002)

    def test_reserved_opcode_1002(self):
        w = self.ws()
        w.send(dx.ws_frame(3, b"x"))
        self.assertEqual(w.read_close_code(), 1002)

    def test_binary_1003(self):
        w = self.ws()
        self.hello(w)
        w.send(dx.ws_frame(2, b'{"type":"ping","t":1}'))
        self.assertEqual(w.read_close_code(), 1003)

    def test_invalid_utf8_1007(self):
        w = self.ws()
        self.hello(w)
        w.send(dx.ws_frame(1, b'{"type":"ping","t":"\xff\xfe"}'))
        self.assertEqual(w.read_close_code(), 1007)

    def test_utf8_split_across_fragments_ok(self):
        w = self.ws()
        self.hello(w)
        data = json.dumps({"type": "ping", "t": "\u00e9\u4e16"}, ensure_ascii=False).encode()
        cut = data.index(b"\xe4") + 1  # in the middle of a 3-byte sequence
        w.send(dx.ws_frame(1, data[:cut], fin=False) + dx.ws_frame(0, data[cut:]))
        op, payload = w.read_frame()
        self.assertEqual(json.loads(payload)["t"], "\u00e9\u4e16")

    def test_too_big_1009(self):
        w = self.ws()
        self.hello(w)
        w.send(dx.ws_frame(1, b"x" * 17000))
        self.assertEqual(w.read_close_code(), 1009)

    def test_too_big_fragmented_1009(self):
        w = self.ws()
        self.hello(w)
        for _ in range(5):
            w.send(dx.ws_frame(1 if _ == 0 else 0, b"y" * 4000, fin=False))
        self.assertEqual(w.read_close_code(), 1009)

    def test_huge_declared_length_1009(self):
        w = self.ws()
        # Only the header of a 1 GiB frame: the close must come without the payload.
        w.send(struct.pack("!BBQ", 0x81, 0x80 | 127, 1 << 30) + os.urandom(4))
        self.assertEqual(w.read_close_code(), 1009)

    def test_continuation_without_start_1002(self):
        w = self.ws()
        w.send(dx.ws_frame(0, b"orphan"))
        self.assertEqual(w.read_close_code(), 1002)

    def test_fragmented_control_frame_1002(self):
        w = self.ws()
        w.send(dx.ws_frame(9, b"p", fin=False))
        self.assertEqual(w.read_close_code(), 1002)

    def test_control_frame_over_125_bytes_1002(self):
        w = self.ws()
        w.send(dx.ws_frame(9, b"p" * 126))
        self.assertEqual(w.read_close_code(), 1002)

    def test_rsv_bits_without_extension_1002(self):
        w = self.ws()
        frame = bytearray(dx.ws_frame(1, b'{"type":"ping","t":1}'))
        frame[0] |= 0x40  # RSV1: no extension was negotiated
        w.send(bytes(frame))
        self.assertEqual(w.read_close_code(), 1002)

    def test_new_message_inside_fragmented_one_1002(self):
        w = self.ws()
        w.send(dx.ws_frame(1, b'{"type":', fin=False) + dx.ws_frame(1, b'{"type":"ping"}'))
        self.assertEqual(w.read_close_code(), 1002)

    def test_server_still_fine(self):
        st, hd, body = self.server.curl("GET", "/healthz")
        self.assertEqual(st, 200)


if __name__ == "__main__":
    dx.main()
