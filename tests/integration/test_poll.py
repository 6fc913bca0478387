#!/usr/bin/env python3
"""docs/protocol.md §4: short poll, long poll, scrollback (curl)."""

import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


def fill(server, room, n, tok=None):
    """Posts n messages quickly over raw TCP (one connection, pipelined sends)."""
    c = server.tcp_client(dx.unique("f").replace("-", "_"))
    try:
        for i in range(n):
            c.send({"type": "send", "room": room, "text": "m%d" % (i + 1)})
        ids = [c.recv_type("ack")["id"] for _ in range(n)]
    finally:
        c.close()
    return ids


class ShortPoll(dx.ServerTest):
    def test_since_and_last_id(self):
        room, tok = self.room(), self.token()
        for i in range(5):
            self.server.post(tok, room, "m%d" % (i + 1))
        obj = self.server.poll(room, since=2)
        self.assertEqual([m["id"] for m in obj["messages"]], [3, 4, 5])
        self.assertEqual([m["text"] for m in obj["messages"]], ["m3", "m4", "m5"])
        self.assertEqual(obj["last_id"], 5)
        self.assertIsInstance(obj["epoch"], str)
        obj = self.server.poll(room, since=5)
        self.assertEqual(obj["messages"], [])
        self.assertEqual(obj["last_id"], 5)
        obj = self.server.poll(room, since=99)
        self.assertEqual(obj["messages"], [])
        obj = self.server.poll(room, since=3, limit=1)
        self.assertEqual([m["id"] for m in obj["messages"]], [4])
        self.assertEqual(obj["last_id"], 5)

    def test_since_defaults_to_0(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "a")
        st, obj = self.server.get_json("/api/v1/rooms/%s/messages" % room)
        self.assertEqual(st, 200)
        self.assertEqual([m["id"] for m in obj["messages"]], [1])

    def test_epoch_is_stable(self):
        a = self.server.poll(self.room())["epoch"]
        b = self.server.poll(self.room())["epoch"]
        self.assertEqual(a, b)
        w = self.server.ws_client("ep")
        self.assertEqual(w.join(self.room())["epoch"], a)
        w.close()

    def test_limit_default_100_and_clamp_1000(self):
        room = self.room()
        fill(self.server, room, 1100)
        obj = self.server.poll(room)
        self.assertEqual(len(obj["messages"]), 100, "default limit 100")
        self.assertEqual(obj["messages"][0]["id"], 1)
        self.assertEqual(obj["messages"][-1]["id"], 100)
        self.assertEqual(obj["last_id"], 1100)
        obj = self.server.poll(room, limit=5000)
        self.assertEqual(len(obj["messages"]), 1000, "clamped to 1000")
        self.assertEqual([m["id"] for m in obj["messages"]], list(range(1, 1001)))
        obj = self.server.poll(room, since=1000, limit=1000)
        self.assertEqual([m["id"] for m in obj["messages"]], list(range(1001, 1101)))

    def test_bad_parameters_400(self):
        room = self.room()
        for q in ("since=-1", "since=abc", "limit=0", "limit=-3", "limit=x", "wait=0",
                  "wait=61", "wait=-1", "wait=abc", "since=18446744073709551616",
                  "limit=1x", "since=1e3"):
            st, hd, body = self.server.curl("GET", "/api/v1/rooms/%s/messages?%s" % (room, q))
            self.assert_error(st, hd, body, "bad_request", 400)

    def test_scrollback_before(self):
        room = self.room()
        fill(self.server, room, 30)
        obj = self.server.poll(room)
        st, obj = self.server.get_json("/api/v1/rooms/%s/messages?before=21&limit=5" % room)
        self.assertEqual(st, 200)
        self.assertEqual([m["id"] for m in obj["messages"]], [16, 17, 18, 19, 20])
        self.assertEqual(obj["last_id"], 30)
        st, obj = self.server.get_json("/api/v1/rooms/%s/messages?before=3&limit=5" % room)
        self.assertEqual([m["id"] for m in obj["messages"]], [1, 2])
        st, obj = self.server.get_json("/api/v1/rooms/%s/messages?before=1&limit=5" % room)
        self.assertEqual(obj["messages"], [])
        st, obj = self.server.get_json("/api/v1/rooms/%s/messages?before=1000&limit=3" % room)
        self.assertEqual([m["id"] for m in obj["messages"]], [28, 29, 30])
        # Page back to the start: every id once, in order.
        ids, before = [], 31
        while True:
            st, obj = self.server.get_json("/api/v1/rooms/%s/messages?before=%d&limit=7"
                                           % (room, before))
            if not obj["messages"]:
                break
            ids = [m["id"] for m in obj["messages"]] + ids
            before = obj["messages"][0]["id"]
        self.assertEqual(ids, list(range(1, 31)))


