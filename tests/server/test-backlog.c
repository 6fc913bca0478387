/* The delivery backlog (backlog.h): a message's outstanding writes through
 * its shared buffers, "late" until all but the slowest tenth of its
 * recipients have it, done when nothing of it is outstanding; the refusal
 * of sends to a room that is behind, or when the queued work is over what
 * the loop writes in half the bound; the hub's fan-out tracked end to end. */
#include "server/backlog.h"
#include "server/hub.h"
#include "server/shared-event.h"

#include "../tap.h"

#include <stdlib.h>
#include <string.h>

#define MS 1000ull

/* The backlog's clock (its busy time): the test's own. */
static uint64_t fake_now_us;

static uint64_t
fake_clock (void)
{
  return fake_now_us;
}

static void
test_accounting (void)
{
  dx_backlog *bl = dx_backlog_new ();
  dx_backlog_stats st;
  uint64_t t0 = 1000 * MS;
  dx_backlog_set_clock (bl, fake_clock);
  fake_now_us = t0;
  dx_delivery *d = dx_delivery_begin (bl, "lobby", t0);
  OK (d != NULL, "a delivery begins");
  for (int i = 0; i < 20; i++)
    dx_delivery_write_add (d, 100);
  dx_delivery_fanned_out (d);
  dx_backlog_get_stats (bl, t0 + 50 * MS, 250, &st);
  IS ((long long) st.msgs, 1LL, "one message in the backlog");
  IS ((long long) st.bytes, 2000LL, "its 20 writes of 100 bytes");
  IS ((long long) st.oldest_late_us, 50000LL, "late: 20 writes outstanding");
  IS ((long long) st.rooms_behind, 0LL, "not behind at 50 ms of a 250 ms bound");
  OK (dx_backlog_refuse_ms (bl, "lobby", 250, t0 + 100 * MS) == 0, "accepted under half the bound");
  uint64_t retry = dx_backlog_refuse_ms (bl, "lobby", 250, t0 + 130 * MS);
  OK (retry > 0 && retry <= 125, "refused past half the bound, retry in %llu ms",
      (unsigned long long) retry);
  OK (dx_backlog_refuse_ms (bl, "other", 250, t0 + 130 * MS) == 0, "another room is not held");
  OK (dx_backlog_refuse_ms (bl, "lobby", 0, t0 + 130 * MS) == 0, "bound 0: off");
  for (int i = 0; i < 18; i++)
    dx_delivery_write_done (d, 100);
  dx_backlog_get_stats (bl, t0 + 140 * MS, 250, &st);
  IS ((long long) st.oldest_late_us, 0LL, "2 of 20 outstanding: no longer late");
  IS ((long long) st.oldest_us, 140000LL, "but not done");
  OK (dx_backlog_refuse_ms (bl, "lobby", 250, t0 + 140 * MS) == 0,
      "two slow members do not hold the room");
  dx_delivery_end (d);
  dx_delivery_write_done (d, 100);
  dx_delivery_write_done (d, 100);
  dx_backlog_get_stats (bl, t0 + 150 * MS, 250, &st);
  IS ((long long) st.msgs, 0LL, "done once every write is done");
  IS ((long long) st.bytes, 0LL, "no bytes left");
  IS ((long long) st.done, 1LL, "counted done");
  IS ((long long) st.refused, 1LL, "one refusal counted");

  /* A single recipient is always allowed to lag (at least one). */
  d = dx_delivery_begin (bl, "lobby", t0);
  dx_delivery_write_add (d, 10);
  dx_delivery_end (d);
  OK (dx_backlog_refuse_ms (bl, "lobby", 250, t0 + 10000 * MS) == 0,
      "a lone slow member is no backlog");
  dx_delivery_write_done (d, 10);

  /* Work queued before anything is late: sends being stored count as the
   * bytes they will write. With no drain rate measured yet it is not
   * judged; once the loop has drained late work at some rate, work over
   * the floor and over half the bound at that rate is refused. */
  dx_backlog_expect (bl, 4 * DX_BACKLOG_MIN_BYTES);
  OK (dx_backlog_refuse_ms (bl, "quiet", 250, t0 + 20000 * MS) == 0, "no rate measured: accepted");
  dx_backlog_unexpect (bl, 4 * DX_BACKLOG_MIN_BYTES);
  fake_now_us = t0 + 20000 * MS;
  d = dx_delivery_begin (bl, "quiet", fake_now_us);
  for (int i = 0; i < 3; i++)
    dx_delivery_write_add (d, DX_BACKLOG_MIN_BYTES); /* late work from 20 000 ms */
  dx_delivery_fanned_out (d);                        /* late: 3 writes, allowance 1 */
  fake_now_us = t0 + 20050 * MS;
  dx_delivery_write_done (d, DX_BACKLOG_MIN_BYTES);
  fake_now_us = t0 + 20100 * MS;
  dx_delivery_write_done (d, DX_BACKLOG_MIN_BYTES); /* not late: the loop is idle */
  dx_delivery_end (d);
  fake_now_us = t0 + 20300 * MS;
  dx_delivery_write_done (d, DX_BACKLOG_MIN_BYTES); /* the slowest one, while idle */
  OK (dx_backlog_refuse_ms (bl, "quiet", 250, t0 + 20300 * MS) == 0, "nothing queued: accepted");
  /* 2 MiB in 100 ms of busy time (~21 MB/s; the idle 200 ms and the write
   * made in them do not count): half the bound (125 ms) is ~2.6 MB. */
  dx_backlog_expect (bl, 4 * DX_BACKLOG_MIN_BYTES);
  OK (dx_backlog_refuse_ms (bl, "quiet", 250, t0 + 20310 * MS) > 0, "4 MiB queued: refused");
  dx_backlog_unexpect (bl, 4 * DX_BACKLOG_MIN_BYTES);
  dx_backlog_expect (bl, 2 * DX_BACKLOG_MIN_BYTES);
  OK (dx_backlog_refuse_ms (bl, "quiet", 250, t0 + 20320 * MS) == 0, "2 MiB queued: accepted");
  dx_backlog_unexpect (bl, 2 * DX_BACKLOG_MIN_BYTES);
  /* Quiet seconds say nothing about the capacity: the first burst after
   * them is judged against the rate measured under load. */
  dx_backlog_refuse_ms (bl, "quiet", 250, t0 + 22220 * MS);
  dx_backlog_expect (bl, 2 * DX_BACKLOG_MIN_BYTES);
  OK (dx_backlog_refuse_ms (bl, "quiet", 250, t0 + 22230 * MS) == 0,
      "2 MiB queued after two quiet seconds: accepted");
  dx_backlog_unexpect (bl, 2 * DX_BACKLOG_MIN_BYTES);
  dx_backlog_refuse_ms (bl, "quiet", 250, t0 + 80220 * MS);
  dx_backlog_expect (bl, 2 * DX_BACKLOG_MIN_BYTES);
  OK (dx_backlog_refuse_ms (bl, "quiet", 250, t0 + 80230 * MS) == 0,
      "2 MiB queued after a quiet minute: accepted");
  dx_backlog_unexpect (bl, 2 * DX_BACKLOG_MIN_BYTES);
  dx_backlog_expect (bl, 4 * DX_BACKLOG_MIN_BYTES);
  OK (dx_backlog_refuse_ms (bl, "quiet", 250, t0 + 80240 * MS) > 0,
      "4 MiB queued after a quiet minute: still refused");
  dx_backlog_unexpect (bl, 4 * DX_BACKLOG_MIN_BYTES);

  /* A light offer drained fast, then a second of idle: the idle time is not
   * the loop's capacity (measuring it was what made refusals, which lower
   * the offer, lower the estimate and so refuse more). 2 MiB in 10 ms of
   * busy time raises the estimate: 4 MiB queued is now accepted. */
  fake_now_us = t0 + 90000 * MS;
  d = dx_delivery_begin (bl, "quiet", fake_now_us);
  for (int i = 0; i < 3; i++)
    dx_delivery_write_add (d, DX_BACKLOG_MIN_BYTES);
  dx_delivery_fanned_out (d);
  fake_now_us += 10 * MS;
  dx_delivery_write_done (d, DX_BACKLOG_MIN_BYTES);
  dx_delivery_write_done (d, DX_BACKLOG_MIN_BYTES);
  dx_delivery_end (d);
  dx_delivery_write_done (d, DX_BACKLOG_MIN_BYTES);
  fake_now_us += 1000 * MS;
  dx_backlog_expect (bl, 4 * DX_BACKLOG_MIN_BYTES);
  OK (dx_backlog_refuse_ms (bl, "quiet", 250, fake_now_us) == 0,
      "after a fast drain and an idle second, 4 MiB queued: accepted");
  dx_backlog_unexpect (bl, 4 * DX_BACKLOG_MIN_BYTES);

  dx_buffer out;
  dx_buffer_init (&out, 0);
  dx_backlog_render_metrics (bl, t0, 250, &out);
  OK (!out.failed && strstr (out.data, "duplex_delivery_seconds_count 4\n") != NULL,
      "/metrics: the accept -> last write histogram");
  OK (strstr (out.data, "duplex_delivery_refused_total 3\n") != NULL, "/metrics: refusals");
  OK (strstr (out.data, "duplex_delivery_refused_why_total{why=\"behind\"} 1\n") != NULL
          && strstr (out.data, "duplex_delivery_refused_why_total{why=\"queued\"} 2\n") != NULL
          && strstr (out.data, "duplex_delivery_refused_why_total{why=\"memory\"} 0\n") != NULL,
      "/metrics: refusals by the test that refused them");
  const char *rate = strstr (out.data, "\nduplex_delivery_drain_rate_bytes ");
  OK (rate != NULL && strtod (rate + 34, NULL) > 4.0 * DX_BACKLOG_MIN_BYTES / 0.125,
      "/metrics: the drain rate, over 4 MiB in half the bound");
  dx_buffer_free (&out);
  dx_backlog_free (bl);
}

