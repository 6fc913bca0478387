#!/usr/bin/env python3
"""docs/protocol.md §1, §2 and §6: durability across kill -9 (sqlite),
epochs across restarts, and the polite SIGTERM shutdown."""

import json
import os
import signal
import socket
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


class Restart(unittest.TestCase):
    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.cleanup()

    def server(self, **kw):
        s = dx.Server(**kw)
        self.servers.append(s)
        return s

    @dx.needs_sqlite
    def test_kill9_sqlite_loses_nothing_acked(self):
        s = self.server(store="sqlite").start()
        room = "durable"
        tok = s.session("durable")
        acked = {}
        for i in range(20):
            acked[s.post(tok, room, "http%d" % i, cid="h%d" % i)["id"]] = "http%d" % i
        c = s.tcp_client("durable_tcp")
        for i in range(200):
            c.send({"type": "send", "room": room, "text": "tcp%d" % i})
        for i in range(200):
            acked[c.recv_type("ack")["id"]] = "tcp%d" % i
        w = s.ws_client("durable_ws")
        for i in range(50):
            w.send({"type": "send", "room": room, "text": "ws%d" % i})
        for i in range(50):
            acked[w.recv_type("ack")["id"]] = "ws%d" % i
        epoch = s.poll(room)["epoch"]
        st, info = s.get_json("/api/v1/info")
        # Immediately, with the acks in hand: kill -9. Under Wine the pid is
        # the Windows process itself (the wine launcher execs into it), so
        # this is the hard stop of taskkill /F: no handler, no flush.
        os.kill(s.pid, signal.SIGKILL)
        s.proc.wait()
        c.close()
        w.close()
        self.assertEqual(sorted(acked), list(range(1, 271)))

        s.start()  # same data dir
        msgs = s.all_messages(room)
        self.assertEqual([m["id"] for m in msgs], list(range(1, 271)), "nothing acked lost")
        for m in msgs:
            self.assertEqual(m["text"], acked[m["id"]])
        self.assertEqual(s.poll(room)["epoch"], epoch, "sqlite epoch survives restarts")
        r = s.post(s.session("durable"), room, "after restart")
        self.assertEqual(r["id"], 271, "ids continue")
        # If tokens survive restarts, a retried pre-crash POST is still recognised.
        if self.token_survives(s, tok):
            self.assertEqual(s.post(tok, room, "http3", cid="h3")["id"], 4)
        # The rooms list knows it, the welcome/joined carry the same epoch.
        st, rooms = s.get_json("/api/v1/rooms")
        self.assertIn(room, [x["name"] for x in rooms["rooms"]])
        c = s.tcp_client("again")
        self.assertEqual(c.join(room)["epoch"], epoch)
        c.close()
        s.stop()

    def token_survives(self, s, tok):
        st, hd, body = s.curl("POST", "/api/v1/rooms/probe-room/messages", body={"text": "p"},
                              token=tok)
        return st == 201

    @dx.needs_sqlite
    def test_kill9_mid_stream(self):
        s = self.server(store="sqlite").start()
        room = "midstream"
        c = s.tcp_client("streamer")
        n = 3000
        sent = threading.Thread(target=lambda: [c.send({"type": "send", "room": room,
                                                        "text": "s%d" % i, "cid": "c%d" % i})
                                                for i in range(n)])
        sent.start()
        acked = {}
        try:
            while len(acked) < 1000:
                a = c.recv_type("ack")
                acked[a["id"]] = a["cid"]
        finally:
            os.kill(s.pid, signal.SIGKILL)  # in the middle of the stream
            s.proc.wait()
        sent.join(30)
        c.close()
        s.start()
        msgs = s.all_messages(room)
        ids = [m["id"] for m in msgs]
        self.assertEqual(ids, list(range(1, len(ids) + 1)), "no gaps, no duplicates")
        self.assertGreaterEqual(len(ids), max(acked), "every acked id survived")
        for m in msgs:
            self.assertEqual(m["text"], "s" + m["cid"][1:])
            if m["id"] in acked:
                self.assertEqual(m["cid"], acked[m["id"]])
        self.assertEqual(s.post(s.session("after"), room, "next")["id"], len(ids) + 1)
        s.stop()

    @dx.needs_sqlite
    def test_sqlite_replay_of_a_long_history_after_restart(self):
        s = self.server(store="sqlite").start()
        room = "longhist"
        c = s.tcp_client("hist")
        n = 2500
        for i in range(n):
            c.send({"type": "send", "room": room, "text": "h%d" % i})
        for i in range(n):
            c.recv_type("ack")
        c.close()
        s.stop()
        s.start()
        self.assertEqual([m["id"] for m in s.all_messages(room)], list(range(1, n + 1)))
        st, obj = s.get_json("/api/v1/rooms/%s/messages?before=5&limit=3" % room)
        self.assertEqual([m["text"] for m in obj["messages"]], ["h1", "h2", "h3"])
        for make in (s.tcp_client, s.ws_client):
            c = make("replayer")
            self.assertEqual(c.join(room, since=10)["last_id"], n)
            got = [c.recv_type("message")["id"] for _ in range(n - 10)]
            self.assertEqual(got, list(range(11, n + 1)))
            c.close()
        sse = dx.SSEStream(s, room, since=2000)
        try:
            got = [int(sse.next_message()["id"]) for _ in range(n - 2000)]
            self.assertEqual(got, list(range(2001, n + 1)))
        finally:
            sse.close()
        s.stop()

    @dx.needs_sqlite
    def test_sqlite_clean_restart_keeps_history(self):
        s = self.server(store="sqlite").start()
        tok = s.session("clean")
        for i in range(5):
            s.post(tok, "keep", "k%d" % i)
        epoch = s.poll("keep")["epoch"]
        s.stop()
        s.start()
        obj = s.poll("keep")
        self.assertEqual([m["text"] for m in obj["messages"]], ["k%d" % i for i in range(5)])
        self.assertEqual(obj["epoch"], epoch)
        st, info = s.get_json("/api/v1/info")
        s.stop()

    def test_memory_store_new_epoch(self):
        s = self.server(store="memory").start()
        tok = s.session("mem")
        s.post(tok, "volatile", "gone soon")
        e1 = s.poll("volatile")["epoch"]
        w = s.ws_client("mem")
        self.assertEqual(w.join("volatile")["epoch"], e1)
        w.close()
        s.stop()
        s.start()
        obj = s.poll("volatile")
        self.assertNotEqual(obj["epoch"], e1, "memory store: a new epoch per start")
        self.assertEqual(obj["messages"], [])
        self.assertEqual(obj["last_id"], 0)
        s.stop()


