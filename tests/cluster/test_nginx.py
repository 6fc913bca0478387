#!/usr/bin/env python3
"""The shipped nginx configuration (data/nginx/duplex.conf) in front of
three nodes (docs/protocol.md §7): WebSocket, SSE, long poll, short poll
and raw TCP, plain and with TLS, carry the same ids; a node killed behind
it costs its clients nothing once they resume through nginx.

The test rewrites only what the file says to rewrite: the upstream
servers, the listen addresses and the certificate paths."""

import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

import cluster
from cluster import dd, socket_messages

CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "nginx",
                    "duplex.conf")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
OPENSSL = shutil.which("openssl")


def rewrite(text, http_nodes, tcp_nodes, listens, cert, key):
    def upstream(name, ports):
        nonlocal text
        m = re.search(r"(upstream %s \{\n)(.*?)(\n  \})" % name, text, re.S)
        assert m, "upstream %s in %s" % (name, CONF)
        body = [l for l in m.group(2).split("\n") if not l.strip().startswith("server ")]
        servers = ["    server 127.0.0.1:%d max_fails=1 fail_timeout=5s;" % p for p in ports]
        text = text[:m.start(2)] + "\n".join(servers + body) + text[m.end(2):]

    upstream("duplex_http", http_nodes)
    upstream("duplex_tcp", tcp_nodes)
    for old, new in listens.items():
        text, n = re.subn(r"listen 127\.0\.0\.1:%d\b" % old, "listen 127.0.0.1:%d" % new, text)
        assert n == 1, "listen %d in %s" % (old, CONF)
    text = text.replace("/etc/duplex/tls/cert.pem", cert).replace("/etc/duplex/tls/key.pem", key)
    return text


class Front(dd.Server):
    """The nginx side as the clients of duplexd.py see a server."""

    def __init__(self, http_port, tcp_port, scheme):
        self.http_port, self.tcp_port, self.scheme = http_port, tcp_port, scheme

    @property
    def base(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.http_port)


