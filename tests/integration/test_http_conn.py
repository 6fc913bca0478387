#!/usr/bin/env python3
"""docs/protocol.md §4, the connection level: request limits (411, 413,
414, 431), keep-alive, pipelining, Connection: close, malformed requests."""

import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402


class Limits(dx.ServerTest):
    def post_head(self, room, tok, extra=""):
        return ("POST /api/v1/rooms/%s/messages HTTP/1.1\r\nHost: x\r\n"
                "Authorization: Bearer %s\r\nContent-Type: application/json\r\n%s\r\n"
                % (room, tok, extra)).encode()

    def test_411_without_length(self):
        room, tok = self.room(), self.token()
        st, hd, body = dx.raw_request(self.server, self.post_head(room, tok, "Connection: close\r\n"))
        self.assert_error(st, hd, body, "length_required", 411)
        self.assertEqual(self.server.poll(room)["last_id"], 0)

    def test_chunked_post_is_understood_or_411(self):
        # A careful server either reads a chunked body or answers 411.
        room, tok = self.room(), self.token()
        payload = json.dumps({"text": "chunked"}).encode()
        data = self.post_head(room, tok, "Transfer-Encoding: chunked\r\nConnection: close\r\n")
        data += b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
        st, hd, body = dx.raw_request(self.server, data)
        self.assertIn(st, (201, 411), body)

    def test_413_decided_from_content_length(self):
        room, tok = self.room(), self.token()
        s = self.server.raw()
        try:
            # Announce 1 MiB and send none of it: the answer must come anyway.
            s.sendall(self.post_head(room, tok, "Content-Length: 1048576\r\n"))
            st, hd, body = dx.HTTPReader(s).response()
        finally:
            s.close()
        self.assert_error(st, hd, body, "too_large", 413)
        self.assertEqual(self.server.poll(room)["last_id"], 0)

    def test_413_just_over_64k(self):
        room, tok = self.room(), self.token()
        s = self.server.raw()
        try:
            s.sendall(self.post_head(room, tok, "Content-Length: 65537\r\n"))
            st, hd, body = dx.HTTPReader(s).response()
        finally:
            s.close()
        self.assert_error(st, hd, body, "too_large", 413)

    def test_64k_body_is_not_413(self):
        # Exactly 64 KiB is allowed by the body limit (the text limit then says 400).
        room, tok = self.room(), self.token()
        body = json.dumps({"text": "x" * 10}).encode()
        body += b" " * (65536 - len(body))
        st, hd, data = dx.raw_request(self.server, self.post_head(
            room, tok, "Content-Length: %d\r\nConnection: close\r\n" % len(body)) + body)
        self.assertEqual(st, 201, data)

    def test_414_long_uri(self):
        path = "/api/v1/rooms/lobby/messages?since=0&pad=" + "a" * 9000
        st, hd, body = dx.raw_request(self.server, ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
                                                     % path).encode())
        self.assert_error(st, hd, body, "uri_too_long", 414)

    def test_uri_under_8k_ok(self):
        path = "/api/v1/rooms/lobby/messages?since=0&pad=" + "a" * 7000
        st, hd, body = dx.raw_request(self.server, ("GET %s HTTP/1.1\r\nHost: x\r\n"
                                                     "Connection: close\r\n\r\n" % path).encode())
        self.assertEqual(st, 200, body[:200])

    def test_431_huge_headers(self):
        hdrs = "".join("X-Pad-%d: %s\r\n" % (i, "b" * 1000) for i in range(20))
        st, hd, body = dx.raw_request(self.server, ("GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n"
                                                     % hdrs).encode())
        self.assert_error(st, hd, body, "headers_too_large", 431)

    def test_431_one_huge_header(self):
        st, hd, body = dx.raw_request(self.server, ("GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                                     "X-Big: %s\r\n\r\n" % ("c" * 17000)).encode())
        self.assert_error(st, hd, body, "headers_too_large", 431)

    def test_headers_under_16k_ok(self):
        hdrs = "".join("X-Pad-%d: %s\r\n" % (i, "b" * 1000) for i in range(12))
        st, hd, body = dx.raw_request(self.server, ("GET /healthz HTTP/1.1\r\nHost: x\r\n%s"
                                                     "Connection: close\r\n\r\n" % hdrs).encode())
        self.assertEqual(st, 200)

    def test_conflicting_content_lengths_400(self):
        # RFC 9112 section 6.3: differing Content-Length values are unrecoverable.
        room, tok = self.room(), self.token()
        body = json.dumps({"text": "smuggled?"}).encode()
        data = (("POST /api/v1/rooms/%s/messages HTTP/1.1\r\nHost: x\r\n"
                 "Authorization: Bearer %s\r\nContent-Length: %d\r\nContent-Length: 5\r\n\r\n")
                % (room, tok, len(body))).encode() + body
        st, hd, data = dx.raw_request(self.server, data)
        self.assert_error(st, hd, data, "bad_request", 400)
        self.assertEqual(self.server.poll(room)["last_id"], 0)

    def test_garbage_request_400(self):
        for junk in (b"HELLO\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9 extra\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n",
                     b"POST /api/v1/session HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                     b"POST /api/v1/session HTTP/1.1\r\nContent-Length: -5\r\n\r\n"):
            s = self.server.raw()
            try:
                s.sendall(junk)
                r = dx.HTTPReader(s)
                st, hd, body = r.response()
                self.assertIn(st, (400, 505), "%r answered %d" % (junk, st))
                if st == 400:
                    self.assert_error(st, hd, body, "bad_request", 400)
            finally:
                s.close()
        st, hd, body = self.server.curl("GET", "/healthz")
        self.assertEqual(st, 200, "still serving")


    def cased_post(self, auth_line):
        room, tok = self.room(), self.token()
        body = json.dumps({"text": "cased"}).encode()
        data = (("POST /api/v1/rooms/%s/messages HTTP/1.1\r\nhost: x\r\n"
                 "%s\r\ncontent-length: %d\r\nCONNECTION: close\r\n\r\n")
                % (room, auth_line % tok, len(body))).encode() + body
        return dx.raw_request(self.server, data)

    def test_header_names_case_insensitive(self):
        st, hd, data = self.cased_post("authorization: Bearer %s")
        self.assertEqual(st, 201, data)

    def test_auth_scheme_case_insensitive(self):
        # RFC 9110 section 11.1: the authentication scheme is case-insensitive.
        st, hd, data = self.cased_post("Authorization: bearer %s")
        self.assertEqual(st, 201, data)

    def test_unknown_query_parameters_ignored(self):
        st, obj = self.server.get_json("/api/v1/rooms/%s/messages?since=0&utm=x&limit=5"
                                       % self.room())
        self.assertEqual(st, 200)
        self.assertEqual(obj["messages"], [])


class Connections(dx.ServerTest):
    def test_keep_alive_default(self):
        s = self.server.raw()
        r = dx.HTTPReader(s)
        try:
            for i in range(5):
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                st, hd, body = r.response()
                self.assertEqual(st, 200)
                self.assertEqual(body.strip(), b"ok")
                self.assertNotEqual(hd.get("connection", "").lower(), "close")
        finally:
            s.close()

    def test_pipelining_in_order(self):
        room, tok = self.room(), self.token()
        self.server.post(tok, room, "first")
        s = self.server.raw()
        r = dx.HTTPReader(s)
        try:
            s.sendall(b"GET /api/v1/rooms/" + room.encode() + b"/messages HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /api/v1/info HTTP/1.1\r\nHost: x\r\n\r\n")
            st1, hd1, b1 = r.response()
            st2, hd2, b2 = r.response()
            st3, hd3, b3 = r.response()
        finally:
            s.close()
        self.assertEqual((st1, st2, st3), (200, 200, 200))
        self.assertEqual(dx.decode_json(b1)["messages"][0]["text"], "first")
        self.assertEqual(b2.strip(), b"ok")
        self.assertIn("tcp_port", dx.decode_json(b3))

    def test_pipelined_posts_in_order(self):
        room, tok = self.room(), self.token()
        reqs = b""
        for i in range(3):
            body = json.dumps({"text": "p%d" % i}).encode()
            reqs += (("POST /api/v1/rooms/%s/messages HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n")
                     % (room, tok, len(body))).encode() + body
        s = self.server.raw()
        r = dx.HTTPReader(s)
        try:
            s.sendall(reqs)
            ids = []
            for i in range(3):
                st, hd, b = r.response()
                self.assertEqual(st, 201, b)
                ids.append(dx.decode_json(b)["id"])
        finally:
            s.close()
        self.assertEqual(ids, [1, 2, 3])
        self.assertEqual([m["text"] for m in self.server.poll(room)["messages"]],
                         ["p0", "p1", "p2"])

    def test_split_request_byte_by_byte(self):
        s = self.server.raw()
        s.setsockopt(__import__("socket").IPPROTO_TCP, __import__("socket").TCP_NODELAY, 1)
        try:
            for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n":
                s.sendall(bytes([b]))
            st, hd, body = dx.HTTPReader(s).response()
            self.assertEqual(st, 200)
        finally:
            s.close()

    def test_pipeline_behind_a_long_poll(self):
        # A held long poll, then /healthz on the same connection: answers in order.
        room, tok = self.room(), self.token()
        s = self.server.raw(timeout=60)
        r = dx.HTTPReader(s)
        try:
            s.sendall(("GET /api/v1/rooms/%s/messages?since=0&wait=30 HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" % room).encode())
            time.sleep(0.5)
            self.server.post(tok, room, "wake")
            st1, hd1, b1 = r.response()
            st2, hd2, b2 = r.response()
        finally:
            s.close()
        self.assertEqual((st1, st2), (200, 200))
        self.assertEqual([m["text"] for m in dx.decode_json(b1)["messages"]], ["wake"])
        self.assertEqual(b2.strip(), b"ok")

    def test_body_in_separate_writes(self):
        room, tok = self.room(), self.token()
        body = json.dumps({"text": "slow body"}).encode()
        s = self.server.raw()
        try:
            s.sendall(("POST /api/v1/rooms/%s/messages HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
                       % (room, tok, len(body))).encode())
            time.sleep(0.2)
            s.sendall(body[:5])
            time.sleep(0.2)
            s.sendall(body[5:])
            st, hd, data = dx.HTTPReader(s).response()
        finally:
            s.close()
        self.assertEqual(st, 201, data)

    def test_connection_close_honoured(self):
        s = self.server.raw()
        r = dx.HTTPReader(s)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            st, hd, body = r.response()
            self.assertEqual(st, 200)
            self.assertTrue(r.at_eof(), "server closes after Connection: close")
            self.assertEqual(r.buf, b"")
        finally:
            s.close()

    def test_connection_close_stops_pipeline(self):
        s = self.server.raw()
        r = dx.HTTPReader(s)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                      b"GET /api/v1/time HTTP/1.1\r\nHost: x\r\n\r\n")
            st, hd, body = r.response()
            self.assertEqual(st, 200)
            self.assertTrue(r.at_eof())
            self.assertEqual(r.buf, b"", "nothing after the response to Connection: close")
        finally:
            s.close()

    def test_http10_closes_by_default(self):
        s = self.server.raw()
        r = dx.HTTPReader(s)
        try:
            s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            st, hd, body = r.response()
            self.assertEqual(st, 200)
            self.assertTrue(r.at_eof(), "HTTP/1.0 without keep-alive is closed")
        finally:
            s.close()

    def test_http10_keep_alive_is_named(self):
        # An HTTP/1.0 client keeps the connection only when the answer says
        # "Connection: keep-alive" (ApacheBench -k, old proxies).
        s = self.server.raw()
        r = dx.HTTPReader(s)
        try:
            for i in range(3):
                s.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                st, hd, body = r.response()
                self.assertEqual(st, 200)
                self.assertEqual(body.strip(), b"ok")
                self.assertEqual(hd.get("connection", "").lower(), "keep-alive")
        finally:
            s.close()

    def test_error_keeps_connection_usable(self):
        s = self.server.raw()
        r = dx.HTTPReader(s)
        try:
            s.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
            st, hd, body = r.response()
            self.assertEqual(st, 404)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            st, hd, body = r.response()
            self.assertEqual(st, 200)
        finally:
            s.close()

    def test_curl_reuses_connection(self):
        import subprocess
        url = self.server.base + "/healthz"
        p = subprocess.run(["curl", "-sS", "-v", "--http1.1", url, url], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count(b"ok"), 2, p.stdout)
        self.assertIn(b"Re-using existing connection", p.stderr)


if __name__ == "__main__":
    dx.main()
