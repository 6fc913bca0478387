#!/usr/bin/env python3
"""docs/protocol.md §9, delivery bound (--max-delivery-ms): a room whose
fan-out falls behind refuses sends with rate_limited and retry_after
(HTTP 429 with Retry-After) instead of accepting what it cannot deliver
promptly. One overload, with readers that read but slower than a fast
publisher offers: the accepted messages reach the readers within a bounded
time (the server's accept -> last write histogram, and the readers' own
clocks), the publisher is refused with retry_after and loses nothing it
was acknowledged, a POST is refused with 429 and Retry-After, and a member
that does not read at all is still cut by the per-connection bound
without holding the room back."""

import os
import re
import select
import socket
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402

BOUND_MS = 200
ROOM = "flood"
READERS = 4
READ_BYTES_PER_S = 5_000_000  # all readers together: the room's capacity
TEXT_BYTES = 4000  # a line of ~4.1 KB: ~16 KB a fan-out, ~300 messages/s
OFFER_PER_S = 1000  # about three times that
MIN_SECONDS = 3.0
MAX_SECONDS = 25.0

ID_RE = re.compile(rb'"id":(\d+)')
STAMP_RE = re.compile(rb'"text":"(\d+\.\d+) ')


def metric(server, name):
    st, hd, data = server.curl("GET", "/metrics")
    assert st == 200, st
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


class Readers(threading.Thread):
    """Every reader socket, read by one thread at a capped byte rate: the
    members read, but slower than the publisher offers."""

    def __init__(self, socks):
        super().__init__(daemon=True)
        self.socks = socks
        self.buf = {s: b"" for s in socks}
        self.ids = {s: [] for s in socks}
        self.lat = []
        self.stop = False
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception as e:  # surfaced by the test
            self.error = e

    def _run(self):
        start, got = time.monotonic(), 0
        while not self.stop:
            ready, _, _ = select.select(self.socks, [], [], 0.05)
            for s in ready:
                d = s.recv(16384)
                if not d:
                    raise AssertionError("a reader was closed")
                got += len(d)
                now = time.monotonic()
                lines = (self.buf[s] + d).split(b"\n")
                self.buf[s] = lines.pop()
                for line in lines:
                    if b'"type":"message"' not in line:
                        continue
                    self.ids[s].append(int(ID_RE.search(line).group(1)))
                    self.lat.append(now - float(STAMP_RE.search(line).group(1)))
            # The cap: sleep off what was read ahead of the rate.
            ahead = got / READ_BYTES_PER_S - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)