class Nginx(cluster.ClusterTest):
    # nginx names the client: X-Forwarded-For and PROXY v1 (docs/protocol.md §9).
    node_extra = ("--trusted-proxy", "127.0.0.1/32")

    def setUp(self):
        if NGINX is None or OPENSSL is None:
            self.skipTest("nginx or openssl is not installed")
        super().setUp()
        os.chmod(self.tmp, 0o755)  # nginx workers may run as another user
        self.prefix = os.path.join(self.tmp, "nginx")
        for d in ("logs", "temp"):
            os.makedirs(os.path.join(self.prefix, d))
        self.cert = os.path.join(self.prefix, "cert.pem")
        self.key = os.path.join(self.prefix, "key.pem")
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key,
                        "-out", self.cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ports = {8000: cluster.free_port(), 8443: cluster.free_port(),
                      8001: cluster.free_port(), 8002: cluster.free_port()}
        with open(CONF) as f:
            text = f.read()
        self.conf_text = text
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(rewrite(text, [n.http_port for n in self.nodes],
                            [n.tcp_port for n in self.nodes], self.ports, self.cert, self.key))
        self.nginx = subprocess.Popen([NGINX, "-p", self.prefix, "-c", conf, "-g", "daemon off;"],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
        self._closers.append(self.stop_nginx)
        dd.wait_until(self.nginx_up, timeout=20, what="nginx listening")
        self.plain = Front(self.ports[8000], self.ports[8001], "http")
        self.tls = Front(self.ports[8443], self.ports[8002], "https")
        os.environ["CURL_CA_BUNDLE"] = self.cert  # curl trusts the test's certificate
        self.ctx = ssl.create_default_context(cafile=self.cert)

    def nginx_up(self):
        if self.nginx.poll() is not None:
            raise AssertionError("nginx exited: %s" % self.nginx.stderr.read().decode())
        for p in self.ports.values():
            try:
                socket.create_connection(("127.0.0.1", p), timeout=1).close()
            except OSError:
                return False
        return True

    def stop_nginx(self):
        if self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(10)
        self.nginx.stderr.close()

    def tls_tcp_client(self, nick=None):
        raw = socket.create_connection(("127.0.0.1", self.ports[8002]), timeout=dd.IO_TIMEOUT)
        s = self.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        s.settimeout(dd.IO_TIMEOUT)
        c = dd.LineClient(s)
        if nick:
            c.hello(nick)
        return c

    def wss_client(self, nick):
        c = dd.WSClient("wss://127.0.0.1:%d/api/v1/ws" % self.ports[8443], ssl=self.ctx)
        c.hello(nick)
        return c

    def test_configuration_holds_what_section_7_asks(self):
        t = self.conf_text
        timeouts = [int(v) for v in re.findall(r"proxy_read_timeout (\d+)s;", t)]
        self.assertTrue(timeouts and min(timeouts) > 60, "long polls are held past 60 s")
        self.assertEqual(t.count("proxy_buffering off;"), 2, "SSE unbuffered, plain and TLS")
        self.assertEqual(t.count("proxy_set_header Upgrade $http_upgrade;"), 2)
        self.assertEqual(len(re.findall(r"listen [^;]* ssl;", t)), 2, "HTTP and raw TCP with TLS")
        self.assertIn("stream {", t)
        st, hd, body = self.tls.curl("GET", "/healthz")
        self.assertEqual((st, body), (200, b"ok"))

    def test_every_transport_through_nginx_plain_and_tls(self):
        room = self.room()
        members = {
            "ws": self.closing(self.plain.ws_client(self.nick())),
            "wss": self.closing(self.wss_client(self.nick())),
            "tcp": self.closing(self.plain.tcp_client(self.nick())),
            "tcp+tls": self.closing(self.tls_tcp_client(self.nick())),
        }
        for c in members.values():
            c.join(room, since=0)
        sse = {"sse": self.closing(dd.SSEStream(self.plain, room, since=0)),
               "sse+tls": self.closing(dd.SSEStream(self.tls, room, since=0))}
        self.assertTrue(all(s.status == 200 for s in sse.values()))
        lp = dd.LongPoll(self.tls, room, 0, 30)
        self._closers.append(lp.close)
        time.sleep(0.3)
        tok = self.tls.session(self.nick())
        writer = self.closing(self.tls_tcp_client(self.nick()))
        total = 40
        for i in range(total):
            if i % 2:
                self.assertEqual(self.tls.post(tok, room, "x%d" % i)["id"], i + 1)
            else:
                writer.send({"type": "send", "room": room, "text": "x%d" % i})
                self.assertEqual(writer.recv_type("ack")["id"], i + 1)
        expect = [(i + 1, "x%d" % i) for i in range(total)]
        for name, c in members.items():
            self.assertEqual([(m["id"], m["text"]) for m in socket_messages(c, total)], expect,
                             name + " through nginx")
        for name, s in sse.items():
            got = [dd.decode_json(s.next_message()["data"].encode()) for _ in range(total)]
            self.assertEqual([(m["id"], m["text"]) for m in got], expect, name + " through nginx")
        st, body = lp.result(30)
        self.assertEqual(st, 200)
        self.assertEqual(dd.decode_json(body)["messages"][0]["id"], 1, "long poll through nginx")
        msgs = self.plain.all_messages(room)
        self.assertEqual([(m["id"], m["text"]) for m in msgs], expect, "short polls via nginx")

    def test_node_killed_behind_nginx(self):
        room = self.room()
        readers = [self.closing(self.tls_tcp_client(self.nick())) for _ in range(6)]
        for r in readers:
            r.join(room, since=0)
        tok = self.plain.session(self.nick())
        for i in range(30):
            self.plain.post(tok, room, "y%d" % i)
        seen = {id(r): socket_messages(r, 30) for r in readers}
        self.nodes[1].kill()
        for i in range(30, 60):
            # nginx sends the next request elsewhere; a POST cut off with
            # the node is retried with its cid.
            for _ in range(5):
                st, hd, body = self.plain.curl("POST", "/api/v1/rooms/%s/messages" % room,
                                               body={"text": "y%d" % i, "cid": "y%d" % i},
                                               token=tok)
                if st == 201:
                    break
                time.sleep(0.2)
            self.assertEqual(st, 201)
        for r in readers:
            got = seen[id(r)]
            try:
                got += socket_messages(r, 30, timeout=5)
            except (EOFError, AssertionError, OSError):
                # Its node died: resume through nginx from the last id seen.
                r2 = self.closing(self.tls_tcp_client(self.nick()))
                r2.join(room, since=got[-1]["id"])
                got += socket_messages(r2, 60 - got[-1]["id"])
            self.assertEqual([m["id"] for m in got], list(range(1, 61)))

    def test_redis_outages_through_nginx_with_tls(self):
        """The outage scenarios of test_outage.py, with every client going
        through nginx and TLS: subscriber connections killed, Redis paused,
        Redis restarted with its AOF. Sends refused meanwhile are retried
        with their cid; every member gets every id once, in order."""
        room = self.room()
        members = {"wss": self.closing(self.wss_client(self.nick())),
                   "tcp+tls": self.closing(self.tls_tcp_client(self.nick())),
                   "tcp": self.closing(self.plain.tcp_client(self.nick()))}
        for c in members.values():
            c.join(room, since=0)
        sse = self.closing(dd.SSEStream(self.tls, room, since=0))
        total = 240
        ids, errors, refused = {}, [], [0]

        def writer(k):
            try:
                w = self.tls_tcp_client(self.nick())
                for i in range(k, total, 2):
                    cid = "o%d" % i
                    while True:
                        w.send({"type": "send", "room": room, "text": cid, "cid": cid})
                        o = w.recv(30)
                        while o.get("type") not in ("ack", "error"):
                            o = w.recv(30)
                        if o["type"] == "ack":
                            ids[cid] = o["id"]
                            break
                        assert o["code"] == "unavailable", o
                        refused[0] += 1
                        time.sleep(0.2)
                    time.sleep(0.005)
                w.close()
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(2)]
        for t in threads:
            t.start()
        dd.wait_until(lambda: len(ids) >= 40, timeout=60, what="40 sent")
        self.redis.cmd("CLIENT", "KILL", "TYPE", "pubsub")
        dd.wait_until(lambda: len(ids) >= 80, timeout=60, what="80 sent")
        self.redis.pause()
        time.sleep(4)
        self.redis.resume()
        dd.wait_until(lambda: len(ids) >= 140, timeout=60, what="140 sent")
        self.redis.stop()
        time.sleep(1)
        self.redis.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(ids.values()), list(range(1, total + 1)))
        for name, c in members.items():
            got = []
            while not got or got[-1]["id"] < total:
                o = c.recv(30)
                if o.get("type") == "message":
                    got.append(o)
            self.assertEqual([m["id"] for m in got], list(range(1, total + 1)), name)
        got = [int(sse.next_message(timeout=30)["id"]) for _ in range(total)]
        self.assertEqual(got, list(range(1, total + 1)), "SSE over TLS through nginx")
        print("outages through nginx: %d sends refused and retried, %d ids checked on 4 members"
              % (refused[0], total))

    def test_new_epoch_through_nginx_with_tls(self):
        room = self.room()
        old = self.tls.get_json("/api/v1/info")[1]["epoch"]
        wss = self.closing(self.wss_client(self.nick()))
        tcp = self.closing(self.tls_tcp_client(self.nick()))
        for c in (wss, tcp):
            c.join(room, since=0)
        sse = self.closing(dd.SSEStream(self.tls, room, since=0))
        self.redis.kill()
        self.redis.wipe()
        self.redis.start()
        for n in self.nodes:
            n.wait_healthy(timeout=15)
        new = self.tls.get_json("/api/v1/info")[1]["epoch"]
        self.assertNotEqual(new, old)
        for c in (wss, tcp):
            j = c.recv_type("joined")
            self.assertEqual((j["room"], j["epoch"]), (room, new), "a new joined through nginx")
        with self.assertRaises(EOFError):
            while True:
                sse.next_event(timeout=15)


if __name__ == "__main__":
    cluster.main()
