#!/usr/bin/env python3
"""docs/protocol.md §4 (The web client): duplexd serves the page and its
assets, compiled in, with Content-Type, strong ETags and 304, no-cache,
gzip by Accept-Encoding (q-values) with Vary, HEAD, the security headers;
unknown paths stay 404 and --no-web turns the page off."""

import gzip
import http.client
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duplexd as dx  # noqa: E402

PAGE_HEADERS = {
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


class WebAssets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = dx.Server(store="memory")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def request(self, path, method="GET", headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.server.http_port, timeout=dx.IO_TIMEOUT)
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            c.close()

    def check_page_headers(self, h):
        for k, v in PAGE_HEADERS.items():
            self.assertEqual(h.get(k), v, k)
        csp = h.get("content-security-policy", "")
        for part in ("default-src 'none'", "script-src 'self'", "style-src 'self'",
                     "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'",
                     "form-action 'self'"):
            self.assertIn(part, csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        # Same-origin Resource Timing needs no Timing-Allow-Origin.
        self.assertNotIn("timing-allow-origin", h)

    def test_index_identity(self):
        st, h, body = self.request("/")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        self.assertNotIn("content-encoding", h)
        self.assertEqual(h["vary"], "Accept-Encoding")
        self.assertEqual(int(h["content-length"]), len(body))
        self.assertTrue(h["etag"].startswith('"') and h["etag"].endswith('"'), h["etag"])
        self.assertFalse(h["etag"].startswith("W/"))
        self.check_page_headers(h)
        text = body.decode("utf-8")
        self.assertIn('<script type="module" src="/web/js/main.js">', text)
        # No inline script or style in the page.
        self.assertNotIn("<style", text)
        self.assertNotIn(" style=", text)
        self.assertNotIn("<script>", text)
        self.assertNotIn("onclick", text)

    def test_gzip(self):
        st, h, ident = self.request("/web/js/main.js")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/javascript; charset=utf-8")
        for ae in ("gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.5", "*", "GZIP", "x-gzip"):
            st, hz, body = self.request("/web/js/main.js", headers={"Accept-Encoding": ae})
            self.assertEqual(st, 200, ae)
            self.assertEqual(hz.get("content-encoding"), "gzip", ae)
            self.assertEqual(hz["vary"], "Accept-Encoding")
            self.assertEqual(gzip.decompress(body), ident, ae)
            self.assertLess(len(body), len(ident))
            self.assertNotEqual(hz["etag"], h["etag"], "each representation has its own ETag")
            self.check_page_headers(hz)

    def test_identity_when_gzip_refused(self):
        for ae in ("identity", "gzip;q=0", "gzip; q=0.000, deflate", "*;q=0", "br",
                   "*, gzip;q=0"):
            st, h, body = self.request("/web/app.css", headers={"Accept-Encoding": ae})
            self.assertEqual(st, 200, ae)
            self.assertNotIn("content-encoding", h, ae)
            self.assertEqual(h["content-type"], "text/css; charset=utf-8")
            self.assertEqual(h["vary"], "Accept-Encoding")
            self.assertIn(b"{", body)

    def test_etag_304(self):
        for ae in ({}, {"Accept-Encoding": "gzip"}):
            st, h, _ = self.request("/", headers=ae)
            etag = h["etag"]
            for inm in (etag, "W/" + etag, '"nope", ' + etag, "*"):
                st, h2, body = self.request("/", headers=dict(ae, **{"If-None-Match": inm}))
                self.assertEqual(st, 304, inm)
                self.assertEqual(body, b"")
                self.assertEqual(h2["etag"], etag)
                self.assertEqual(h2["cache-control"], "no-cache")
                self.assertEqual(h2["vary"], "Accept-Encoding")
            st, _, _ = self.request("/", headers=dict(ae, **{"If-None-Match": '"other"'}))
            self.assertEqual(st, 200)

    def test_head(self):
        st, h, body = self.request("/web/js/view.js", "HEAD", {"Accept-Encoding": "gzip"})
        self.assertEqual(st, 200)
        self.assertEqual(body, b"")
        self.assertEqual(h["content-encoding"], "gzip")
        st, g, full = self.request("/web/js/view.js", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(int(h["content-length"]), len(full))
        self.assertEqual(h["etag"], g["etag"])

    def test_types(self):
        for path, ctype in (("/web/icon.svg", "image/svg+xml; charset=utf-8"),
                            ("/web/i18n/ko.json", "application/json; charset=utf-8"),
                            ("/web/app.css", "text/css; charset=utf-8")):
            st, h, body = self.request(path)
            self.assertEqual(st, 200, path)
            self.assertEqual(h["content-type"], ctype, path)
        st, h, body = self.request("/web/i18n/ko.json")
        import json
        cat = json.loads(body)
        self.assertEqual(cat.get("Poll interval"), "폴링 간격")

    def test_unknown_paths_404(self):
        for path in ("/web/", "/web/nope.js", "/index.html", "/web/js/", "/favicon.ico", "/web/../"):
            st, h, body = self.request(path)
            self.assertEqual(st, 404, path)
            self.assertIn(b"not_found", body)

    def test_post_405(self):
        st, h, _ = self.request("/", "POST")
        self.assertEqual(st, 405)
        self.assertEqual(h["allow"], "GET, HEAD")

    def test_api_unchanged(self):
        st, h, body = self.request("/healthz")
        self.assertEqual((st, body), (200, b"ok"))
        self.assertNotIn("content-security-policy", h)

    def test_metrics_route(self):
        self.request("/")
        st, h, body = self.request("/metrics")
        self.assertIn(b'duplex_http_requests_total{route="web",status="200"}', body)


class NoWeb(unittest.TestCase):
    def test_no_web(self):
        s = dx.Server(store="memory", extra=["--no-web"])
        s.start()
        try:
            for path in ("/", "/web/js/main.js"):
                c = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=dx.IO_TIMEOUT)
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                c.close()
                self.assertEqual(r.status, 404, path)
            c = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=dx.IO_TIMEOUT)
            c.request("GET", "/healthz")
            self.assertEqual(c.getresponse().status, 200)
            c.close()
        finally:
            s.stop()
            s.cleanup()


if __name__ == "__main__":
    dx.main()
