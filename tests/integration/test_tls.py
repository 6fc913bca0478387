#!/usr/bin/env python3
"""docs/protocol.md §9 (TLS): with --tls-cert/--tls-key the HTTP listener
speaks HTTPS and WSS only and the TCP listener TLS only; TLS 1.2 and 1.3
only; plain bytes get a close and never a plaintext answer; a handshake not
finished 10 s after accept is dropped; SIGHUP (on Windows, where there is
none: the files changing) reloads the pair for new connections, keeps open
ones, and keeps the old pair when the new one does not load."""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402
import tls_certs  # noqa: E402

TMP = None
CA = None
CERT_A = None
CERT_B = None


def setUpModule():
    global TMP, CA, CERT_A, CERT_B
    if not tls_certs.have_openssl():
        raise unittest.SkipTest("no openssl command")
    TMP = tempfile.mkdtemp(prefix="duplex-tls-")
    CA = tls_certs.make_ca(TMP)
    CERT_A = tls_certs.make_server_cert(TMP, "a", CA, 1001)
    CERT_B = tls_certs.make_server_cert(TMP, "b", CA, 2002)


def tearDownModule():
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def client_ctx():
    ctx = ssl.create_default_context(cafile=CA[0])
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def tls_sock(port, ctx=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=dx.IO_TIMEOUT)
    return (ctx or client_ctx()).wrap_socket(raw, server_hostname="localhost")


def peer_serial(port):
    """The serial number of the certificate a new connection sees."""
    s = tls_sock(port)
    try:
        der = s.getpeercert(binary_form=True)
    finally:
        s.close()
    d = os.path.join(TMP, "peer.der")
    with open(d, "wb") as f:
        f.write(der)
    out = dx.subprocess.run(["openssl", "x509", "-inform", "DER", "-in", d, "-noout", "-serial"],
                            check=True, stdout=dx.subprocess.PIPE).stdout.decode()
    return int(out.strip().split("=")[1], 16)


def https(server, method, path, body=None, token=None):
    conn = http.client.HTTPSConnection("127.0.0.1", server.http_port, context=client_ctx(),
                                       timeout=dx.IO_TIMEOUT)
    try:
        hd = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hd["Content-Type"] = "application/json"
        if token:
            hd["Authorization"] = "Bearer " + token
        conn.request(method, path, body=data, headers=hd)
        r = conn.getresponse()
        return r.status, r.read(), conn.sock.selected_alpn_protocol()
    finally:
        conn.close()


def read_until_eof(s, timeout):
    """Everything the peer sends until it closes (b"" for a bare close)."""
    s.settimeout(timeout)
    got = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            return got
        if not d:
            return got
        got += d


