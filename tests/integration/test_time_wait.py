#!/usr/bin/env python3
"""docs/protocol.md §4, /metrics and /api/v1/info: duplexd counts its own
sockets in TIME_WAIT (the kernel's table, read on a worker thread) and the
connections each side closed first. Short polling with `Connection: close`
piles TIME_WAIT on the server, which closes first; with keep-alive the count
stays flat. Counts are compared, never timed: each check waits for a sample
of the TCP table taken after the connections closed (the samples counter),
and a TIME_WAIT lasts a minute, far longer than a test."""

import http.client
import os
import re
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402

POLLS = 40
METRIC = re.compile(r"^([a-z_]+)(\{[^}]*\})? (\S+)$")


class Metrics:
    """/metrics and /api/v1/info read over ONE keep-alive connection, so the
    reading itself leaves no TIME_WAIT behind."""

    def __init__(self, server):
        self.server = server
        self.conn = http.client.HTTPConnection("127.0.0.1", server.http_port,
                                               timeout=dx.IO_TIMEOUT)

    def close(self):
        self.conn.close()

    def get(self, path):
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        body = r.read()
        assert r.status == 200, (path, r.status, body[:200])
        return body

    def read(self):
        out = {}
        for line in self.get("/metrics").decode().splitlines():
            m = METRIC.match(line)
            if m:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        return out

    def info(self):
        return dx.decode_json(self.get("/api/v1/info"))

    def fresh(self):
        """Metrics from a TCP-table sample that began after this call: two
        samples on from the last one published (one may be under way)."""
        # The first sample (taken at start) may still be under way.
        seen = dx.wait_until(lambda: self.read().get("duplex_tcp_sockets_samples_total"),
                             interval=0.1, what="duplex_tcp_sockets in /metrics")
        holder = {}

        def newer():
            m = self.read()
            holder["m"] = m
            return m["duplex_tcp_sockets_samples_total"] >= seen + 2

        dx.wait_until(newer, interval=0.1, what="a new sample of the TCP table")
        return holder["m"]


def time_wait(m, listener="http"):
    return m['duplex_tcp_sockets{listener="%s",state="time_wait"}' % listener]


def closed(m, first, transport="http"):
    return m['duplex_connections_closed_total{transport="%s",first="%s"}' % (transport, first)]


def poll_request(room, close):
    return ("GET /api/v1/rooms/%s/messages?since=0 HTTP/1.1\r\nHost: x\r\n%s\r\n"
            % (room, "Connection: close\r\n" if close else "")).encode()


class TimeWait(unittest.TestCase):
    """A server of its own for each test: no test sees another's sockets."""

    def setUp(self):
        self.server = dx.Server().start()
        self.m = Metrics(self.server)

    def tearDown(self):
        self.m.close()
        try:
            self.server.stop()
        finally:
            self.server.cleanup()

    def room(self):
        return dx.unique("r")

    def counts(self, before, after):
        return ("TIME_WAIT %d -> %d, closed server-first %d -> %d, peer-first %d -> %d"
                % (time_wait(before), time_wait(after), closed(before, "server"),
                   closed(after, "server"), closed(before, "peer"), closed(after, "peer")))

    def test_keep_alive_stays_flat(self):
        room = self.room()
        before = self.m.fresh()
        s = self.server.raw()
        reader = dx.HTTPReader(s)
        try:
            for _ in range(POLLS):
                s.sendall(poll_request(room, close=False))
                st, hd, body = reader.response()
                self.assertEqual(st, 200, body)
            during = self.m.fresh()
        finally:
            s.close()  # the client closes first: its TIME_WAIT, not the server's
        sys.stderr.write("keep-alive, %d polls: server TIME_WAIT %d -> %d\n"
                         % (POLLS, time_wait(before), time_wait(during)))
        why = self.counts(before, during)
        self.assertEqual(closed(during, "server"), closed(before, "server"), why)
        self.assertEqual(time_wait(during), time_wait(before),
                         "one connection, no TIME_WAIT: " + why)
        after = dx.wait_until(lambda: (lambda m: m if closed(m, "peer") > closed(before, "peer")
                                       else None)(self.m.fresh()),
                              what="the client's close counted")
        why = self.counts(before, after)
        self.assertEqual(closed(after, "server"), closed(before, "server"), why)
        self.assertEqual(closed(after, "peer"), closed(before, "peer") + 1, why)
        self.assertEqual(time_wait(after), time_wait(before),
                         "the client closed first: no TIME_WAIT at the server: " + why)

    def test_connection_close_piles_up_at_the_server(self):
        room = self.room()
        before = self.m.fresh()
        for _ in range(POLLS):
            s = self.server.raw()
            try:
                s.sendall(poll_request(room, close=True))
                reader = dx.HTTPReader(s)
                st, hd, body = reader.response()
                self.assertEqual(st, 200, body)
                self.assertEqual(hd.get("connection", "").lower(), "close")
                # Close only after the server's FIN: a client that closes
                # the moment it has the answer may race the server's FIN
                # and keep the TIME_WAIT itself (docs/protocol.md §4).
                self.assertTrue(reader.at_eof(), "the server closes after answering")
            finally:
                s.close()
        after = self.m.fresh()
        sys.stderr.write("Connection: close, %d polls: server TIME_WAIT %d -> %d\n"
                         % (POLLS, time_wait(before), time_wait(after)))
        why = self.counts(before, after)
        self.assertEqual(closed(after, "server") - closed(before, "server"), POLLS,
                         "the server closed each connection first: " + why)
        self.assertGreaterEqual(time_wait(after) - time_wait(before), POLLS,
                                "one TIME_WAIT per connection at the server: " + why)
        self.assertEqual(time_wait(after, "tcp"), 0, "nothing on the raw TCP port")
        info = self.m.info()
        self.assertIsInstance(info.get("time_wait"), int, info)
        self.assertGreaterEqual(info["time_wait"], POLLS, info)
        self.assertIsInstance(info.get("time_wait_age_ms"), int, info)

    def test_raw_tcp_listener_counted(self):
        # The raw TCP port is watched too: a line client that the server
        # closes first (the 11th error) leaves its TIME_WAIT there.
        before = self.m.fresh()
        c = self.server.tcp_client()
        for _ in range(11):
            c.sock.sendall(b"not json\n")
        self.assertTrue(dx.HTTPReader(c.sock).at_eof(), "closed after the 11th error")
        c.sock.close()
        after = self.m.fresh()
        self.assertEqual(closed(after, "server", "tcp") - closed(before, "server", "tcp"), 1)
        self.assertEqual(time_wait(after, "tcp") - time_wait(before, "tcp"), 1)


if __name__ == "__main__":
    dx.main()
