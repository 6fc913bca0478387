#!/usr/bin/env python3
"""docs/protocol.md §4: session, rooms, post, every error status, the small
endpoints (/healthz, /metrics, /api/v1/time, /api/v1/info)."""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


class Session(dx.ServerTest):
    def test_create_201(self):
        st, hd, body = self.server.curl("POST", "/api/v1/session", body={"nick": "alice"})
        self.assertEqual(st, 201, body)
        self.assert_json_type(hd)
        obj = dx.decode_json(body)
        self.assertEqual(obj["nick"], "alice")
        self.assertIsInstance(obj["token"], str)
        self.assertTrue(obj["token"])

    def test_nick_charset_and_length(self):
        for nick in ("a", "A.b-c_9", "x" * 32):
            st, hd, body = self.server.curl("POST", "/api/v1/session", body={"nick": nick})
            self.assertEqual(st, 201, "nick %r: %r" % (nick, body))

    def test_bad_nicks_400(self):
        for nick in ("", "x" * 33, "al ice", "al/ice", "ali\u00e9", "a:b", "<b>"):
            st, hd, body = self.server.curl("POST", "/api/v1/session", body={"nick": nick})
            self.assert_error(st, hd, body, "bad_request", 400)

    def test_reserved_nicks_400(self):
        for nick in ("ticker", "server"):
            st, hd, body = self.server.curl("POST", "/api/v1/session", body={"nick": nick})
            self.assert_error(st, hd, body, "bad_request", 400)

    def test_bad_bodies_400(self):
        for body in (b"", b"{", b"[]", b'{"nick":42}', b'"alice"', b'{"nik":"alice"}',
                     b'{"nick":"alice"} trailing'):
            st, hd, data = self.server.curl("POST", "/api/v1/session", body=body)
            self.assert_error(st, hd, data, "bad_request", 400)

    def test_nicks_not_exclusive(self):
        a = self.server.session("shared")
        b = self.server.session("shared")
        self.assertNotEqual(a, b)


