#!/usr/bin/env python3
"""Which rooms a node follows, and the keys' layout (docs/protocol.md §7).

A node subscribes to the channels of the rooms it has members in (batched
SUBSCRIBE on one subscriber connection), unsubscribes a grace after the
last one left, catches a newly followed room up with one read, subscribes
again after its subscriber connection is killed; a room it does not follow
is still read correctly. Every key carries a hash tag, and the publish
script touches one room's keys only: each room's state carries the data
set's epoch, and a room whose state is gone changes the epoch."""

import threading
import time

import cluster
from cluster import dd, socket_messages

GRACE_S = 2.0  # cluster.c GRACE_MS


class Follow(cluster.ClusterTest):
    nodes_n = 2

    def numsub(self, room):
        return self.redis.cmd("PUBSUB", "NUMSUB", "dx:{%s}:ch" % room)[1]

    def channels(self, node):
        return node.metric("duplex_redis_channels")

    def test_only_rooms_with_local_members_are_followed(self):
        n0, n1 = self.nodes
        room = self.room()
        member = self.closing(n0.ws_client(self.nick()))
        member.join(room, since=0)
        dd.wait_until(lambda: self.numsub(room) == 1, what="n0 subscribed")
        tok = n1.session(self.nick())
        for i in range(20):
            self.assertEqual(n1.post(tok, room, "p%d" % i)["id"], i + 1)
        self.assertEqual([m["id"] for m in socket_messages(member, 20)], list(range(1, 21)))
        # n1 posted 20 messages but has nobody in the room: it receives
        # none of the room's traffic on its subscriber connection.
        self.assertEqual(self.numsub(room), 1, "only n0 follows the room")
        self.assertEqual(self.channels(n1), 0)
        self.assertEqual(self.channels(n0), 1)
        self.assertNotIn(b"dx:{%s}:ch" % room.encode(),
                         self.redis.cmd("PUBSUB", "CHANNELS", "dx:{%s}:*" % room)[1:])
        # A read on n1 is still whole: it follows the room while it reads.
        self.assertEqual([m["id"] for m in n1.poll(room, since=5)["messages"]],
                         list(range(6, 21)))
        st, obj = n1.get_json("/api/v1/rooms/%s/messages?before=3" % room)
        self.assertEqual([m["id"] for m in obj["messages"]], [1, 2])
        self.assertIn({"name": room, "last_id": 20, "online": 1},
                      n1.get_json("/api/v1/rooms")[1]["rooms"])
        # ... and stops following it a grace after the last read.
        t0 = time.monotonic()
        dd.wait_until(lambda: self.channels(n1) == 0 and self.numsub(room) == 1,
                      what="n1 unsubscribed after the grace")
        print("follow: n1 unsubscribed %.1f s after its last read" % (time.monotonic() - t0))

    def test_member_joining_mid_stream_misses_nothing(self):
        n0, n1 = self.nodes
        room = self.room()
        total = 200
        acked = []
        done = threading.Event()

        def writer():
            try:
                w = n0.tcp_client(self.nick())
                for i in range(total):
                    w.send({"type": "send", "room": room, "text": "s%d" % i})
                    acked.append(w.recv_type("ack")["id"])
                w.close()
            finally:
                done.set()

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        # Members on n1, which follows nothing yet, join while the writer
        # writes: from 0 over a socket, and from where they are over SSE.
        dd.wait_until(lambda: len(acked) >= 40, what="40 acks")
        ws = self.closing(n1.ws_client(self.nick()))
        ws.join(room, since=0)
        dd.wait_until(lambda: len(acked) >= 100, what="100 acks")
        mid = acked[-1]
        sse = dd.SSEStream(n1, room, since=mid)
        self._closers.append(sse.close)
        got_ws = [m["id"] for m in socket_messages(ws, total)]
        got_sse = [int(sse.next_message()["id"]) for _ in range(total - mid)]
        t.join(30)
        self.assertTrue(done.is_set())
        self.assertEqual(acked, list(range(1, total + 1)))
        self.assertEqual(got_ws, list(range(1, total + 1)), "a socket joining mid-stream")
        self.assertEqual(got_sse, list(range(mid + 1, total + 1)), "SSE joining mid-stream")
        self.assertLessEqual(n1.metric("duplex_redis_catchup_reads_total"), 4,
                             "one catch-up read when the room was first followed")

    def test_unsubscribe_after_leave_not_on_a_transport_switch(self):
        n0, n1 = self.nodes
        room = self.room()
        ws = n1.ws_client(self.nick())
        ws.join(room)
        dd.wait_until(lambda: self.numsub(room) == 1, what="n1 subscribed")
        before = n1.metric("duplex_redis_unsubscribe_commands_total")
        # The client switches transport: the room never goes unfollowed.
        ws.close()
        lp = dd.LongPoll(n1, room, 0, 1)
        lp.result(10)
        sse = dd.SSEStream(n1, room, since=0)
        tok = n0.session(self.nick())
        n0.post(tok, room, "after the switch")
        self.assertEqual(int(sse.next_message()["id"]), 1)
        self.assertEqual(n1.metric("duplex_redis_unsubscribe_commands_total"), before,
                         "no UNSUBSCRIBE while the client switched transport")
        self.assertEqual(n1.metric("duplex_redis_subscribe_commands_total") >= 1, True)
        t0 = time.monotonic()
        sse.close()
        dd.wait_until(lambda: self.numsub(room) == 0, what="n1 unsubscribed after the leave")
        waited = time.monotonic() - t0
        self.assertGreaterEqual(waited, GRACE_S - 0.2, "not before the grace")
        self.assertEqual(self.channels(n1), 0)
        print("follow: n1 unsubscribed %.1f s after its last member left" % waited)

    def test_resubscribe_after_client_kill_pubsub(self):
        n0, n1 = self.nodes
        rooms = [self.room() for _ in range(3)]
        members = []
        for r in rooms:
            for n in (n0, n1):
                c = self.closing(n.tcp_client(self.nick()))
                c.join(r, since=0)
                members.append(c)
        dd.wait_until(lambda: all(self.numsub(r) == 2 for r in rooms), what="both subscribed")
        subs0 = n1.metric("duplex_redis_subscribe_commands_total")
        tok = n0.session(self.nick())
        for r in rooms:
            n0.post(tok, r, "before")
        self.redis.cmd("CLIENT", "KILL", "TYPE", "pubsub")
        for r in rooms:  # while the subscriptions may be down
            for i in range(5):
                n0.post(tok, r, "during %d" % i)
        dd.wait_until(lambda: all(self.numsub(r) == 2 for r in rooms),
                      what="every followed room subscribed again")
        for r in rooms:
            n0.post(tok, r, "after")
        for c in members:
            self.assertEqual([m["id"] for m in socket_messages(c, 7)], list(range(1, 8)),
                             "no gap across the lost subscriber connection")
        self.assertEqual(n1.metric("duplex_redis_subscribe_commands_total") - subs0, 1,
                         "the three rooms in one SUBSCRIBE")
        self.assertEqual(self.channels(n1), 3)

    def test_keys_per_room_slot_and_the_epoch(self):
        n0, n1 = self.nodes
        room, other = self.room(), self.room()
        tok = n0.session(self.nick())
        n0.post(tok, room, "one", cid="c1")
        n0.post(tok, other, "two")
        # Nobody is in it anywhere: n1 lists it all the same, within a check.
        t0 = time.monotonic()
        dd.wait_until(lambda: {"name": other, "last_id": 1, "online": 0}
                      in n1.get_json("/api/v1/rooms")[1]["rooms"], timeout=5,
                      what="a room made on n0 listed on n1")
        print("follow: a room made on n0 listed on n1 after %.1f s" % (time.monotonic() - t0))
        for k in self.redis.cmd("KEYS", "*"):
            k = k.decode()
            tag = k[k.index("{") + 1:k.index("}")]
            self.assertIn(tag, ("@", room, other), "%s carries a hash tag" % k)
        epoch = n0.poll(room)["epoch"]
        # Both nodes making the same new rooms at once: one sequence, same epoch.
        for _ in range(4):
            r, got = self.room(), []
            ts = [threading.Thread(target=lambda n=n: got.append(n.post(tok, r, "x")["id"]))
                  for n in self.nodes for _ in range(2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(30)
            self.assertEqual(sorted(got), [1, 2, 3, 4])
        self.assertEqual([n.metric("duplex_redis_epoch_changes_total") for n in self.nodes],
                         [0, 0], "a room made by two nodes at once is no lost data")
        self.assertEqual(self.redis.cmd("HGET", "dx:{%s}:meta" % room, "e").decode(), epoch,
                         "the room's state carries the data set's epoch")
        # A room's state gone while the data set's name stayed (one Redis
        # Cluster shard lost its data): the epoch changes, on every node.
        for what in ("meta", "log", "cid", "cidq"):
            self.redis.cmd("DEL", "dx:{%s}:%s" % (room, what))
        st, hd, body = n1.post_status(tok, room, "lost")
        self.assertEqual((st, body["error"]["code"]), (503, "unavailable"), "not stored")
        dd.wait_until(lambda: all(n.poll(other)["epoch"] != epoch for n in self.nodes),
                      what="a new epoch on every node")
        fresh = n1.poll(other)["epoch"]
        tok2 = n1.session(self.nick())
        self.assertEqual(n1.post(tok2, room, "again")["id"], 1, "the room starts again")
        # The other room's state, of the old epoch, is adopted: its ids stay.
        self.assertEqual(n0.post(tok2, other, "three")["id"], 2)
        self.assertEqual([m["text"] for m in n1.all_messages(other)], ["two", "three"])
        self.assertEqual(n0.poll(other)["epoch"], fresh)
        # Redis lost everything while nobody sends: noticed within a second or two.
        self.redis.cmd("FLUSHALL")
        dd.wait_until(lambda: all(n.poll(other)["epoch"] not in (epoch, fresh)
                                  for n in self.nodes), timeout=10,
                      what="the new epoch after FLUSHALL, with no send")


if __name__ == "__main__":
    cluster.main()
