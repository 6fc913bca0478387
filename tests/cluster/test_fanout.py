#!/usr/bin/env python3
"""Several nodes, one chat (docs/protocol.md §7): the same ids on every
node and transport, one gap-free sequence for a writer that alternates
nodes, a client that keeps switching node and transport, tokens valid
everywhere, presence-free basics (/api/v1/info, /api/v1/rooms)."""

import threading
import time

import cluster
from cluster import dd, socket_messages


class Fanout(cluster.ClusterTest):
    def test_info_and_tokens_across_nodes(self):
        n0, n1, n2 = self.nodes
        infos = [n.info() for n in self.nodes]
        self.assertEqual([i["node"] for i in infos], ["n0", "n1", "n2"])
        self.assertTrue(all(i["cluster"] is True for i in infos))
        self.assertEqual(len({i["epoch"] for i in infos}), 1, "one epoch for the data set")
        room = self.room()
        tok = n0.session("alice")
        # A token made on n0 posts on n1 and n2, under its own nick.
        a = n1.post(tok, room, "one")
        b = n2.post(tok, room, "two")
        self.assertEqual((a["id"], b["id"]), (1, 2))
        st, hd, body = n2.post_status("not-a-token", room, "x")
        self.assertEqual(st, 401)
        forged = tok.rsplit(":", 1)[0].replace("alice", "mallory") + ":" + tok.rsplit(":", 1)[1]
        st, hd, body = n1.post_status(forged, room, "x")
        self.assertEqual(st, 401, "a token's nick cannot be changed")
        dd.wait_until(lambda: all(n.poll(room)["last_id"] == 2 for n in self.nodes),
                      what="every node's view has both messages")
        for n in self.nodes:
            msgs = n.poll(room)["messages"]
            self.assertEqual([(m["id"], m["from"], m["text"]) for m in msgs],
                             [(1, "alice", "one"), (2, "alice", "two")])
            st, obj = n.get_json("/api/v1/rooms")
            self.assertIn({"name": room, "last_id": 2, "online": 0}, obj["rooms"])

    def test_same_ids_on_every_node_and_transport(self):
        n0, n1, n2 = self.nodes
        room = self.room()
        ws = self.closing(n0.ws_client(self.nick()))
        ws.join(room, since=0)
        tcp = self.closing(n1.tcp_client(self.nick()))
        tcp.join(room, since=0)
        sse = self.closing(dd.SSEStream(n2, room, since=0))
        self.assertEqual(sse.status, 200)
        # Writers on every node and transport, alternating.
        w_tcp0 = self.closing(n0.tcp_client(self.nick()))
        w_ws2 = self.closing(n2.ws_client(self.nick()))
        w_http_tok = n1.session(self.nick())
        total = 45
        acked = []
        for i in range(total):
            text = "m%d" % i
            k = i % 3
            if k == 0:
                w_tcp0.send({"type": "send", "room": room, "text": text, "cid": "c%d" % i})
                acked.append(w_tcp0.recv_type("ack")["id"])
            elif k == 1:
                acked.append(n1.post(w_http_tok, room, text)["id"])
            else:
                w_ws2.send({"type": "send", "room": room, "text": text})
                acked.append(w_ws2.recv_type("ack")["id"])
        self.assertEqual(acked, list(range(1, total + 1)),
                         "a writer alternating nodes and transports gets one gap-free id sequence")
        expect = [(i + 1, "m%d" % i) for i in range(total)]
        got_ws = [(m["id"], m["text"]) for m in socket_messages(ws, total)]
        got_tcp = [(m["id"], m["text"]) for m in socket_messages(tcp, total)]
        got_sse = []
        for _ in range(total):
            ev = sse.next_message()
            m = dd.decode_json(ev["data"].encode())
            self.assertEqual(int(ev["id"]), m["id"])
            got_sse.append((m["id"], m["text"]))
        self.assertEqual(got_ws, expect, "WebSocket member on n0")
        self.assertEqual(got_tcp, expect, "raw TCP member on n1")
        self.assertEqual(got_sse, expect, "SSE stream on n2")
        for n in self.nodes:
            msgs = n.all_messages(room)
            self.assertEqual([(m["id"], m["text"]) for m in msgs], expect, "poll on " + n.name)
        # Long poll on each node for the next one.
        polls = [dd.LongPoll(n, room, total, 30) for n in self.nodes]
        time.sleep(0.3)
        last = n2.post(w_http_tok, room, "last")["id"]
        self.assertEqual(last, total + 1)
        for p in polls:
            st, body = p.result(30)
            obj = dd.decode_json(body)
            self.assertEqual(st, 200)
            self.assertEqual([m["id"] for m in obj["messages"]], [total + 1])

    def test_client_switching_node_and_transport_misses_nothing(self):
        room = self.room()
        total = 150
        tok = self.nodes[0].session(self.nick())
        done = threading.Event()
        acked = []

        def writer():
            try:
                w = self.nodes[1].tcp_client(self.nick())
                for i in range(total):
                    w.send({"type": "send", "room": room, "text": "s%d" % i, "cid": "k%d" % i})
                    acked.append(w.recv_type("ack")["id"])
                    time.sleep(0.004)
                w.close()
            finally:
                done.set()

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        seen = []
        last = 0
        transports = ["poll", "longpoll", "sse", "ws", "tcp"]
        step = 0
        deadline = time.monotonic() + 90
        while last < total and time.monotonic() < deadline:
            node = self.nodes[step % 3]
            how = transports[step % len(transports)]
            step += 1
            got = self.read_some(node, how, room, last, tok)
            for m in got:
                seen.append(m["id"])
                last = m["id"]
        t.join(30)
        self.assertTrue(done.is_set())
        self.assertEqual(acked, list(range(1, total + 1)))
        self.assertEqual(seen, list(range(1, total + 1)),
                         "switching node and transport %d times: every id once, in order" % step)
        self.assertGreaterEqual(step, 10, "the client switched often")

    def test_presence_across_nodes_with_expiry(self):
        n0, n1, n2 = self.nodes
        room = self.room()
        alice = self.closing(n0.tcp_client("alice_p"))
        alice.join(room)
        bob = self.closing(n1.ws_client("bob_p"))
        bob.join(room)
        p = alice.recv_type("presence", skip=())
        self.assertEqual((p["room"], p["nick"], p["state"]), (room, "bob_p", "join"),
                         "a join on n1 reaches n0")
        dd.wait_until(lambda: {"name": room, "last_id": 0, "online": 2}
                      in n2.get_json("/api/v1/rooms")[1]["rooms"],
                      what="online counts members on every node (seen from n2)")
        bob2 = self.closing(n2.tcp_client("bob_p"))
        bob2.join(room)
        bob.close()  # bob is still in the room through n2: no leave
        dd.wait_until(lambda: {"name": room, "last_id": 0, "online": 2}
                      in n0.get_json("/api/v1/rooms")[1]["rooms"],
                      what="online follows (one bob left n1, one came on n2)")
        t0 = time.monotonic()
        n2.kill()  # its members vanish when its heartbeats stop
        p = alice.recv_type("presence", skip=(), timeout=15)
        waited = time.monotonic() - t0
        self.assertEqual((p["nick"], p["state"]), ("bob_p", "leave"))
        self.assertLess(waited, 10, "a dead node's members expire")
        print("presence: a killed node's member left after %.1f s" % waited)

    def read_some(self, node, how, room, since, tok):
        """Resumes from since on node over one transport; returns what came."""
        if how == "poll":
            return node.poll(room, since=since, limit=7)["messages"]
        if how == "longpoll":
            p = dd.LongPoll(node, room, since, 5)
            st, body = p.result(20)
            self.assertEqual(st, 200)
            return dd.decode_json(body)["messages"][:9]
        if how == "sse":
            s = dd.SSEStream(node, room, since=since)
            out = []
            try:
                for _ in range(8):
                    ev = s.next_message(timeout=3)
                    out.append(dd.decode_json(ev["data"].encode()))
            except AssertionError:
                pass  # nothing more within 3 s: the writer is done
            finally:
                s.close()
            return out
        c = node.ws_client() if how == "ws" else node.tcp_client()
        try:
            c.send({"type": "hello", "token": tok})
            c.recv_type("welcome")
            c.join(room, since=since)
            out = []
            try:
                while len(out) < 10:
                    o = c.recv(timeout=3)
                    if o.get("type") == "message":
                        out.append(o)
            except AssertionError:
                pass
            return out
        finally:
            c.close()


