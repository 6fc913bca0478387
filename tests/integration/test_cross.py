#!/usr/bin/env python3
"""docs/protocol.md §1 and §6: one chat, five ways to carry it. A message
sent on each transport reaches every other; a reader hopping across all five
while a writer posts receives every id exactly once and in order."""

import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402

TRANSPORTS = ("poll", "longpoll", "sse", "websocket", "tcp")


def wait_next(got, deadline):
    """Wait for the first message until the deadline; once some came, a short
    lull ends this hop (the next hop resumes from the last id anyway)."""
    left = max(0.1, deadline - time.monotonic())
    return min(left, 3.0) if got else left


def read_some(server, transport, room, since, want, timeout=30):
    """Reads up to `want` messages with id > since over one transport, resuming
    from `since` as a client switching transport would. Returns them."""
    deadline = time.monotonic() + timeout
    if transport == "poll":
        while True:
            obj = server.poll(room, since=since, limit=want)
            if obj["messages"] or time.monotonic() > deadline:
                return obj["messages"]
            time.sleep(0.05)
    if transport == "longpoll":
        st, obj = server.get_json("/api/v1/rooms/%s/messages?since=%d&wait=5&limit=%d"
                                  % (room, since, want))
        assert st == 200, (st, obj)
        return obj["messages"]
    got = []
    if transport == "sse":
        s = dx.SSEStream(server, room, last_event_id=since)
        try:
            while len(got) < want and time.monotonic() < deadline:
                ev = s.next_message(wait_next(got, deadline))
                m = json.loads(ev["data"])
                assert ev["id"] == str(m["id"]), ev
                got.append(m)
        except AssertionError:
            if not got:
                raise
        finally:
            s.close()
        return got
    c = server.ws_client("hopper") if transport == "websocket" else server.tcp_client("hopper")
    try:
        j = c.join(room, since=since)
        assert j["room"] == room
        while len(got) < want and time.monotonic() < deadline:
            try:
                got.append(c.recv_type("message", wait_next(got, deadline)))
            except AssertionError:
                if got:
                    break
                raise
    finally:
        c.close()
    return got