/* ---- the hub's fan-out through shared buffers ---- */

typedef struct {
  dx_sub sub;
  dx_shared_buf *held; /* a write in flight */
} member;

static void
member_message (dx_sub *sub, dx_shared_event *e)
{
  member *m = (member *) sub;
  m->held = dx_shared_buf_ref (dx_shared_event_line (e));
}

static const dx_sub_ops member_ops = { member_message, NULL, NULL };

static void
test_hub (void)
{
  dx_hub *hub = dx_hub_new ();
  member ms[3];
  memset (ms, 0, sizeof ms);
  for (int i = 0; i < 3; i++) {
    ms[i].sub.ops = &member_ops;
    ms[i].sub.kind = DX_SUB_LONGPOLL;
    dx_hub_subscribe (hub, &ms[i].sub, "lobby");
  }
  dx_stored_msg msg = { .room = "lobby", .id = 1, .from = "ann", .text = "hi", .text_len = 2 };
  dx_hub_publish_accepted (hub, &msg, dx_monotonic_us ());
  dx_backlog_stats st;
  dx_backlog_get_stats (dx_hub_backlog (hub), dx_monotonic_us (), 250, &st);
  IS ((long long) st.msgs, 1LL, "a fan-out to three members is in the backlog");
  IS ((long long) st.bytes, (long long) (3 * ms[0].held->len), "its three writes' bytes");
  dx_shared_buf_unref (ms[0].held);
  dx_shared_buf_unref (ms[1].held);
  dx_backlog_get_stats (dx_hub_backlog (hub), dx_monotonic_us (), 250, &st);
  IS ((long long) st.msgs, 1LL, "one write left: not done");
  IS ((long long) st.oldest_late_us, 0LL, "but not late (one member may lag)");
  dx_shared_buf_unref (ms[2].held);
  dx_backlog_get_stats (dx_hub_backlog (hub), dx_monotonic_us (), 250, &st);
  IS ((long long) st.msgs, 0LL, "every write done: out of the backlog");
  IS ((long long) st.done, 1LL, "one delivery done");
  for (int i = 0; i < 3; i++)
    dx_hub_unsubscribe (hub, &ms[i].sub);
  dx_hub_free (hub);
}

int
main (void)
{
  test_accounting ();
  test_hub ();
  return tap_done ();
}
