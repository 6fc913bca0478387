/* duplex-bench: the publisher of a run. Once every subscriber is in, it
 * connects (duplexd: one raw TCP socket sending `send`; nchan: a few HTTP
 * connections POSTing to /pub/<room>; Node ws: one WebSocket), then posts
 * rate messages a second until it has sent them all, and hands the run to
 * the drain phase. Each text is "<seq> <sent_us> " padded to --size, the
 * stamp subscribers measure latency with (bench_deliver, run.c).
 *
 * The offer is open-loop: message k is due k/rate seconds after the
 * start. When it is due while the server has said wait — a refusal's
 * retry_after (duplexd's socket error, an HTTP 429's Retry-After), a full
 * --window of unacknowledged sends, every nchan POST still outstanding, a
 * write queue the server is not reading — it is not sent at all but
 * counted as deferred: a publisher that honours backpressure sheds load,
 * it does not queue it behind the server's back (which would count the
 * queueing as the server's latency). Sequence numbers go to sent messages
 * only, so subscribers see no gap for a deferred one. */
#include "loadgen/run-private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/message.h"

/* The first nchan publisher connection with no POST outstanding. */
static conn *
idle_nchan_publisher (run *R)
{
  for (unsigned i = 0; i < R->n_pubs; i++)
    if (!R->pubs[i]->busy && R->pubs[i]->connected && !R->pubs[i]->dead)
      return R->pubs[i];
  return NULL;
}

/* A publisher's write queue at which the server is clearly not reading. */
#define BENCH_PUB_QUEUE_MAX (256 * 1024)

/* May a due message go now? (See the top of this file.) */
static bool
may_send (run *R, uint64_t now)
{
  if (now < R->pause_until_us)
    return false;
  if (R->o->target == BENCH_NCHAN)
    return idle_nchan_publisher (R) != NULL;
  conn *p = R->pubs[0];
  if (!p || !p->s || dx_write_queue_size (p->s) > BENCH_PUB_QUEUE_MAX)
    return false;
  return R->o->window == 0 || R->seq_sent - R->acked - R->refused < R->o->window;
}

static void
publish_nchan (run *R, const char *text, size_t len)
{
  conn *p = idle_nchan_publisher (R);
  char target[128];
  snprintf (target, sizeof target, "/pub/%s", R->room);
  dx_buffer b;
  bench_request_head (p, &b, "POST", target);
  dx_http_write_header (&b, "Content-Type", "text/plain");
  dx_http_write_header_u64 (&b, "Content-Length", len);
  dx_http_write_end_headers (&b);
  dx_buffer_append (&b, text, len);
  p->busy = true;
  bench_conn_write_buffer (p, &b);
}

static void
publish_one (run *R, uint64_t now)
{
  uint64_t seq = ++R->seq_sent;
  R->t_last_send_us = now;
  char text[4097];
  int n = snprintf (text, sizeof text, "%" PRIu64 " %" PRIu64 " ", seq, now);
  size_t len = R->o->size > (size_t) n ? R->o->size : (size_t) n;
  memset (text + n, 'x', len - (size_t) n);
  text[len] = '\0';
  if (R->o->target == BENCH_DUPLEXD) {
    dx_buffer b;
    dx_buffer_init (&b, 0);
    dx_encode_send (&b, R->room, text, len, NULL);
    bench_socket_send_json (R->pubs[0], &b);
  } else if (R->o->target == BENCH_NODEWS) {
    bench_ws_send_text (R->pubs[0], text, len);
    bench_acked (R); /* ws has no ack: a written frame counts */
  } else {
    publish_nchan (R, text, len);
  }
}

bool
bench_udp_quiet (const run *R)
{
  uint64_t last = R->t_last_deliver_us > R->t_drain_us ? R->t_last_deliver_us : R->t_drain_us;
  return R->phase == PHASE_DRAIN && dx_monotonic_us () - last >= BENCH_UDP_QUIET_MS * 1000ull;
}