class Cross(dx.ServerTest):
    def test_each_sender_reaches_every_receiver(self):
        room = self.room()
        tok = self.token("http_sender")
        ws_sender = self.server.ws_client("websocket_sender")
        tcp_sender = self.server.tcp_client("tcp_sender")
        ws_recv = self.server.ws_client("ws_recv")
        tcp_recv = self.server.tcp_client("tcp_recv")
        ws_recv.join(room, since=0)
        tcp_recv.join(room, since=0)
        sse = dx.SSEStream(self.server, room, since=0)
        try:
            sends = [
                ("http", lambda: self.server.post(tok, room, "from http", cid="h1")["id"]),
                ("websocket", lambda: (ws_sender.send({"type": "send", "room": room,
                                                       "text": "from websocket", "cid": "w1"}),
                                       ws_sender.recv_type("ack")["id"])[1]),
                ("tcp", lambda: (tcp_sender.send({"type": "send", "room": room,
                                                  "text": "from tcp", "cid": "t1"}),
                                 tcp_sender.recv_type("ack")["id"])[1]),
            ]
            since = 0
            for name, send in sends:
                lp = dx.LongPoll(self.server, room, since=since, wait=30)
                time.sleep(0.3)  # let the long poll park (correct either way)
                mid = send()
                self.assertEqual(mid, since + 1)
                want = ("from " + name, mid)
                st, body = lp.result(timeout=60)
                self.assertEqual(st, 200)
                got = [(m["text"], m["id"]) for m in dx.decode_json(body)["messages"]]
                self.assertEqual(got, [want], "long poll got the %s message" % name)
                got = [(m["text"], m["id"]) for m in self.server.poll(room, since=since)["messages"]]
                self.assertEqual(got, [want], "short poll got the %s message" % name)
                m = json.loads(sse.next_message()["data"])
                self.assertEqual((m["text"], m["id"]), want, "SSE got the %s message" % name)
                m = ws_recv.recv_type("message")
                self.assertEqual((m["text"], m["id"]), want, "WebSocket got the %s message" % name)
                m = tcp_recv.recv_type("message")
                self.assertEqual((m["text"], m["id"]), want, "TCP got the %s message" % name)
                self.assertEqual(m["from"], name + "_sender")
                since = mid
        finally:
            sse.close()
            for c in (ws_sender, tcp_sender, ws_recv, tcp_recv):
                c.close()

    def test_same_message_same_fields_everywhere(self):
        room = self.room()
        tok = self.token("fields")
        r = self.server.post(tok, room, "same \u00e9verywhere", cid="f-1")
        views = {}
        for t in TRANSPORTS:
            msgs = read_some(self.server, t, room, 0, 1)
            self.assertEqual(len(msgs), 1, t)
            views[t] = msgs[0]
        want = {"type": "message", "room": room, "id": r["id"], "from": "fields",
                "text": "same \u00e9verywhere", "ts": r["ts"], "cid": "f-1"}
        for t, m in views.items():
            self.assertEqual({k: m.get(k) for k in want}, want, t)

    def test_hopping_reader_gets_every_id_once_in_order(self):
        room = self.room()
        n = 150
        errors = []
        done = threading.Event()

        def writer():
            try:
                tok = self.server.session("writer")
                c = self.server.tcp_client("writer2")
                for i in range(n):
                    # Alternate HTTP POST and TCP send so ids come from two paths.
                    if i % 2 == 0:
                        self.server.post(tok, room, "w%d" % i)
                    else:
                        c.send({"type": "send", "room": room, "text": "w%d" % i})
                        c.recv_type("ack")
                    time.sleep(0.01)
                c.close()
            except Exception as e:
                errors.append(e)
            finally:
                done.set()

        t = threading.Thread(target=writer)
        t.start()
        seen = []
        hops = 0
        deadline = time.monotonic() + 240
        while len(seen) < n and time.monotonic() < deadline and not errors:
            transport = TRANSPORTS[hops % len(TRANSPORTS)]
            since = seen[-1]["id"] if seen else 0
            for m in read_some(self.server, transport, room, since, 7):
                self.assertEqual(m["id"], (seen[-1]["id"] if seen else 0) + 1,
                                 "after a hop to %s: ids %s then %d"
                                 % (transport, [x["id"] for x in seen[-3:]], m["id"]))
                seen.append(m)
            hops += 1
        t.join(60)
        self.assertEqual(errors, [])
        self.assertGreaterEqual(hops, 10)
        self.assertEqual([m["id"] for m in seen], list(range(1, n + 1)))
        self.assertEqual([m["text"] for m in seen], ["w%d" % i for i in range(n)])


    def test_concurrent_writers_on_three_transports(self):
        room = self.room()
        n = 100
        reader = self.server.ws_client("live_reader")
        reader.join(room)
        errors = []

        def http_writer():
            try:
                tok = self.server.session("cw_http")
                for i in range(n):
                    self.server.post(tok, room, "http %d" % i)
            except Exception as e:
                errors.append(e)

        def sock_writer(kind):
            try:
                c = (self.server.ws_client if kind == "ws" else self.server.tcp_client)("cw_" + kind)
                for i in range(n):
                    c.send({"type": "send", "room": room, "text": "%s %d" % (kind, i)})
                for i in range(n):
                    c.recv_type("ack")
                c.close()
            except Exception as e:
                errors.append(e)
        threads = [threading.Thread(target=http_writer),
                   threading.Thread(target=sock_writer, args=("ws",)),
                   threading.Thread(target=sock_writer, args=("tcp",))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])
        msgs = self.server.all_messages(room)
        self.assertEqual([m["id"] for m in msgs], list(range(1, 3 * n + 1)))
        for kind in ("http", "ws", "tcp"):
            mine = [m["text"] for m in msgs if m["text"].startswith(kind + " ")]
            self.assertEqual(mine, ["%s %d" % (kind, i) for i in range(n)],
                             "each writer's messages in its own order")
        live = [reader.recv_type("message")["id"] for _ in range(3 * n)]
        reader.close()
        self.assertEqual(live, list(range(1, 3 * n + 1)))

    def test_max_text_with_escapes_reaches_everyone(self):
        # 4,096 bytes of control characters: ~24 KiB once JSON-escaped, more than
        # a client may send in one line, but the server must still deliver it.
        room = self.room()
        text = "\u0001\u001f\t" * 1365 + "x"
        self.assertEqual(len(text.encode()), 4096)
        r = self.server.post(self.token("escaper"), room, text)
        for t in TRANSPORTS:
            msgs = read_some(self.server, t, room, 0, 1)
            self.assertEqual(len(msgs), 1, t)
            self.assertEqual(msgs[0]["text"], text, t)
            self.assertEqual(msgs[0]["id"], r["id"], t)

    def test_abandoned_long_poll_and_stream(self):
        room, tok = self.room(), self.token()
        lps = [dx.LongPoll(self.server, room, since=0, wait=60) for _ in range(5)]
        streams = [dx.SSEStream(self.server, room) for _ in range(5)]
        time.sleep(0.5)
        for x in lps + streams:
            x.close()  # the clients vanish while parked
        r = self.server.post(tok, room, "anyone?")
        self.assertEqual(r["id"], 1)
        st, hd, body = self.server.curl("GET", "/healthz")
        self.assertEqual(st, 200)
        st, obj = self.server.get_json("/api/v1/rooms")
        online = [x["online"] for x in obj["rooms"] if x["name"] == room]
        dx.wait_until(lambda: [x["online"] for x in self.server.get_json("/api/v1/rooms")[1]["rooms"]
                               if x["name"] == room] in ([0], []), what="online back to 0")


if __name__ == "__main__":
    dx.main()