class Dedup(dx.ServerTest):
    def test_cid_dedup_within_last_1000(self):
        room = self.room()
        c = self.server.tcp_client("dedup")
        c.send({"type": "send", "room": room, "text": "orig", "cid": "keep-me"})
        first = c.recv_type("ack")["id"]
        for i in range(999):
            c.send({"type": "send", "room": room, "text": "f%d" % i})
        for i in range(999):
            c.recv_type("ack")
        # The original is now the 1,000th newest message: a retry still finds it.
        c.send({"type": "send", "room": room, "text": "orig", "cid": "keep-me"})
        self.assertEqual(c.recv_type("ack")["id"], first)
        self.server.post(c.token, room, "orig", cid="keep-me")
        self.assertEqual(self.server.poll(room)["last_id"], 1000, "stored once")
        c.close()


class LongPoll(dx.ServerTest):
    def test_answers_at_once_if_messages_exist(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "there")
        lp = dx.LongPoll(self.server, room, since=0, wait=60)
        try:
            st, body = lp.result(timeout=30)  # not 60: it must not be held
        finally:
            lp.close()
        self.assertEqual(st, 200)
        obj = dx.decode_json(body)
        self.assertEqual([m["text"] for m in obj["messages"]], ["there"])
        self.assertEqual(obj["last_id"], 1)
        self.assertIn("epoch", obj)

    def test_held_then_answered(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "old")
        lp = dx.LongPoll(self.server, room, since=1, wait=60)
        try:
            # Give curl the time to connect and the server the time to park it; then
            # the answer must still be pending (the room has nothing newer).
            time.sleep(1.0)
            self.assertFalse(lp.done(), "long poll answered with nothing new")
            r = self.server.post(tok, room, "new")
            st, body = lp.result(timeout=30)
        finally:
            lp.close()
        self.assertEqual(st, 200)
        obj = dx.decode_json(body)
        self.assertEqual([(m["id"], m["text"]) for m in obj["messages"]], [(r["id"], "new")])
        self.assertEqual(obj["last_id"], 2)

    def test_many_waiters_all_answered(self):
        room, tok = self.room(), self.token()
        lps = [dx.LongPoll(self.server, room, since=0, wait=60) for _ in range(10)]
        try:
            time.sleep(1.0)
            self.server.post(tok, room, "fan")
            for lp in lps:
                st, body = lp.result(timeout=30)
                self.assertEqual(st, 200)
                self.assertEqual([m["text"] for m in dx.decode_json(body)["messages"]], ["fan"])
        finally:
            for lp in lps:
                lp.close()

    def test_empty_after_wait(self):
        room = self.room()
        t0 = time.monotonic()
        lp = dx.LongPoll(self.server, room, since=0, wait=1)
        try:
            st, body = lp.result(timeout=30)
        finally:
            lp.close()
        self.assertEqual(st, 200)
        obj = dx.decode_json(body)
        self.assertEqual(obj["messages"], [])
        self.assertEqual(obj["last_id"], 0)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9, "held about S seconds")

    def test_since_ahead_of_room_stays_empty(self):
        # since=N means "id > N": a new message with a smaller id does not answer it.
        room, tok = self.room(), self.token()
        lp = dx.LongPoll(self.server, room, since=5, wait=2)
        try:
            time.sleep(0.5)
            self.server.post(tok, room, "id 1")
            st, body = lp.result(timeout=30)
        finally:
            lp.close()
        self.assertEqual(st, 200)
        obj = dx.decode_json(body)
        self.assertEqual(obj["messages"], [])
        self.assertEqual(obj["last_id"], 1)

    def test_wait_bounds_400(self):
        room = self.room()
        for w in (0, 61, 1000):
            st, hd, body = self.server.curl("GET", "/api/v1/rooms/%s/messages?since=0&wait=%d"
                                            % (room, w))
            self.assert_error(st, hd, body, "bad_request", 400)
        # The bounds themselves are fine (60 answers at once since there is a message).
        tok = self.token()
        self.server.post(tok, room, "x")
        st, obj = self.server.get_json("/api/v1/rooms/%s/messages?since=0&wait=60" % room)
        self.assertEqual(st, 200)
        self.assertEqual(len(obj["messages"]), 1)

    def test_long_poll_with_limit(self):
        room = self.room()
        fill(self.server, room, 20)
        st, obj = self.server.get_json("/api/v1/rooms/%s/messages?since=5&wait=5&limit=3" % room)
        self.assertEqual([m["id"] for m in obj["messages"]], [6, 7, 8])

    def test_long_poll_loop_catches_everything(self):
        room, tok = self.room(), self.token()
        n = 40
        errors = []

        def writer():
            try:
                c = self.server.tcp_client("lpw")
                for i in range(n):
                    c.send({"type": "send", "room": room, "text": "w%d" % i})
                    c.recv_type("ack")
                    time.sleep(0.01)
                c.close()
            except Exception as e:  # reported below
                errors.append(e)
        t = threading.Thread(target=writer)
        t.start()
        seen, since = [], 0
        deadline = time.monotonic() + 120
        while len(seen) < n and time.monotonic() < deadline:
            st, obj = self.server.get_json("/api/v1/rooms/%s/messages?since=%d&wait=10"
                                           % (room, since))
            self.assertEqual(st, 200)
            for m in obj["messages"]:
                seen.append(m["id"])
                since = m["id"]
        t.join()
        self.assertEqual(errors, [])
        self.assertEqual(seen, list(range(1, n + 1)))


if __name__ == "__main__":
    dx.main()