class AuthAndDatabase(cluster.unittest.TestCase):
    """redis://:PASSWORD@HOST:PORT/DB: AUTH and SELECT on both of a node's
    connections; a wrong password leaves the node degraded, saying why."""

    def test_password_and_database(self):
        tmp = cluster.tempfile.mkdtemp(prefix="duplex-cluster-")
        redis = cluster.Redis(tmp, extra=["--requirepass", "s3cr:t@x"]).start()
        nodes = []
        try:
            url = "redis://:s3cr%%3At%%40x@127.0.0.1:%d/5" % redis.port
            for name in ("a", "b"):
                n = cluster.Node(url, name).start()
                nodes.append(n)
                n.wait_healthy()
            room = dd.unique("c")
            tok = nodes[0].session("alice")
            self.assertEqual(nodes[1].post(tok, room, "in db 5")["id"], 1)
            dd.wait_until(lambda: nodes[0].poll(room)["last_id"] == 1, what="a sees it")
            self.assertEqual(redis.cmd("SELECT", "5"), "OK")
            self.assertEqual(redis.cmd("EXISTS", "dx:{%s}:log" % room), 0,
                             "one command per connection: db 0 has nothing")
            wrong = cluster.Node("redis://:nope@127.0.0.1:%d/5" % redis.port, "c").start()
            nodes.append(wrong)
            dd.wait_until(lambda: "handshake was refused" in wrong.stderr_text(),
                          what="a clear reason in the log")
            self.assertEqual(wrong.healthz(), 503)
            st, hd, body = wrong.post_status(tok, room, "x")
            self.assertEqual((st, body["error"]["code"]), (503, "unavailable"),
                             "the token cannot be checked yet: unavailable, not unauthorized")
        finally:
            for n in nodes:
                n.stop(check=False)
                n.cleanup()
            redis.kill()
            cluster.shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    cluster.main()
