/* duplex-bench: the publisher of a run. Once every subscriber is in, it
 * connects (duplexd: one raw TCP socket sending `send`; nchan: a few HTTP
 * connections POSTing to /pub/<room>; Node ws: one WebSocket), then posts
 * rate messages a second until it has sent them all, and hands the run to
 * the drain phase. Each text is "<seq> <sent_us> " padded to --size, the
 * stamp subscribers measure latency with (bench_deliver, run.c). */
#include "loadgen/run-private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/message.h"

static void
publish_nchan (run *R, const char *text, size_t len)
{
  /* POST on the first idle publisher connection. */
  conn *p = NULL;
  for (unsigned i = 0; i < R->n_pubs && !p; i++)
    if (!R->pubs[i]->busy && R->pubs[i]->connected && !R->pubs[i]->dead)
      p = R->pubs[i];
  if (!p) {
    R->seq_sent--; /* all busy: try on the next tick */
    return;
  }
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
publish_one (run *R)
{
  uint64_t seq = ++R->seq_sent;
  uint64_t now = dx_monotonic_us ();
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
    R->acked++; /* ws has no ack: a written frame counts */
  } else {
    publish_nchan (R, text, len);
  }
}

/* UDP: what is lost never comes, so the drain ends once every message
 * was acknowledged and nothing arrived for BENCH_UDP_QUIET_MS. */
#define BENCH_UDP_QUIET_MS 1000

static void
udp_quiet (dx_timer *t)
{
  run *R = dx_handle_data (DX_HANDLE (t));
  uint64_t last =
      R->t_last_deliver_us > R->t_last_send_us ? R->t_last_deliver_us : R->t_last_send_us;
  if (R->phase == PHASE_DRAIN && R->acked == R->total
      && dx_monotonic_us () - last >= BENCH_UDP_QUIET_MS * 1000ull)
    bench_run_finish (R);
}

static void
tick (dx_timer *t)
{
  run *R = dx_handle_data (DX_HANDLE (t));
  if (R->phase != PHASE_PUBLISH)
    return;
  double elapsed = (double) (dx_monotonic_us () - R->t_start_us) / 1e6;
  uint64_t due = (uint64_t) (elapsed * R->o->rate) + 1;
  if (due > R->total)
    due = R->total;
  while (R->seq_sent < due && R->phase == PHASE_PUBLISH) {
    uint64_t before = R->seq_sent;
    publish_one (R);
    if (R->seq_sent == before)
      break;
  }
  if (R->phase == PHASE_PUBLISH && R->seq_sent == R->total) {
    dx_timer_stop (t);
    R->phase = PHASE_DRAIN;
    /* Stragglers get o->drain seconds; bench_maybe_finish ends earlier
     * once every acknowledged message reached every subscriber. */
    dx_timer_start (R->deadline, (uint64_t) (R->o->drain * 1000) + 1, 0, bench_deadline_fired);
    if (R->o->transport == BENCH_UDP)
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
  R->self_cpu_before = bench_process_cpu_ms (0);
  dx_timer_stop (R->deadline);
  dx_timer_start (R->tick, 1, 1, tick);
}
