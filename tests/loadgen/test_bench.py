"""duplex-bench against the real duplexd: the load generator must see every
message on every transport (delivered == sent x subscribers), and its
counters must tell the transports apart."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import duplexd  # noqa: E402  (the integration suite's harness)
import tls_certs  # noqa: E402

BENCH = os.environ.get("DUPLEX_BENCH", "")


def bench(server, *args, timeout=180, scheme="http"):
    cmd = ([BENCH, "--url", "%s://127.0.0.1:%d" % (scheme, server.http_port), "--json"]
           + [str(a) for a in args])
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    lines = [l for l in p.stdout.decode().splitlines() if l.strip()]
    if p.returncode != 0 or not lines:
        raise AssertionError("duplex-bench failed (%d): %s %s" % (p.returncode, p.stdout, p.stderr))
    return [json.loads(l) for l in lines]


def bench_text(server, *args, timeout=120):
    """The human report (no --json): stdout."""
    cmd = [BENCH, "--url", "http://127.0.0.1:%d" % server.http_port] + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise AssertionError("duplex-bench failed (%d): %s %s" % (p.returncode, p.stdout, p.stderr))
    return p.stdout.decode()


class BenchTest(unittest.TestCase):
    """One duplexd for the whole class: every run uses a fresh room."""

    @classmethod
    def setUpClass(cls):
        if not BENCH:
            raise unittest.SkipTest("DUPLEX_BENCH not set")
        cls.server = duplexd.Server()
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_workers_merge_their_figures(self):
        # Three subscriber processes and the publisher: the counters are
        # summed and every latency sample is in the merged histogram.
        r = bench(self.server, "--workers", 3, "--subscribers", 30, "--rate", 100,
                  "--duration", 1, "--drain", 60)[0]
        self.assertEqual(r["workers"], 3, r)
        self.assertEqual(r["ready"], 30, r)
        self.assertEqual(r["sent"], 100, r)
        self.assertEqual(r["offered"], 100, r)
        self.assertEqual(r["delivered"], 100 * 30, r)
        self.assertEqual(r["latency_samples"], r["delivered"], r)
        self.assertEqual(r["gaps"] + r["duplicates"] + r["refused"] + r["deferred"], 0, r)
        self.assertEqual(r["connections"], 30, r)
        lat = r["latency_ms"]
        self.assertLessEqual(lat["p50"], lat["p99"])
        self.assertLessEqual(lat["p99"], lat["max"])
        self.assertGreater(r["bench_cpu_ms"], 0, r)
        self.assertFalse(r["bench_saturated"], r)

    def test_saturated_generator_says_so(self):
        # --work-us 400 on 4,000 deliveries is 1.6 s of work for a 1 s offer
        # on one process: the generator, not the server, is the limit.
        r = bench(self.server, "--workers", 1, "--subscribers", 10, "--rate", 400,
                  "--duration", 1, "--work-us", 400, "--drain", 60)[0]
        self.assertEqual(r["delivered"], 4000, r)
        self.assertTrue(r["bench_saturated"], r)
        self.assertGreaterEqual(r["bench_busiest"], 0.9, r)
        out = bench_text(self.server, "--workers", 1, "--subscribers", 5, "--rate", 200,
                         "--duration", 0.5, "--work-us", 1000, "--drain", 60)
        self.assertIn("SATURATED", out)
        self.assertIn("duplex-bench itself was the limit", out)

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

    def test_udp_needs_the_server_to_offer_it(self):
        cmd = [BENCH, "--url", "http://127.0.0.1:%d" % self.server.http_port, "--transport", "udp",
               "--subscribers", 2, "--duration", 1]
        p = subprocess.run([str(a) for a in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"--udp", p.stdout + p.stderr)

    def test_bad_flags(self):
        p = subprocess.run([BENCH, "--transport", "carrier-pigeon"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"carrier-pigeon", p.stderr)


class RefusedBenchTest(unittest.TestCase):
    """A publisher over duplexd's --send-rate is refused with retry_after:
    it counts the refusals, waits as told (deferring what falls due
    meanwhile) and measures only the accepted messages."""

    def setUp(self):
        if not BENCH:
            self.skipTest("DUPLEX_BENCH not set")
        self.server = duplexd.Server(send_rate="20/1")
        self.server.start()

    def tearDown(self):
        self.server.stop()

    def test_refusals_are_counted_not_errors(self):
        r = bench(self.server, "--subscribers", 4, "--rate", 100, "--duration", 1,
                  "--drain", 60)[0]
        self.assertNotIn("error", r)
        self.assertEqual(r["offered"], 100, r)
        self.assertGreater(r["refused"], 0, r)
        self.assertGreater(r["deferred"], 0, r)  # retry_after honoured
        self.assertLess(r["sent"], 100, r)
        self.assertEqual(r["delivered"], r["sent"] * 4, r)
        self.assertEqual(r["gaps"], 0, r)


class UdpBenchTest(unittest.TestCase):
    """duplex-bench --transport udp against duplexd --udp (docs/protocol.md §8)."""

    def setUp(self):
        if not BENCH:
            self.skipTest("DUPLEX_BENCH not set")
        self.server = duplexd.Server(extra=("--udp", "127.0.0.1:0"))
        self.server.start()

    def tearDown(self):
        self.server.stop()

    def test_udp_fan_out_counts_what_it_loses(self):
        r = bench(self.server, "--transport", "udp", "--subscribers", 20, "--rate", 200,
                  "--duration", 2, "--drain", 30)[0]
        self.assertEqual(r["transport"], "udp")
        self.assertEqual(r["ready"], 20, r)
        self.assertEqual(r["sent"], 400, r)
        expected = r["sent"] * r["subscribers"]
        # UDP may lose: every delivery is either counted or reported lost,
        # and on loopback at this rate nearly everything arrives.
        self.assertEqual(r["delivered"] + r["lost"], expected, r)
        self.assertGreaterEqual(r["delivered"], 0.9 * expected, r)
        for k in ("gaps", "reordered", "duplicates"):
            self.assertIn(k, r)
        self.assertEqual(r["connections"], 0, "no TCP connection for the subscribers")
        self.assertEqual(r["http_requests"], 0)
        self.assertGreater(r["bytes_in"], 0)
        self.assertLessEqual(r["latency_ms"]["p50"], r["latency_ms"]["p99"])

    def test_compare_leaves_udp_out(self):
        rs = bench(self.server, "--compare", "--subscribers", 2, "--rate", 20, "--duration", 1,
                   "--poll-interval", 100, "--drain", 30)
        self.assertNotIn("udp", [r["transport"] for r in rs])


class TlsBenchTest(unittest.TestCase):
    """duplex-bench --url https:// against duplexd --tls-cert (docs/protocol.md §9)."""

    def setUp(self):
        if not BENCH:
            self.skipTest("DUPLEX_BENCH not set")
        if not tls_certs.have_openssl():
            self.skipTest("no openssl command")
        self.tmp = tempfile.mkdtemp(prefix="duplex-bench-tls-")
        self.ca = tls_certs.make_ca(self.tmp)
        cert = tls_certs.make_server_cert(self.tmp, "srv", self.ca, 7)
        self.server = duplexd.Server(extra=("--tls-cert", cert[0], "--tls-key", cert[1]))
        try:
            self.server.start()
        except AssertionError:
            if "without TLS" in self.server.stderr_text():
                self.skipTest("duplexd built without TLS")
            raise

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_every_transport_over_tls(self):
        rs = bench(self.server, "--ca", self.ca[0], "--compare", "--subscribers", 10, "--rate", 50,
                   "--duration", 2, "--poll-interval", 100, "--drain", 60, scheme="https")
        by = {r["transport"]: r for r in rs}
        self.assertEqual(sorted(by), ["longpoll", "poll", "sse", "tcp", "websocket"])
        for t, r in by.items():
            self.assertEqual(r["delivered"], r["sent"] * 10, r)
        st, body = self.server_metrics()
        handshakes = int([l for l in body.splitlines()
                          if l.startswith("duplex_tls_handshakes_total ")][0].split()[1])
        self.assertGreaterEqual(handshakes, 5 * 10, "every subscriber connection did TLS")

    def server_metrics(self):
        import ssl
        import http.client
        c = http.client.HTTPSConnection("127.0.0.1", self.server.http_port,
                                        context=ssl.create_default_context(cafile=self.ca[0]))
        try:
            c.request("GET", "/metrics")
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def test_unverified_server_refused_with_ca(self):
        d = tempfile.mkdtemp(prefix="duplex-bench-otherca-", dir=self.tmp)
        wrong = tls_certs.make_ca(d)
        cmd = [BENCH, "--url", "https://127.0.0.1:%d" % self.server.http_port, "--ca", wrong[0],
               "--subscribers", 2, "--duration", 1]
        p = subprocess.run([str(a) for a in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(b"TLS", p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
