#!/usr/bin/env python3
"""docs/protocol.md §4: Server-Sent Events through curl -N."""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


class SSE(dx.ServerTest):
    def check_event(self, ev, room, mid, text):
        self.assertEqual(ev["event"], "message", ev)
        self.assertEqual(ev["id"], str(mid), ev)
        m = json.loads(ev["data"])
        self.assertEqual((m["type"], m["room"], m["id"], m["text"]), ("message", room, mid, text))
        self.assertIn("from", m)
        self.assertIn("ts", m)
        # Exact framing: "id: N", "event: message", "data: {...}" then a blank line.
        self.assertEqual(ev["_raw"], ["id: %d" % mid, "event: message", "data: " + ev["data"]])

    def test_headers(self):
        room = self.room()
        sse = dx.SSEStream(self.server, room)  # returns once the head arrived: sent at once
        try:
            self.assertEqual(sse.status, 200, sse.status_line)
            self.assertTrue(sse.status_line.startswith("HTTP/1.1 200"), sse.status_line)
            self.assertTrue(sse.headers.get("content-type", "").startswith("text/event-stream"),
                            sse.headers)
            self.assertIn("no-cache", sse.headers.get("cache-control", ""))
            self.assertEqual(sse.headers.get("transfer-encoding", "").lower(), "chunked",
                             sse.headers)
            self.assertNotIn("content-length", sse.headers)
        finally:
            sse.close()

    def test_since_then_live(self):
        room, tok = self.room(), self.token()
        for i in range(3):
            self.server.post(tok, room, "old%d" % (i + 1))
        sse = dx.SSEStream(self.server, room, since=1)
        try:
            self.check_event(sse.next_message(), room, 2, "old2")
            self.check_event(sse.next_message(), room, 3, "old3")
            self.server.post(tok, room, "live")
            self.check_event(sse.next_message(), room, 4, "live")
        finally:
            sse.close()

    def test_since_0_replays_all(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "a")
        self.server.post(tok, room, "b")
        sse = dx.SSEStream(self.server, room, since=0)
        try:
            self.check_event(sse.next_message(), room, 1, "a")
            self.check_event(sse.next_message(), room, 2, "b")
        finally:
            sse.close()

    def test_last_event_id_overrides_since(self):
        room, tok = self.room(), self.token()
        for i in range(4):
            self.server.post(tok, room, "m%d" % (i + 1))
        sse = dx.SSEStream(self.server, room, since=0, last_event_id=2)
        try:
            self.check_event(sse.next_message(), room, 3, "m3")
            self.check_event(sse.next_message(), room, 4, "m4")
        finally:
            sse.close()
        sse = dx.SSEStream(self.server, room, last_event_id=3)
        try:
            self.check_event(sse.next_message(), room, 4, "m4")
        finally:
            sse.close()

    def test_neither_only_new(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "before")
        sse = dx.SSEStream(self.server, room)
        try:
            # The head is in: the stream is subscribed. Only what comes now flows.
            self.server.post(tok, room, "after")
            self.check_event(sse.next_message(), room, 2, "after")
        finally:
            sse.close()

    def test_many_in_order(self):
        room, tok = self.room(), self.token()
        sse = dx.SSEStream(self.server, room, since=0)
        try:
            c = self.server.tcp_client("sse_w")
            for i in range(200):
                c.send({"type": "send", "room": room, "text": "n%d" % i, "cid": "k%d" % i})
            for i in range(200):
                c.recv_type("ack")
            c.close()
            ids = []
            for i in range(200):
                ev = sse.next_message()
                ids.append(int(ev["id"]))
                self.assertEqual(json.loads(ev["data"])["cid"], "k%d" % i)
            self.assertEqual(ids, list(range(1, 201)))
        finally:
            sse.close()

    def test_multiline_text_stays_one_data_line(self):
        room, tok = self.room(), self.token()
        sse = dx.SSEStream(self.server, room, since=0)
        try:
            self.server.post(tok, room, "two\nlines\r\nand\rcr")
            ev = sse.next_message()
            self.assertEqual(json.loads(ev["data"])["text"], "two\nlines\r\nand\rcr")
            self.assertEqual(len([l for l in ev["_raw"] if l.startswith("data:")]), 1)
        finally:
            sse.close()

    def test_raw_chunked_framing(self):
        # The bytes on the wire: chunked, each event whole, exact field lines.
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "raw")
        s = self.server.raw()
        try:
            s.sendall(("GET /api/v1/rooms/%s/events?since=0 HTTP/1.1\r\nHost: x\r\n"
                       "Accept: text/event-stream\r\n\r\n" % room).encode())
            r = dx.HTTPReader(s)
            head = r.read_until(b"\r\n\r\n").decode("latin-1").lower()
            self.assertIn("transfer-encoding: chunked", head)
            data = b""
            while b"\n\n" not in data.partition(b"id: ")[2]:
                size = int(r.read_until(b"\r\n").split(b";")[0], 16)
                self.assertGreater(size, 0, "the stream must not end")
                data += r.read_n(size)
                self.assertEqual(r.read_n(2), b"\r\n")
            data = b"\n".join(l for l in data.split(b"\n") if not l.startswith(b":"))
            self.assertTrue(data.startswith(b"id: 1\nevent: message\ndata: {"), data[:100])
            self.assertEqual(json.loads(data.split(b"data: ", 1)[1].split(b"\n")[0])["text"], "raw")
        finally:
            s.close()

    def test_http10_stream_without_chunking(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "old http")
        s = self.server.raw()
        try:
            s.sendall(("GET /api/v1/rooms/%s/events?since=0 HTTP/1.0\r\n"
                       "Accept: text/event-stream\r\n\r\n" % room).encode())
            r = dx.HTTPReader(s)
            head = r.read_until(b"\r\n\r\n").decode("latin-1").lower()
            self.assertTrue(head.startswith("http/1.1 200") or head.startswith("http/1.0 200"), head)
            self.assertNotIn("chunked", head, "no chunked encoding for an HTTP/1.0 client")
            body = r.read_until(b"\n\n")
            body = b"\n".join(l for l in body.split(b"\n") if not l.startswith(b":"))
            self.assertIn(b"id: 1\nevent: message\ndata: ", body)
        finally:
            s.close()

    def test_bad_since_400(self):
        st, hd, body = self.server.curl("GET", "/api/v1/rooms/%s/events?since=x" % self.room(),
                                        headers=["Accept: text/event-stream"])
        self.assert_error(st, hd, body, "bad_request", 400)

    def test_bad_room(self):
        st, hd, body = self.server.curl("GET", "/api/v1/rooms/NoNo/events",
                                        headers=["Accept: text/event-stream"])
        self.assertIn(st, (400, 404))

    def test_sse_does_not_block_other_requests(self):
        room = self.room()
        streams = [dx.SSEStream(self.server, room) for _ in range(5)]
        try:
            st, hd, body = self.server.curl("GET", "/healthz")
            self.assertEqual(st, 200)
        finally:
            for s in streams:
                s.close()


if __name__ == "__main__":
    dx.main()
