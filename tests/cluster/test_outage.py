#!/usr/bin/env python3
"""Failures (docs/protocol.md §7): a node killed mid-burst, Redis
restarted with its AOF (same epoch, nothing acknowledged lost) and without
its data (a new epoch reaches every client), the subscriber connections
killed under load, Redis paused (SIGSTOP/SIGCONT). Sends during an outage
are refused clearly and never acknowledged unless stored."""

import threading
import time

import cluster
from cluster import dd, socket_messages


class Outage(cluster.ClusterTest):
    def collect(self, client, until_id, timeout=60):
        """Chat messages of a socket member up to until_id (in order)."""
        got = []
        deadline = time.monotonic() + timeout
        while not got or got[-1]["id"] < until_id:
            o = client.recv(max(0.1, deadline - time.monotonic()))
            if o.get("type") == "message":
                got.append(o)
        return got

    def assert_sequence(self, msgs, first, last, what):
        self.assertEqual([m["id"] for m in msgs], list(range(first, last + 1)),
                         "%s: every id once, in order" % what)

    def test_kill_9_node_mid_burst(self):
        n0, n1, n2 = self.nodes
        room = self.room()
        reader = self.closing(n0.tcp_client(self.nick()))
        reader.join(room, since=0)
        acked = {}
        stop = threading.Event()

        def writer():
            w = n0.tcp_client(self.nick())
            i = 0
            try:
                while not stop.is_set():
                    w.send({"type": "send", "room": room, "text": "k%d" % i, "cid": "w%d" % i})
                    a = w.recv_type("ack", timeout=5)
                    acked[a["id"]] = "k%d" % i
                    i += 1
            except (EOFError, OSError, AssertionError):
                pass  # the node died under the writer

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        dd.wait_until(lambda: len(acked) >= 60, what="60 acks")
        got = socket_messages(reader, 20)
        n0.kill()  # SIGKILL, mid-burst
        stop.set()
        t.join(10)
        self.assertGreaterEqual(len(acked), 60)
        # The reader resumes on another node from the last id it saw.
        last = got[-1]["id"]
        self.assertEqual([m["id"] for m in got], list(range(1, last + 1)))
        top = max(acked)
        r2 = self.closing(n1.tcp_client(self.nick()))
        joined = r2.join(room, since=last)
        self.assertGreaterEqual(joined["last_id"], top)
        rest = self.collect(r2, joined["last_id"])
        self.assert_sequence(got + rest, 1, joined["last_id"], "reader resumed on n1")
        for n in (n1, n2):
            msgs = {m["id"]: m["text"] for m in n.all_messages(room)}
            for i, text in acked.items():
                self.assertEqual(msgs.get(i), text, "acknowledged id %d on %s" % (i, n.name))
        print("kill -9: %d acknowledged, ids 1..%d checked on 2 nodes" % (len(acked),
                                                                            joined["last_id"]))

    def test_redis_restart_with_aof(self):
        n0, n1, n2 = self.nodes
        room = self.room()
        epoch = n0.info()["epoch"]
        ws = self.closing(n0.ws_client(self.nick()))
        ws.join(room, since=0)
        tcp = self.closing(n1.tcp_client(self.nick()))
        tcp.join(room, since=0)
        tok = n2.session(self.nick())
        for i in range(20):
            self.assertEqual(n2.post(tok, room, "a%d" % i, cid="a%d" % i)["id"], i + 1)
        self.redis.stop()
        # During the outage: sends refused and not stored, reads served.
        dd.wait_until(lambda: n1.healthz() == 503, what="n1 degraded")
        st, hd, body = n1.post_status(tok, room, "refused", cid="r1")
        self.assertEqual(st, 503)
        self.assertEqual(body["error"]["code"], "unavailable")
        self.assertGreaterEqual(int(hd["retry-after"]), 1)
        tcp.send({"type": "send", "room": room, "text": "refused too"})
        tcp_seen = []
        while True:
            o = tcp.recv()
            if o["type"] == "message":
                tcp_seen.append(o)
            elif o["type"] == "error":
                break
        self.assertEqual(o["code"], "unavailable")
        self.assertEqual(n0.poll(room)["last_id"], 20, "reads answer from the node's view")
        t0 = time.monotonic()
        self.redis.start()
        for n in self.nodes:
            n.wait_healthy(timeout=15)
        recovered = time.monotonic() - t0
        self.assertLess(recovered, 10, "within 10 s of Redis answering the node serves")
        for n in self.nodes:
            self.assertEqual(n.info()["epoch"], epoch, "the AOF kept the data set: same epoch")
        for i in range(20, 40):
            self.assertEqual(n0.post(tok, room, "a%d" % i)["id"], i + 1,
                             "no gap, nothing refused was stored")
        self.assert_sequence(self.collect(ws, 40), 1, 40, "WebSocket on n0")
        self.assert_sequence(tcp_seen + self.collect(tcp, 40), 1, 40, "TCP on n1")
        st, hd, body = n2.post_status(tok, room, "retry", cid="a3")
        self.assertEqual((st, body["id"]), (201, 4), "a retried cid survives the restart")
        print("redis restart with AOF: recovered in %.2f s, ids 1..40 checked" % recovered)

    def test_redis_restart_without_data_new_epoch(self):
        n0, n1, n2 = self.nodes
        room = self.room()
        old = n0.info()["epoch"]
        tok = n0.session(self.nick())
        for i in range(5):
            n0.post(tok, room, "o%d" % i)
        tcp = self.closing(n1.tcp_client(self.nick()))
        tcp.join(room, since=0)
        self.assertEqual(len(socket_messages(tcp, 5)), 5)
        sse = self.closing(dd.SSEStream(n2, room, since=5))
        lp = dd.LongPoll(n0, room, 5, 40)
        self._closers.append(lp.close)
        time.sleep(0.3)
        self.redis.kill()
        self.redis.wipe()
        self.redis.start()
        for n in self.nodes:
            n.wait_healthy(timeout=15)
        new = n0.info()["epoch"]
        self.assertNotEqual(new, old, "Redis lost its data: a new epoch")
        self.assertTrue(all(n.info()["epoch"] == new for n in self.nodes))
        # Socket member: a new joined with the new epoch before any message.
        joined = tcp.recv_type("joined")
        self.assertEqual((joined["room"], joined["epoch"]), (room, new))
        # Long poll: answered with the new epoch.
        st, body = lp.result(30)
        self.assertEqual(st, 200)
        self.assertEqual(dd.decode_json(body)["epoch"], new)
        # SSE: the stream ends.
        with self.assertRaises(EOFError):
            while True:
                sse.next_event(timeout=15)
        # A token of the lost data set is no longer valid; a new one is.
        st, hd, body = n1.post_status(tok, room, "old token")
        self.assertEqual(st, 401)
        tok2 = n1.session(self.nick())
        self.assertEqual(n1.post(tok2, room, "fresh")["id"], 1, "numbering starts again")
        m = socket_messages(tcp, 1)[0]
        self.assertEqual((m["id"], m["text"]), (1, "fresh"))

    def burst_with_members(self, total, disturb):
        """Writers on every node (raw TCP) send total messages while
        disturb() runs once in the middle; a send refused as unavailable
        is retried with its cid (§6, §7). Members on every node must get
        every message once, in id order. Returns the sends refused."""
        room = self.room()
        members = []
        for n in self.nodes:
            c = self.closing(n.tcp_client(self.nick()))
            c.join(room, since=0)
            members.append(c)
        ws = self.closing(self.nodes[1].ws_client(self.nick()))
        ws.join(room, since=0)
        members.append(ws)
        ids = {}
        refused = [0]
        errors = []

        def writer(k):
            try:
                w = self.nodes[k].tcp_client(self.nick())
                for i in range(k, total, 3):
                    cid = "b%d" % i
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
                    time.sleep(0.002)
                w.close()
            except Exception as e:  # reported by the main thread
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(3)]
        for t in threads:
            t.start()
        dd.wait_until(lambda: len(ids) >= total // 3, timeout=60, what="a third sent")
        disturb()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(ids), total)
        top = max(ids.values())
        self.assertEqual(sorted(ids.values()), list(range(1, total + 1)),
                         "each message stored once, ids without gaps")
        for k, c in enumerate(members):
            got = self.collect(c, top)
            self.assert_sequence(got, 1, top, "member %d" % k)
            self.assertEqual({m["text"]: m["id"] for m in got}, ids)
        return refused[0]

    def test_client_kill_pubsub_under_load(self):
        def kill_pubsub():
            for _ in range(3):
                self.redis.cmd("CLIENT", "KILL", "TYPE", "pubsub")
                time.sleep(0.05)

        self.burst_with_members(600, kill_pubsub)
        healed = sum(n.metric("duplex_redis_gaps_healed_total") or 0 for n in self.nodes)
        reads = sum(n.metric("duplex_redis_catchup_reads_total") or 0 for n in self.nodes)
        print("CLIENT KILL TYPE pubsub: gaps healed %d, catch-up reads %d" % (healed, reads))

    def test_redis_paused(self):
        def pause():
            self.redis.pause()
            time.sleep(4)  # longer than a node waits for an answer (3 s)
            self.redis.resume()

        refused = self.burst_with_members(300, pause)
        self.assertGreater(refused, 0, "sends during the pause were refused, not acknowledged")
        print("SIGSTOP 4 s: %d sends refused and retried" % refused)


if __name__ == "__main__":
    cluster.main()