@dx.skip_on_wine("needs SIGTERM semantics")
class Shutdown(unittest.TestCase):
    def test_sigterm_polite_close(self):
        s = dx.Server().start()
        try:
            room = "closing"
            tok = s.session("closer")
            s.post(tok, room, "x")
            w = s.ws_client("ws_closing")
            w.join(room)
            t = s.tcp_client("tcp_closing")
            t.join(room)
            sse = dx.SSEStream(s, room)
            lp = dx.LongPoll(s, room, since=1, wait=60)
            # Let the long poll park (a metric says so when the server has one).
            time.sleep(1.0)
            self.assertFalse(lp.done())
            t0 = time.monotonic()
            s.proc.send_signal(signal.SIGTERM)
            rc = s.proc.wait(15)
            elapsed = time.monotonic() - t0
            self.assertEqual(rc, 0, "exit 0 after SIGTERM")
            self.assertLess(elapsed, 6.5, "exit within 5 s (plus slack)")
            # Long poll: 503 shutting_down.
            st, body = lp.result(timeout=30)
            self.assertEqual(st, 503, body)
            self.assertEqual(dx.decode_json(body)["error"]["code"], "shutting_down")
            # TCP: an error shutting_down, then the close.
            rest = t.wait_closed(timeout=10)
            self.assertTrue(any(o.get("type") == "error" and o.get("code") == "shutting_down"
                                for o in rest), rest)
            # WebSocket: close 1001.
            w.wait_closed(timeout=10)
            self.assertEqual(w.close_code, 1001)
            # SSE: the stream ends.
            dx.wait_until(lambda: sse.proc.poll() is not None, timeout=10, what="SSE end")
            self.assertEqual(sse.proc.returncode, 0, "the chunked stream ended cleanly "
                             "(curl: %r)" % sse.proc.stderr.read())
            sse.close()
            w.close()
            t.close()
        finally:
            s.cleanup()

    def test_sigterm_with_a_stalled_reader_still_exits(self):
        # A reader that never reads, with megabytes pending, must not hold shutdown.
        s = dx.Server(store="memory").start()
        try:
            stalled = socket.socket()
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stalled.connect(("127.0.0.1", s.tcp_port))
            lc = dx.LineClient(stalled)
            lc.hello("stalled")
            lc.join("stall")
            w = s.tcp_client("pusher")
            for i in range(200):
                w.send({"type": "send", "room": "stall", "text": "q" * 4000})
            for i in range(200):
                w.recv_type("ack")
            t0 = time.monotonic()
            s.proc.send_signal(signal.SIGTERM)
            rc = s.proc.wait(15)
            self.assertEqual(rc, 0)
            self.assertLess(time.monotonic() - t0, 6.5, "exit within 5 s (plus slack)")
            stalled.close()
            w.close()
        finally:
            s.cleanup()

    def test_sigterm_with_half_sent_inputs(self):
        s = dx.Server(store="memory").start()
        socks = []
        try:
            a = s.raw()
            a.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: ")  # headers unfinished
            b = s.raw()
            b.sendall(b"POST /api/v1/session HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")  # body
            w = dx.RawWS(s)
            w.send(dx.ws_frame(1, b'{"type":"hello","nick":"half"}')[:5])  # half a frame
            t = s.raw(s.tcp_port)
            t.sendall(b'{"type":"hello",')  # half a line
            silent = s.raw()
            socks = [a, b, w.sock, t, silent]
            time.sleep(0.3)
            t0 = time.monotonic()
            s.proc.send_signal(signal.SIGTERM)
            rc = s.proc.wait(15)
            self.assertEqual(rc, 0)
            self.assertLess(time.monotonic() - t0, 6.5, "exit within 5 s (plus slack)")
        finally:
            for x in socks:
                x.close()
            s.cleanup()

    @dx.needs_sqlite
    def test_sigterm_flushes_store(self):
        s = dx.Server(store="sqlite").start()
        try:
            c = s.tcp_client("flusher")
            for i in range(300):
                c.send({"type": "send", "room": "flush", "text": "f%d" % i})
            acked = [c.recv_type("ack")["id"] for _ in range(300)]
            s.stop()
            c.close()
            s.start()
            self.assertEqual([m["id"] for m in s.all_messages("flush")], acked)
            s.stop()
        finally:
            s.cleanup()

    def test_no_new_connections_after_stop(self):
        s = dx.Server().start()
        try:
            port = s.http_port
            s.stop()
            import socket
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), 2).close()
        finally:
            s.cleanup()


if __name__ == "__main__":
    dx.main()
