#!/usr/bin/env python3
"""docs/protocol.md §5 over WebSocket, with python3-websockets."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


class WebSocket(dx.ServerTest):
    transport = "ws"

    def client(self, nick=None, **kw):
        if self.transport == "ws":
            c = self.server.ws_client(nick, **kw)
        else:
            c = self.server.tcp_client(nick, **kw)
        self.addCleanup(c.close)
        return c

    def test_hello_welcome(self):
        c = self.client()
        c.send({"type": "hello", "nick": "alice"})
        w = c.recv()
        self.assertEqual(w["type"], "welcome")
        self.assertEqual(w["nick"], "alice")
        self.assertIsInstance(w["token"], str)
        self.assertRegex(w["server"], r"^duplexd/\S+$")
        # The token works for HTTP posts and binds the nick.
        room = self.room()
        self.server.post(w["token"], room, "via token")
        self.assertEqual(self.server.poll(room)["messages"][0]["from"], "alice")
        # hello with the token gives the same nick.
        c2 = self.client()
        c2.send({"type": "hello", "token": w["token"]})
        w2 = c2.recv()
        self.assertEqual((w2["type"], w2["nick"]), ("welcome", "alice"))

    def test_hello_with_http_token(self):
        tok = self.server.session("bobby")
        c = self.client()
        c.send({"type": "hello", "token": tok})
        w = c.recv()
        self.assertEqual((w["type"], w["nick"]), ("welcome", "bobby"))

    def test_bad_hello(self):
        for bad in ({"type": "hello", "nick": "ticker"}, {"type": "hello", "nick": "server"},
                    {"type": "hello", "nick": "bad nick"}, {"type": "hello", "nick": ""},
                    {"type": "hello", "token": "forged"}, {"type": "hello"}):
            c = self.client()
            c.send(bad)
            o = c.recv()
            self.assertEqual(o["type"], "error", "%r answered %r" % (bad, o))
            self.assertIsInstance(o["code"], str)
            self.assertIsInstance(o["message"], str)

    def test_not_authenticated_before_hello(self):
        c = self.client()
        room = self.room()
        for obj in ({"type": "join", "room": room}, {"type": "send", "room": room, "text": "x"},
                    {"type": "ping", "t": 1}, {"type": "leave", "room": room}):
            c.send(obj)
            o = c.recv()
            self.assertEqual((o["type"], o["code"]), ("error", "not_authenticated"), o)
        self.assertEqual(self.server.poll(room)["last_id"], 0)
        c.hello("late")  # still usable

    def test_join_replay_live(self):
        room, tok = self.room(), self.token("writer")
        for i in range(3):
            self.server.post(tok, room, "old%d" % (i + 1))
        c = self.client("reader")
        j = c.join(room, since=1)
        self.assertEqual((j["room"], j["last_id"]), (room, 3))
        self.assertIsInstance(j["epoch"], str)
        self.assertEqual(j["epoch"], self.server.poll(room)["epoch"])
        got = [c.recv_type("message") for _ in range(2)]
        self.assertEqual([(m["id"], m["text"], m["from"], m["room"]) for m in got],
                         [(2, "old2", "writer", room), (3, "old3", "writer", room)])
        self.server.post(tok, room, "live")
        m = c.recv_type("message")
        self.assertEqual((m["id"], m["text"]), (4, "live"))
        self.assertIsInstance(m["ts"], int)

    def test_join_without_since_only_live(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "old")
        c = self.client("live_only")
        j = c.join(room)
        self.assertEqual(j["last_id"], 1)
        self.server.post(tok, room, "new")
        m = c.recv_type("message")
        self.assertEqual((m["id"], m["text"]), (2, "new"))

    def test_join_unknown_room_empty(self):
        c = self.client("j")
        j = c.join(self.room(), since=0)
        self.assertEqual(j["last_id"], 0)

    def test_leave_left(self):
        room, tok = self.room(), self.token()
        c = self.client("leaver")
        c.join(room)
        c.send({"type": "leave", "room": room})
        left = c.recv_type("left")
        self.assertEqual((left["type"], left["room"]), ("left", room))
        self.server.post(tok, room, "after leave")
        # Nothing more from that room; a ping proves the pipe is drained.
        c.send({"type": "ping", "t": "probe"})
        o = c.recv_type("pong")
        self.assertEqual(o["t"], "probe")

    def test_send_ack_first_then_message(self):
        room = self.room()
        c = self.client("sender")
        c.join(room)
        t0 = int(time.time() * 1000)
        c.send({"type": "send", "room": room, "text": "hi", "cid": "c-17"})
        a = c.recv_type("ack")
        self.assertEqual((a["cid"], a["room"], a["id"]), ("c-17", room, 1))
        self.assertLess(abs(a["ts"] - t0), 60000)
        m = c.recv_type("message")
        self.assertEqual((m["id"], m["text"], m["from"], m["cid"], m["ts"]),
                         (1, "hi", "sender", "c-17", a["ts"]))
        c.send({"type": "send", "room": room, "text": "no cid"})
        a = c.recv_type("ack")
        self.assertNotIn("cid", a)
        self.assertEqual(a["id"], 2)
        m = c.recv_type("message")
        self.assertNotIn("cid", m)

    def test_cannot_post_as_someone_else(self):
        room = self.room()
        c = self.client("honest")
        c.send({"type": "send", "room": room, "text": "spoof?", "from": "mallory",
                "nick": "mallory"})
        c.recv_type("ack")
        self.server.post(c.token, room, "spoof 2?")
        st, hd, body = self.server.curl("POST", "/api/v1/rooms/%s/messages" % room,
                                        body={"text": "spoof 3?", "from": "mallory"},
                                        token=c.token)
        self.assertIn(st, (201, 400))
        self.assertEqual({m["from"] for m in self.server.all_messages(room)}, {"honest"})

    def test_send_without_join(self):
        room = self.room()
        c = self.client("nojoin")
        c.send({"type": "send", "room": room, "text": "drive-by"})
        a = c.recv_type("ack")
        self.assertEqual(a["id"], 1)
        self.assertEqual(self.server.poll(room)["messages"][0]["text"], "drive-by")
        c.send({"type": "ping", "t": 5})
        self.assertEqual(c.recv_type("pong")["t"], 5, "no message for a non-member")

    def test_send_retry_dedup(self):
        room = self.room()
        c = self.client("retry")
        c.send({"type": "send", "room": room, "text": "x", "cid": "dup"})
        a1 = c.recv_type("ack")
        c.send({"type": "send", "room": room, "text": "x", "cid": "dup"})
        a2 = c.recv_type("ack")
        self.assertEqual(a1["id"], a2["id"])
        self.assertEqual(len(self.server.all_messages(room)), 1)
        # The same token over HTTP with the same cid: still the same message.
        r = self.server.post(c.token, room, "x", cid="dup")
        self.assertEqual(r["id"], a1["id"])
        self.assertEqual(len(self.server.all_messages(room)), 1)

    def test_ping_pong(self):
        c = self.client("pinger")
        # "t":<client value>: numbers and strings at least (the text is silent on more).
        for t in (1, "str", 1.5, 1763900000123, ""):
            c.send({"type": "ping", "t": t})
            p = c.recv_type("pong")
            self.assertEqual(p["t"], t)
            self.assertIsInstance(p["ts"], int)

    def next_presence(self, c, nick):
        """The next presence event about nick (a client may also hear about itself)."""
        while True:
            p = c.recv()
            self.assertEqual(p["type"], "presence", p)
            if p["nick"] == nick:
                return p

    def test_presence(self):
        room = self.room()
        a = self.client("watcher")
        a.join(room)
        b = self.client("bob")
        b.join(room)
        p = self.next_presence(a, "bob")
        self.assertEqual((p["room"], p["state"]), (room, "join"))
        b.send({"type": "leave", "room": room})
        b.recv_type("left")
        p = self.next_presence(a, "bob")
        self.assertEqual((p["room"], p["state"]), (room, "leave"))
        c = self.client("carol")
        c.join(room)
        self.assertEqual(self.next_presence(a, "carol")["state"], "join")
        c.close()  # a disconnect is a leave too
        p = self.next_presence(a, "carol")
        self.assertEqual((p["room"], p["state"]), (room, "leave"))

    def test_sse_hears_presence(self):
        room = self.room()
        sse = dx.SSEStream(self.server, room)
        self.addCleanup(sse.close)
        b = self.client("dave")
        b.join(room)
        ev = sse.next_event()
        self.assertNotEqual(ev.get("event"), "message", ev)
        import json
        p = json.loads(ev["data"])
        self.assertEqual((p["type"], p["room"], p["nick"], p["state"]),
                         ("presence", room, "dave", "join"))

    def test_errors_and_the_11th_closes(self):
        c = self.client("errs")
        room = self.room()
        bad = [{"type": "nope"}, {"type": "send", "room": room}, {"type": "send", "room": "BAD",
               "text": "x"}, {"type": "send", "room": room, "text": ""},
               {"type": "send", "room": room, "text": "x" * 4097},
               {"type": "join", "room": "Bad Room"}, {"type": "join"},
               {"type": "send", "room": room, "text": "a\u0000b"},
               {"type": "send", "room": room, "text": "x", "cid": ""}, {"no": "type"}]
        self.assertEqual(len(bad), 10)
        for obj in bad:
            c.send(obj)
            o = c.recv()
            self.assertEqual(o["type"], "error", "%r answered %r" % (obj, o))
            self.assertIsInstance(o["code"], str)
        c.send({"type": "ping", "t": 1})
        self.assertEqual(c.recv()["type"], "pong", "10 errors: still open")
        self.assertEqual(self.server.poll(room)["last_id"], 0, "errors changed nothing")
        self.send_raw_junk(c)
        rest = c.wait_closed()
        self.assertTrue(all(o["type"] == "error" for o in rest), rest)
        self.check_policy_close(c)

    def send_raw_junk(self, c):
        c.send_text("this is not json")

    def check_policy_close(self, c):
        self.assertEqual(c.close_code, 1008)

    def test_not_json_is_an_error(self):
        c = self.client("junk")
        self.send_raw_junk(c)
        o = c.recv()
        self.assertEqual(o["type"], "error")
        c.send({"type": "ping", "t": 2})
        self.assertEqual(c.recv_type("pong")["t"], 2)

    def test_unknown_fields_ignored(self):
        c = self.client()
        c.send({"type": "hello", "nick": "extra", "colour": "blue"})
        self.assertEqual(c.recv()["type"], "welcome")
        c.send({"type": "ping", "t": 3, "x": [1]})
        self.assertEqual(c.recv_type("pong")["t"], 3)

    def test_two_rooms(self):
        r1, r2 = self.room(), self.room()
        c = self.client("multi")
        c.join(r1)
        c.join(r2)
        tok = self.token()
        self.server.post(tok, r1, "one")
        self.server.post(tok, r2, "two")
        got = sorted((m["room"], m["text"]) for m in (c.recv_type("message"),
                                                        c.recv_type("message")))
        self.assertEqual(got, sorted([(r1, "one"), (r2, "two")]))

    def test_subprotocol(self):
        if self.transport != "ws":
            self.skipTest("WebSocket only")
        c = self.server.ws_client(subprotocols=["duplex.v1"])
        self.addCleanup(c.close)
        self.assertEqual(c.subprotocol, "duplex.v1")
        c.hello("sub")
        c2 = self.server.ws_client()
        self.addCleanup(c2.close)
        self.assertIsNone(c2.subprotocol)
        c2.hello("nosub")

    def test_large_text_frame_16k(self):
        if self.transport != "ws":
            self.skipTest("WebSocket only")
        # A 16 KiB frame is allowed; the text inside is too long, so an error, not a close.
        c = self.client("big")
        pad = 16384 - len('{"type":"send","room":"r","text":""}')
        c.send_text('{"type":"send","room":"r","text":"%s"}' % ("x" * pad))
        o = c.recv()
        self.assertEqual(o["type"], "error")
        c.send({"type": "ping", "t": 1})
        self.assertEqual(c.recv_type("pong")["t"], 1)

    def test_close_normal(self):
        if self.transport != "ws":
            self.skipTest("WebSocket only")
        c = self.server.ws_client("closer")
        c.close()
        self.assertEqual(c.close_code, 1000)


if __name__ == "__main__":
    dx.main()
