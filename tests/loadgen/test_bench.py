"""duplex-bench against the real duplexd: the load generator must see every
message on every transport (delivered == sent x subscribers), and its
counters must tell the transports apart."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import duplexd  # noqa: E402  (the integration suite's harness)

BENCH = os.environ.get("DUPLEX_BENCH", "")


def bench(server, *args, timeout=180):
    cmd = [BENCH, "--url", "http://127.0.0.1:%d" % server.http_port, "--json"] + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    lines = [l for l in p.stdout.decode().splitlines() if l.strip()]
    if p.returncode != 0 or not lines:
        raise AssertionError("duplex-bench failed (%d): %s %s" % (p.returncode, p.stdout, p.stderr))
    return [json.loads(l) for l in lines]


class BenchTest(unittest.TestCase):
    def setUp(self):
        if not BENCH:
            self.skipTest("DUPLEX_BENCH not set")
        self.server = duplexd.Server()
        self.server.start()

    def tearDown(self):
        self.server.stop()

    def test_websocket_fan_out_loses_nothing(self):
        # The acceptance workload of the benchmark issue.
        # --drain only bounds the wait for stragglers on a loaded machine; a
        # run that delivers everything ends as soon as it has.
        r = bench(self.server, "--transport", "websocket", "--subscribers", 200,
                  "--rate", 500, "--duration", 5, "--drain", 90)[0]
        self.assertEqual(r["transport"], "websocket")
        self.assertEqual(r["ready"], 200, r)
        self.assertEqual(r["sent"], 2500, r)
        self.assertEqual(r["delivered"], r["sent"] * r["subscribers"], r)
        self.assertEqual(r["duplicates"], 0)
        self.assertEqual(r["gaps"], 0)
        for k in ("p50", "p90", "p99", "max"):
            self.assertIn(k, r["latency_ms"])
        self.assertLessEqual(r["latency_ms"]["p50"], r["latency_ms"]["max"])
        for k in ("delivered_per_s", "http_requests", "bytes_in", "bytes_out"):
            self.assertIn(k, r)

    def test_compare_every_transport(self):
        rs = bench(self.server, "--compare", "--subscribers", 10, "--rate", 50,
                   "--duration", 2, "--poll-interval", 100, "--drain", 60)
        by = {r["transport"]: r for r in rs}
        self.assertEqual(sorted(by), ["longpoll", "poll", "sse", "tcp", "websocket"])
        for t, r in by.items():
            self.assertEqual(r["delivered"], r["sent"] * 10, r)
            self.assertEqual(r["sent"], 100, r)
        # Short polling pays with requests and bytes what a socket does not.
        self.assertGreater(by["poll"]["http_requests"], 10 * by["websocket"]["http_requests"])
        self.assertGreater(by["poll"]["empty_polls"], 0)
        self.assertEqual(by["tcp"]["http_requests"], 0)
        self.assertLess(by["websocket"]["bytes_out"] + by["websocket"]["bytes_in"],
                        by["poll"]["bytes_out"] + by["poll"]["bytes_in"])

    def test_bad_flags(self):
        p = subprocess.run([BENCH, "--transport", "carrier-pigeon"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"carrier-pigeon", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