static void
udp_quiet (dx_timer *t)
{
  run *R = dx_handle_data (DX_HANDLE (t));
  if (bench_publisher_done (R) && bench_udp_quiet (R))
    bench_run_finish (R);
}

static void
tick (dx_timer *t)
{
  run *R = dx_handle_data (DX_HANDLE (t));
  if (R->phase != PHASE_PUBLISH)
    return;
  uint64_t now = dx_monotonic_us ();
  double elapsed = (double) (now - R->t_start_us) / 1e6;
  uint64_t due = (uint64_t) (elapsed * R->o->rate) + 1;
  if (due > R->total)
    due = R->total;
  while (R->due_done < due && R->phase == PHASE_PUBLISH) {
    R->due_done++;
    if (may_send (R, now))
      publish_one (R, now);
    else
      R->deferred++;
  }
  if (R->phase == PHASE_PUBLISH && R->due_done == R->total) {
    dx_timer_stop (t);
    R->phase = PHASE_DRAIN;
    R->t_drain_us = now;
    /* Stragglers get o->drain seconds; bench_maybe_finish ends earlier
     * once every acknowledged message reached every subscriber. */
    dx_timer_start (R->deadline, (uint64_t) (R->o->drain * 1000) + 1, 0, bench_deadline_fired);
    if (R->o->transport == BENCH_UDP && !R->sh)
      dx_timer_start (t, BENCH_UDP_QUIET_MS / 4, BENCH_UDP_QUIET_MS / 4, udp_quiet);
    bench_maybe_finish (R);
  }
}

void
bench_publisher_start (run *R)
{
  if (R->phase == PHASE_CONNECT && R->o->idle > 0) {
    /* Idle run: hold every subscriber, publish nothing. */
    fprintf (stderr, "ready %u\n", R->r->ready);
    R->phase = PHASE_DRAIN;
    R->total = 0;
    dx_timer_start (R->deadline, (uint64_t) (R->o->idle * 1000), 0, bench_deadline_fired);
    return;
  }
  if (R->phase == PHASE_CONNECT) {
    /* Subscribers are in: connect the publisher(s). The connect deadline
     * now bounds the publisher's connection. */
    R->phase = PHASE_PUBLISH;
    dx_timer_start (R->deadline, BENCH_CONNECT_TIMEOUT_MS, 0, bench_deadline_fired);
    R->n_pubs = R->o->target == BENCH_NCHAN ? BENCH_NCHAN_PUBLISHERS : 1;
    for (unsigned i = 0; i < R->n_pubs; i++) {
      conn *p = calloc (1, sizeof *p);
      if (!p) {
        R->n_pubs = i;
        snprintf (R->r->error, sizeof R->r->error, "out of memory");
        bench_run_finish (R);
        return;
      }
      p->role = ROLE_PUBLISHER;
      p->idx = i;
      p->tr = R->o->target == BENCH_DUPLEXD  ? BENCH_TCP
              : R->o->target == BENCH_NODEWS ? BENCH_WEBSOCKET
                                             : BENCH_POLL; /* plain HTTP */
      R->pubs[i] = p;
      bench_conn_start (R, p);
      if (R->phase == PHASE_DONE)
        return;
    }
    return;
  }
  if (R->phase != PHASE_PUBLISH || R->t_start_us)
    return; /* the first publisher ready starts the clock */
  R->t_start_us = dx_monotonic_us ();
  R->cpu_before = R->o->server_pid ? bench_process_cpu_ms (R->o->server_pid) : -1;
  R->self_cpu_before = bench_self_cpu_ms ();
  R->self_wait_before = bench_self_wait_ms ();
  if (R->sh)
    bench_worker_share (R);
  dx_timer_stop (R->deadline);
  /* A tick when the next message is due (every ms at most): at light
   * load, waking every millisecond would cost the generator more than the
   * deliveries it measures. */
  uint64_t every = R->o->rate >= 1000 ? 1 : (uint64_t) (1000 / R->o->rate);
  dx_timer_start (R->tick, 1, every, tick);
}