class Post(dx.ServerTest):
    def test_post_201_and_poll(self):
        room, tok = self.room(), self.token("poster")
        t0 = int(time.time() * 1000)
        st, hd, body = self.server.curl("POST", "/api/v1/rooms/%s/messages" % room,
                                        body={"text": "hi", "cid": "c-17"}, token=tok)
        self.assertEqual(st, 201, body)
        self.assert_json_type(hd)
        obj = dx.decode_json(body)
        self.assertEqual(obj["id"], 1)
        self.assertIsInstance(obj["ts"], int)
        self.assertLess(abs(obj["ts"] - t0), 60000)
        r = self.server.post(tok, room, "second")
        self.assertEqual(r["id"], 2)
        msgs = self.server.poll(room)["messages"]
        self.assertEqual(len(msgs), 2)
        m = msgs[0]
        self.assertEqual((m["type"], m["room"], m["id"], m["from"], m["text"], m["ts"],
                          m["cid"]), ("message", room, 1, "poster", "hi", obj["ts"], "c-17"))
        self.assertNotIn("cid", msgs[1], "cid only if the sender gave one")

    def test_unicode_text_roundtrip(self):
        room, tok = self.room(), self.token()
        text = "h\u00e9llo \u4e16\u754c \U0001F600 \"quoted\" \\ back\nline"
        self.server.post(tok, room, text)
        self.assertEqual(self.server.poll(room)["messages"][0]["text"], text)

    def test_text_4096_bytes_ok(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "x" * 4096)
        self.server.post(tok, room, "\u00e9" * 2048)  # 4096 bytes of UTF-8
        msgs = self.server.poll(room)["messages"]
        self.assertEqual(len(msgs[0]["text"]), 4096)
        self.assertEqual(msgs[1]["text"], "\u00e9" * 2048)

    def check_bad_post(self, body, code="bad_request", status=400, token=True, room=None):
        room = room or self.room()
        tok = self.token() if token is True else token
        before = self.server.poll(room)["last_id"] if status != 404 else None
        st, hd, data = self.server.curl("POST", "/api/v1/rooms/%s/messages" % room,
                                        body=body, token=tok)
        self.assert_error(st, hd, data, code, status)
        if before is not None:
            self.assertEqual(self.server.poll(room)["last_id"], before, "changed nothing")

    def test_no_token_401(self):
        self.check_bad_post({"text": "hi"}, "unauthorized", 401, token=None)

    def test_bad_token_401(self):
        self.check_bad_post({"text": "hi"}, "unauthorized", 401, token="not-a-token")

    def test_malformed_authorization_401(self):
        room = self.room()
        tok = self.token()
        for h in ("Authorization: Basic " + tok, "Authorization: Bearer", "Authorization: " + tok):
            st, hd, data = self.server.curl("POST", "/api/v1/rooms/%s/messages" % room,
                                            body={"text": "x"}, headers=[h])
            self.assert_error(st, hd, data, "unauthorized", 401)
        self.assertEqual(self.server.poll(room)["last_id"], 0)

    def test_bad_json_400(self):
        for body in (b"", b"{", b"not json", b"[1]", b'{"text":5}', b'{"cid":"x"}',
                     b'{"text":"a","cid":7}'):
            self.check_bad_post(body)

    def test_text_too_long_400(self):
        self.check_bad_post({"text": "x" * 4097})
        self.check_bad_post({"text": "\u00e9" * 2048 + "x"})

    def test_empty_text_400(self):
        self.check_bad_post({"text": ""})

    def test_nul_text_400(self):
        self.check_bad_post({"text": "a\u0000b"})

    def test_invalid_utf8_400(self):
        self.check_bad_post(b'{"text":"\xff\xfe"}')
        self.check_bad_post(b'{"text":"\\ud800"}')  # lone surrogate

    def test_bad_cid_400(self):
        self.check_bad_post({"text": "a", "cid": ""})
        self.check_bad_post({"text": "a", "cid": "c" * 65})
        self.check_bad_post({"text": "a", "cid": "with\u0001ctl"})
        self.check_bad_post({"text": "a", "cid": "caf\u00e9"})

    def test_cid_64_ok(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "x", cid="c" * 64)
        self.server.post(tok, room, "y", cid="~ !#printable")

    def test_cid_retry_dedup(self):
        room, tok = self.room(), self.token("retrier")
        a = self.server.post(tok, room, "once", cid="c-1")
        self.server.post(tok, room, "other")
        b = self.server.post(tok, room, "once", cid="c-1")
        self.assertEqual(b["id"], a["id"], "retry answered with the original id")
        msgs = self.server.all_messages(room)
        self.assertEqual([m["text"] for m in msgs], ["once", "other"], "stored once")
        # Same cid, another token: a new message.
        c = self.server.post(self.token("retrier"), room, "once", cid="c-1")
        self.assertEqual(c["id"], 3)
        # Same cid, same token, another room: a new message.
        d = self.server.post(tok, self.room(), "once", cid="c-1")
        self.assertEqual(d["id"], 1)

    def test_room_names(self):
        tok = self.token()
        for room in ("a", "z" * 32, "room_1-x", "0"):
            r = self.server.post(tok, room, "ok")
            self.assertGreaterEqual(r["id"], 1)
        # Judgement: a name that breaks the rules of section 2 is a violation of the
        # request, so 400 bad_request ("every violation ... fitting status").
        for room in ("Lobby", "r" * 33, "r.oom", "r%20m", "caf%C3%A9", "r~", "a%2Fb"):
            st, hd, data = self.server.curl("POST", "/api/v1/rooms/%s/messages" % room,
                                            body={"text": "x"}, token=tok)
            self.assert_error(st, hd, data, "bad_request", 400)
            for path in ("/api/v1/rooms/%s/messages" % room,
                         "/api/v1/rooms/%s/messages?since=0&wait=1" % room,
                         "/api/v1/rooms/%s/events" % room):
                st, hd, data = self.server.curl("GET", path)
                self.assert_error(st, hd, data, "bad_request", 400)
        # An empty segment matches no route at all: 400 or 404 both fit.
        st, hd, data = self.server.curl("GET", "/api/v1/rooms//messages")
        self.assertIn(st, (400, 404))
        st, rooms = self.server.get_json("/api/v1/rooms")
        for r in rooms["rooms"]:
            self.assertRegex(r["name"], r"^[a-z0-9_-]{1,32}$")

    def test_unknown_room_reads_empty(self):
        obj = self.server.poll(self.room())
        self.assertEqual(obj["messages"], [])
        self.assertEqual(obj["last_id"], 0)
        self.assertIsInstance(obj["epoch"], str)
        self.assertTrue(obj["epoch"])