def metric(server, name):
    st, body, _ = https(server, "GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise AssertionError("%s not in /metrics" % name)


class TLSServerTest(dx.ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.extra = ("--tls-cert", CERT_A[0], "--tls-key", CERT_A[1])
        super().setUpClass()


class TLS(TLSServerTest):
    def test_https_get_post_and_alpn(self):
        st, body, alpn = https(self.server, "GET", "/healthz")
        self.assertEqual((st, body, alpn), (200, b"ok", "http/1.1"))
        st, body, _ = https(self.server, "POST", "/api/v1/session", {"nick": self.nick()})
        self.assertEqual(st, 201, body)
        token = json.loads(body)["token"]
        room = self.room()
        st, body, _ = https(self.server, "POST", "/api/v1/rooms/%s/messages" % room,
                            {"text": "secret"}, token)
        self.assertIn(st, (200, 201), body)
        st, body, _ = https(self.server, "GET", "/api/v1/rooms/%s/messages?since=0" % room,
                            token=token)
        self.assertEqual(st, 200, body)
        self.assertEqual([m["text"] for m in json.loads(body)["messages"]], ["secret"])

    def test_info_and_metrics_say_tls(self):
        st, body, _ = https(self.server, "GET", "/api/v1/info")
        self.assertEqual(st, 200)
        self.assertIs(json.loads(body).get("tls"), True)
        self.assertEqual(metric(self.server, "duplex_tls_enabled"), 1)
        self.assertGreater(metric(self.server, "duplex_tls_handshakes_total"), 0)

    def test_wss(self):
        room = self.room()
        a = dx.WSClient("wss://localhost:%d/api/v1/ws" % self.server.http_port, ssl=client_ctx())
        try:
            a.hello(self.nick())
            a.join(room)
            a.send({"type": "send", "room": room, "text": "über wss", "cid": "c1"})
            self.assertEqual(a.recv_type("ack")["cid"], "c1")
            self.assertEqual(a.recv_type("message")["text"], "über wss")
        finally:
            a.close()

    def test_tls_on_the_tcp_port(self):
        s = tls_sock(self.server.tcp_port)
        try:
            c = dx.LineClient(s)
            w = c.hello(self.nick())
            self.assertTrue(w.get("token"))
            room = self.room()
            c.join(room)
            c.send({"type": "send", "room": room, "text": "line over TLS"})
            c.recv_type("ack")
            self.assertEqual(c.recv_type("message")["text"], "line over TLS")
        finally:
            s.close()

    def test_session_resumption(self):
        ctx = client_ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # a session object right after the handshake
        s = tls_sock(self.server.tcp_port, ctx)
        sess = s.session
        s.close()
        raw = socket.create_connection(("127.0.0.1", self.server.tcp_port), timeout=dx.IO_TIMEOUT)
        s = ctx.wrap_socket(raw, server_hostname="localhost", session=sess)
        try:
            self.assertTrue(s.session_reused)
        finally:
            s.close()

    def test_session_resumption_tls13(self):
        # TLS 1.3: the ticket comes after the handshake, with the first
        # answer; on both listeners, with ALPN kept.
        ctx = client_ctx()
        for port, ask in ((self.server.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
                          (self.server.tcp_port, b'{"type":"ping","t":1}\n')):
            s = tls_sock(port, ctx)
            try:
                s.sendall(ask)
                self.assertTrue(s.recv(1000))
                self.assertEqual(s.version(), "TLSv1.3")
                sess = s.session
            finally:
                s.close()
            raw = socket.create_connection(("127.0.0.1", port), timeout=dx.IO_TIMEOUT)
            s = ctx.wrap_socket(raw, server_hostname="localhost", session=sess)
            try:
                self.assertTrue(s.session_reused, port)
                if port == self.server.http_port:
                    self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
                    s.sendall(ask)
                    self.assertTrue(s.recv(1000).startswith(b"HTTP/1.1 200 "))
            finally:
                s.close()
        self.assertGreaterEqual(metric(self.server, "duplex_tls_resumed_total"), 2)

    def assert_plain_gets_no_plaintext(self, port, data):
        s = socket.create_connection(("127.0.0.1", port), timeout=dx.IO_TIMEOUT)
        try:
            s.sendall(data)
            got = read_until_eof(s, dx.IO_TIMEOUT)
        finally:
            s.close()
        # At most a TLS alert record (content type 21), never an answer.
        self.assertTrue(got == b"" or got[0] == 0x15, "got %r" % got[:80])
        self.assertNotIn(b"HTTP/", got)
        self.assertNotIn(b"{", got)

    def test_plain_http_to_https_port_closed(self):
        self.assert_plain_gets_no_plaintext(
            self.server.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")

    def test_plain_line_to_tls_tcp_port_closed(self):
        self.assert_plain_gets_no_plaintext(self.server.tcp_port,
                                            b'{"type":"hello","nick":"plain"}\n')

    def test_tls_1_1_refused(self):
        before = metric(self.server, "duplex_tls_handshake_failures_total")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        except (ValueError, ssl.SSLError):
            self.skipTest("this Python cannot offer TLS 1.1")
        for port in (self.server.http_port, self.server.tcp_port):
            with self.assertRaises((ssl.SSLError, ConnectionResetError)):
                tls_sock(port, ctx).close()
        # The server itself refused (not only this client).
        dx.wait_until(lambda: metric(self.server, "duplex_tls_handshake_failures_total")
                      >= before + 2, what="two refused handshakes counted")

    def test_stalled_handshake_dropped_at_10_s(self):
        # The first half of a real ClientHello, then nothing: on both
        # listeners at once (one 10 s wait for the two).
        ctx = client_ctx()
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
        with self.assertRaises(ssl.SSLWantReadError):
            obj.do_handshake()
        hello = out.read()
        before = metric(self.server, "duplex_tls_handshake_timeouts_total")
        results = {}

        def stall(port):
            s = socket.create_connection(("127.0.0.1", port), timeout=60)
            try:
                t0 = time.monotonic()
                s.sendall(hello[:len(hello) // 2])
                got = read_until_eof(s, 60)
                results[port] = (got, time.monotonic() - t0)
            finally:
                s.close()
        ports = (self.server.http_port, self.server.tcp_port)
        threads = [threading.Thread(target=stall, args=(p,)) for p in ports]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        for port in ports:
            got, elapsed = results[port]
            self.assertNotIn(b"HTTP/", got)
            self.assertNotIn(b"{", got)
            self.assertGreater(elapsed, 9.0, "dropped too early (%.1f s)" % elapsed)
            self.assertLess(elapsed, 45.0, "not dropped (%.1f s)" % elapsed)
        self.assertGreaterEqual(metric(self.server, "duplex_tls_handshake_timeouts_total"),
                                before + 2)


class Reload(unittest.TestCase):
    """SIGHUP: new connections see the new pair, open ones stay. Under Wine
    duplexd.exe watches the two files instead (no SIGHUP on Windows): the
    new files alone make it reload, 2 to 4 s after they stop changing."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="duplex-tls-live-")
        self.cert = os.path.join(self.dir, "fullchain.pem")
        self.key = os.path.join(self.dir, "privkey.pem")
        self.install(CERT_A)
        self.server = dx.Server(extra=("--tls-cert", self.cert, "--tls-key", self.key),
                                log_level="info").start()

    def tearDown(self):
        try:
            self.server.stop()
        finally:
            self.server.cleanup()
            shutil.rmtree(self.dir, ignore_errors=True)

    def install(self, pair, key=None):
        shutil.copyfile(pair[0], self.cert)
        shutil.copyfile(key or pair[1], self.key)

    def hup_and_wait(self, text, before):
        """SIGHUP (POSIX only), then the log's `before`-th + 1 `text`."""
        if not dx.UNDER_WINE:
            self.server.proc.send_signal(signal.SIGHUP)
        dx.wait_until(lambda: self.server.stderr_text().count(text) > before,
                      what="log: " + text)

    def log_count(self, text):
        return self.server.stderr_text().count(text)

    def test_reload_keeps_open_connections(self):
        port = self.server.http_port
        self.assertEqual(peer_serial(port), 1001)
        room = dx.unique("r")
        ws = dx.WSClient("wss://localhost:%d/api/v1/ws" % port, ssl=client_ctx())
        try:
            ws.hello(dx.unique("n").replace("-", "_"))
            ws.join(room)
            n = self.log_count("reloaded")
            self.install(CERT_B)
            self.hup_and_wait("reloaded", n)
            self.assertEqual(peer_serial(port), 2002)
            self.assertEqual(peer_serial(self.server.tcp_port), 2002)
            # The connection made before the reload still works.
            ws.send({"type": "send", "room": room, "text": "still here", "cid": "k"})
            ws.recv_type("ack")
            self.assertEqual(ws.recv_type("message")["text"], "still here")
        finally:
            ws.close()

    def test_bad_file_keeps_old_pair(self):
        port = self.server.http_port
        kept = "keeping the old TLS certificate"
        n = self.log_count(kept)
        with open(self.cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n")
        self.hup_and_wait(kept, n)
        self.assertEqual(peer_serial(port), 1001)
        # A key that is not the certificate's: kept too.
        n = self.log_count(kept)
        self.install(CERT_B, key=CERT_A[1])
        self.hup_and_wait(kept, n)
        self.assertIn("does not match", self.server.stderr_text())
        self.assertEqual(peer_serial(port), 1001)


class StartUp(unittest.TestCase):
    def test_flags_both_or_neither(self):
        p = dx.run_duplexd("--tls-cert", CERT_A[0], "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"--tls-key", p.stderr)

    def test_bad_certificate_exit_1(self):
        d = tempfile.mkdtemp(prefix="duplex-tls-bad-")
        try:
            bad = os.path.join(d, "bad.pem")
            with open(bad, "w") as f:
                f.write("garbage\n")
            p = dx.run_duplexd("--tls-cert", bad, "--tls-key", CERT_A[1], "--http",
                               "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--store", "memory",
                               "--data-dir", d)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(b"certificate", p.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    dx.main()