class Backpressure(unittest.TestCase):
    # A timing test of a loaded server: under Wine it would measure Wine's
    # scheduling and cost the Windows phase tens of seconds; the policy is
    # platform-independent code (backlog.c, unit-tested there too).
    @dx.skip_on_wine("timing under overload; backlog.c is unit-tested on Windows")
    def test_overload(self):
        server = dx.Server(store="memory", extra=["--max-delivery-ms", str(BOUND_MS)])
        server.start()
        try:
            self.run_overload(server)
        finally:
            server.stop()
            server.cleanup()

    def subscriber(self, server, nick, rcvbuf):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small window: the kernel's buffers do not hide the backlog.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.connect(("127.0.0.1", server.tcp_port))
        s.settimeout(dx.IO_TIMEOUT)
        c = dx.LineClient(s)
        c.hello(nick)
        c.join(ROOM)
        return c

    def run_overload(self, server):
        readers = [self.subscriber(server, "reader", 32768) for _ in range(READERS)]
        sleeper = self.subscriber(server, "sleeper", 4096)  # never reads again
        pub = server.tcp_client("pub")
        _, _, data = server.curl("POST", "/api/v1/session", body=b'{"nick":"poster"}')
        post_token = dx.decode_json(data)["token"]
        rd = Readers([c.sock for c in readers])
        rd.start()

        acked, refused, retry = {}, set(), []
        sent_at = {}
        done = threading.Event()

        def read_answers():
            while not done.is_set() or len(acked) + len(refused) < len(sent_at):
                try:
                    o = pub.recv(timeout=0.2)
                except EOFError:
                    return
                except AssertionError:  # nothing within 0.2 s: look again
                    continue
                if o["type"] == "ack":
                    acked[o["cid"]] = o["id"]
                elif o["type"] == "error":
                    self.assertEqual(o["code"], "rate_limited", o)
                    refused.add(o["cid"])
                    retry.append(o["retry_after"])

        answers = threading.Thread(target=read_answers, daemon=True)
        answers.start()
        pad = "x" * TEXT_BYTES
        start = time.monotonic()
        n, http_429 = 0, None
        while True:
            elapsed = time.monotonic() - start
            if elapsed > MAX_SECONDS:
                break
            if elapsed > MIN_SECONDS and http_429 and metric(
                    server, "duplex_slow_consumer_disconnects_total") >= 1:
                break
            due = int(elapsed * OFFER_PER_S)
            while n < due:
                cid = "c%d" % n
                sent_at[cid] = time.monotonic()
                pub.send({"type": "send", "room": ROOM, "cid": cid,
                          "text": "%.6f %s" % (time.monotonic(), pad)})
                n += 1
            if http_429 is None and refused:
                st, hd, body = server.curl("POST", "/api/v1/rooms/%s/messages" % ROOM,
                                        body=b'{"text":"hi","cid":"h1"}', token=post_token)
                if st == 429:
                    http_429 = hd
                else:
                    self.assertEqual(st, 201)
                    acked["h1"] = dx.decode_json(body)["id"]
            time.sleep(0.01)
        done.set()
        answers.join(dx.IO_TIMEOUT)
        self.assertFalse(answers.is_alive(), "every send answered")

        print("# %.1f s: %d sent, %d accepted, %d refused, 429: %s, slow cut: %d"
              % (time.monotonic() - start, n, len(acked), len(refused), http_429 is not None,
                 metric(server, "duplex_slow_consumer_disconnects_total")))
        # Refused, with a retry time; and accepted, some.
        self.assertTrue(refused, "the publisher was refused")
        self.assertTrue(all(r >= 1 for r in retry), retry[:10])
        self.assertGreater(len(acked), 50, "the room still took messages")
        self.assertIsNotNone(http_429, "a POST was refused with 429")
        self.assertIn("retry-after", {k.lower() for k in http_429})
        # The member that never reads was cut, not waited for.
        self.assertGreaterEqual(metric(server, "duplex_slow_consumer_disconnects_total"), 1)
        self.assertTrue(sleeper.wait_closed() is not None)

        # Nothing acknowledged is lost: every reader gets every acked id,
        # in order, and no refused one.
        last = max(acked.values())
        dx.wait_until(lambda: rd.error or all(ids and ids[-1] >= last for ids in rd.ids.values()),
                      timeout=30, what="every reader has the last acknowledged message")
        rd.stop = True
        rd.join(5)
        self.assertIsNone(rd.error)
        want = sorted(acked.values())
        for ids in rd.ids.values():
            self.assertEqual(ids, want, "a reader got exactly the acknowledged ids, in order")
        stored = {m["cid"] for m in server.all_messages(ROOM) if m.get("cid")}
        self.assertEqual(stored & refused, set(), "a refused send is not stored")

        # Bounded: the server wrote each accepted message to all but its
        # slowest member within a small multiple of the bound, most of them
        # well within it (a second slow reader, besides the one that does
        # not read, holds some back until that one is cut). The readers'
        # own clocks are printed, not judged: on loopback the kernel's
        # socket buffers (MBs a connection, invisible to the server) add
        # seconds at this reading rate (docs/benchmarks.md, backpressure).
        _, _, page = server.curl("GET", "/metrics")
        hist = {l.split()[0]: float(l.split()[1]) for l in page.decode().splitlines()
                if l.startswith("duplex_delivery_most_seconds")}
        count = hist["duplex_delivery_most_seconds_count"]
        within = hist['duplex_delivery_most_seconds_bucket{le="0.5"}']
        lat = sorted(rd.lat)
        p99 = lat[int(len(lat) * 0.99)]
        print("# %d sent, %d accepted, %d refused; readers' p50 %.0f ms, p99 %.0f ms; "
              "server: %d of %d written within 500 ms, %d within 2.5 s"
              % (n, len(acked), len(refused), lat[len(lat) // 2] * 1e3, p99 * 1e3, within, count,
                 hist['duplex_delivery_most_seconds_bucket{le="2.5"}']))
        self.assertGreaterEqual(count, len(acked))
        self.assertGreaterEqual(within / count, 0.8, "accept -> write within 500 ms")
        self.assertEqual(hist['duplex_delivery_most_seconds_bucket{le="2.5"}'], count)
        for c in readers + [pub]:
            c.close()


if __name__ == "__main__":
    unittest.main()