class Rooms(dx.ServerTest):
    def test_rooms_list(self):
        room, tok = self.room(), self.token()
        for i in range(3):
            self.server.post(tok, room, "m%d" % i)
        st, hd, body = self.server.curl("GET", "/api/v1/rooms")
        self.assertEqual(st, 200)
        self.assert_json_type(hd)
        rooms = {r["name"]: r for r in dx.decode_json(body)["rooms"]}
        self.assertIn(room, rooms)
        self.assertEqual(rooms[room]["last_id"], 3)
        self.assertEqual(rooms[room]["online"], 0)

    def online(self, room):
        st, obj = self.server.get_json("/api/v1/rooms")
        for r in obj["rooms"]:
            if r["name"] == room:
                return r["online"]
        return 0

    def test_online_counts_sockets_and_sse(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "x")
        w = self.server.ws_client("on1")
        t = self.server.tcp_client("on2")
        sse = dx.SSEStream(self.server, room)
        try:
            w.join(room)
            t.join(room)
            dx.wait_until(lambda: self.online(room) == 3, what="online == 3")
            t.send({"type": "leave", "room": room})
            t.recv_type("left")
            dx.wait_until(lambda: self.online(room) == 2, what="online == 2 after leave")
            sse.close()
            dx.wait_until(lambda: self.online(room) == 1, what="online == 1 after SSE end")
            w.close()
            dx.wait_until(lambda: self.online(room) == 0, what="online == 0 after ws close")
        finally:
            sse.close()
            t.close()
            w.close()


class Routes(dx.ServerTest):
    def test_unknown_route_404(self):
        for path in ("/nope", "/api/v1/nope", "/api/v2/rooms", "/api/v1/rooms/lobby/nope",
                     "/api/v1/rooms/lobby/messages/1"):
            st, hd, body = self.server.curl("GET", path)
            self.assert_error(st, hd, body, "not_found", 404)

    def test_wrong_method_405(self):
        for method, path in (("GET", "/api/v1/session"), ("DELETE", "/api/v1/rooms"),
                             ("PUT", "/api/v1/rooms/lobby/messages"),
                             ("POST", "/healthz"), ("POST", "/api/v1/time"),
                             ("POST", "/api/v1/info"), ("DELETE", "/metrics")):
            # With a body, so that a missing length (411) is not the issue.
            st, hd, body = self.server.curl(method, path, body=b"{}")
            self.assert_error(st, hd, body, "method_not_allowed", 405)
            self.assertIn("allow", hd, "405 should say Allow (RFC 9110)")

    def test_healthz(self):
        st, hd, body = self.server.curl("GET", "/healthz")
        self.assertEqual(st, 200)
        self.assertEqual(body.strip(), b"ok")
        self.assertTrue(hd.get("content-type", "").startswith("text/plain"), hd)

    def test_time(self):
        t0 = int(time.time() * 1000)
        st, obj = self.server.get_json("/api/v1/time")
        t1 = int(time.time() * 1000)
        self.assertEqual(st, 200)
        self.assertIsInstance(obj["ts"], int)
        self.assertTrue(t0 - 5000 <= obj["ts"] <= t1 + 5000, (t0, obj, t1))

    def test_info(self):
        st, obj = self.server.get_json("/api/v1/info")
        self.assertEqual(st, 200)
        self.assertRegex(obj["server"], r"^duplexd/\S+$")
        self.assertEqual(obj["tcp_port"], self.server.tcp_port)
        self.assertEqual(obj["transports"], ["poll", "longpoll", "sse", "websocket", "tcp"])
        self.assertEqual(obj["limits"], {"text_bytes": 4096, "line_bytes": 16384})

    def test_head_healthz(self):
        s = self.server.raw()
        try:
            s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head = dx.HTTPReader(s).read_until(b"\r\n\r\n")
        finally:
            s.close()
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)

    def test_metrics(self):
        # Traffic on every transport first, so the counters have something to say.
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "m")
        self.server.poll(room)
        t = self.server.tcp_client("metrics_t")
        t.join(room, since=0)
        t.recv_type("message")
        w = self.server.ws_client("metrics_w")
        w.join(room, since=0)
        w.recv_type("message")
        st, hd, body = self.server.curl("GET", "/metrics")
        t.close()
        w.close()
        self.assertEqual(st, 200)
        self.assertTrue(hd.get("content-type", "").startswith("text/plain"), hd)
        text = body.decode()
        samples = {}
        sample_re = re.compile(
            r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
            r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*,?\})?'
            r' (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?$')
        for line in text.splitlines():
            if not line or line.startswith("#"):
                if line.startswith("# TYPE"):
                    self.assertRegex(line, r"^# TYPE \S+ (counter|gauge|histogram|summary|untyped)$")
                continue
            m = sample_re.match(line)
            self.assertTrue(m, "not Prometheus text: %r" % line)
            samples.setdefault(m.group(1), []).append((m.group(2) or "", float(m.group(3))))
        names = " ".join(samples)
        everything = text.lower()

        def has(*words):
            return any(all(w in n.lower() for w in words) for n in samples)
        self.assertTrue(has("connection") and (has("open") or has("active")), names)
        self.assertTrue(has("accept"), "accepted connections: " + names)
        self.assertTrue(has("message"), "messages in/out: " + names)
        self.assertTrue(has("bytes"), "bytes in/out: " + names)
        self.assertTrue(has("request"), "HTTP requests by route and status: " + names)
        self.assertTrue(has("poll"), "long polls waiting: " + names)
        self.assertTrue(has("store") and (has("latency") or has("seconds") or has("duration")),
                        "store write latency: " + names)
        for transport in ("tcp", "websocket|ws", "sse"):
            self.assertRegex(everything, r'transport="(%s)"' % transport,
                             "per-transport label " + transport)
        self.assertRegex(everything, r'status="(201|200)"', "requests by status")
        # The TCP connection above was accepted: some accepted counter for tcp is >= 1.
        ok = any(("accept" in n.lower()) and 'tcp' in lab and v >= 1
                 for n, vals in samples.items() for lab, v in vals)
        self.assertTrue(ok, "accepted counter for tcp >= 1")


    def metrics(self):
        st, hd, body = self.server.curl("GET", "/metrics")
        self.assertEqual(st, 200)
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                key, _, val = line.rpartition(" ")
                out[key] = float(val)
        return out

    def pick(self, m, name_words, label=""):
        keys = [k for k in m if all(w in k.split("{")[0] for w in name_words) and label in k]
        self.assertEqual(len(keys), 1, "one metric with %s %s: %r" % (name_words, label, keys))
        return m[keys[0]]

    def test_metrics_follow_traffic(self):
        room = self.room()
        before = self.metrics()
        c = self.server.tcp_client("counted")
        for i in range(7):
            c.send({"type": "send", "room": room, "text": "c%d" % i})
        for i in range(7):
            c.recv_type("ack")
        lp = dx.LongPoll(self.server, room, since=7, wait=30)
        try:
            dx.wait_until(lambda: self.pick(self.metrics(), ("long", "poll", "wait")) >= 1,
                          what="long polls waiting >= 1")
            self.server.post(self.token(), room, "release")
            self.assertEqual(lp.result(30)[0], 200)
        finally:
            lp.close()
        dx.wait_until(lambda: self.pick(self.metrics(), ("long", "poll", "wait")) == 0,
                      what="long polls waiting back to 0")
        after = self.metrics()
        tcp = 'transport="tcp"'
        self.assertGreaterEqual(self.pick(after, ("message", "in"), tcp)
                                - self.pick(before, ("message", "in"), tcp), 7)
        self.assertGreaterEqual(self.pick(after, ("accept",), tcp)
                                - self.pick(before, ("accept",), tcp), 1)
        self.assertGreater(self.pick(after, ("bytes", "in"), tcp),
                           self.pick(before, ("bytes", "in"), tcp))
        self.assertGreaterEqual(self.pick(after, ("connection", "open"), tcp), 1)
        c.close()
        dx.wait_until(lambda: self.pick(self.metrics(), ("connection", "open"), tcp) == 0,
                      what="open tcp connections back to 0")


if __name__ == "__main__":
    dx.main()
