#include "server/tcp-watch.h"

#include "platform/thread.h"
#include "server/log.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct dx_tcp_watch {
  /* Set before the worker starts, then read-only. */
  uint16_t ports[DX_TCP_WATCH_MAX_PORTS];
  size_t nports;
  dx_async *wake; /* worker -> loop: a sample is in the mailbox */
  dx_thread *thread;
  /* mu guards these; the worker never holds it while it counts. */
  dx_mutex *mu;
  dx_cond *cv; /* the worker waits on it: for a period, or for a reader */
  bool stop;
  bool idle;                   /* the worker sleeps until a reader comes */
  uint64_t wanted_until;       /* monotonic ms: keep sampling until then */
  dx_tcp_watch_sample mailbox; /* the worker's latest sample */
  /* Loop thread only. */
  dx_tcp_watch_sample published;
  int logged_status; /* the last status logged, to log a change once */
};

/* ---- worker thread ---- */

static void
sample_into_mailbox (dx_tcp_watch *w)
{
  dx_tcp_state_counts counts[DX_TCP_WATCH_MAX_PORTS];
  int rc = dx_tcp_count_states (w->ports, w->nports, DX_TCP_WATCH_STATES, counts);
  uint64_t taken = dx_monotonic_ms ();
  dx_mutex_lock (w->mu);
  w->mailbox.samples++;
  w->mailbox.status = rc;
  w->mailbox.taken_ms = taken;
  memcpy (w->mailbox.counts, counts, w->nports * sizeof counts[0]);
  dx_mutex_unlock (w->mu);
  dx_async_send (w->wake);
}

static void
worker (void *arg)
{
  dx_tcp_watch *w = arg;
  sample_into_mailbox (w); /* one at start: the first reader has numbers */
  dx_mutex_lock (w->mu);
  uint64_t next = w->mailbox.taken_ms + DX_TCP_WATCH_PERIOD_MS;
  while (!w->stop) {
    uint64_t now = dx_monotonic_ms ();
    if (now >= w->wanted_until) {
      /* Nobody has read for a while: counting would be wasted work. */
      w->idle = true;
      dx_cond_wait (w->cv, w->mu);
      w->idle = false;
      next = 0; /* a reader woke us: count at once */
      continue;
    }
    if (now < next) {
      dx_cond_timedwait (w->cv, w->mu, next - now);
      continue;
    }
    dx_mutex_unlock (w->mu);
    sample_into_mailbox (w);
    dx_mutex_lock (w->mu);
    next = w->mailbox.taken_ms + DX_TCP_WATCH_PERIOD_MS;
  }
  dx_mutex_unlock (w->mu);
}

/* ---- loop thread ---- */

static void
on_wake (dx_async *a)
{
  dx_tcp_watch *w = dx_handle_data (DX_HANDLE (a));
  dx_mutex_lock (w->mu);
  w->published.samples = w->mailbox.samples;
  w->published.status = w->mailbox.status;
  w->published.taken_ms = w->mailbox.taken_ms;
  memcpy (w->published.counts, w->mailbox.counts, w->nports * sizeof w->mailbox.counts[0]);
  dx_mutex_unlock (w->mu);
  int rc = w->published.status;
  if (rc != w->logged_status) {
    if (rc == DX_ENOTSUP)
      dx_log_info ("TIME_WAIT counts: not supported on this system (not reported)");
    else if (rc < 0)
      dx_log_warn ("TIME_WAIT counts: cannot read the TCP table: %s", dx_strerror (rc));
    else
      dx_log_debug ("TIME_WAIT counts: the TCP table reads again");
    w->logged_status = rc;
  }
}

dx_tcp_watch *
dx_tcp_watch_new (dx_loop *loop, const uint16_t *ports, const char *const *names, size_t n,
                  int *err)
{
  *err = DX_EINVAL;
  if (n == 0 || n > DX_TCP_WATCH_MAX_PORTS)
    return NULL;
  *err = DX_ENOMEM;
  dx_tcp_watch *w = calloc (1, sizeof *w);
  if (w == NULL)
    return NULL;
  w->nports = w->published.nports = n;
  for (size_t i = 0; i < n; i++) {
    w->ports[i] = ports[i];
    w->published.names[i] = names[i];
  }
  w->mu = dx_mutex_new ();
  w->cv = dx_cond_new ();
  w->wake = dx_async_new (loop, on_wake);
  if (w->mu && w->cv && w->wake) {
    dx_handle_set_data (DX_HANDLE (w->wake), w);
    *err = dx_thread_start (&w->thread, worker, w);
    if (*err == 0)
      return w;
  }
  dx_tcp_watch_free (w);
  return NULL;
}

const dx_tcp_watch_sample *
dx_tcp_watch_read (dx_tcp_watch *w)
{
  dx_mutex_lock (w->mu);
  w->wanted_until = dx_monotonic_ms () + DX_TCP_WATCH_LINGER_MS;
  if (w->idle)
    dx_cond_signal (w->cv);
  dx_mutex_unlock (w->mu);
  return &w->published;
}

uint64_t
dx_tcp_watch_total (const dx_tcp_watch_sample *s, dx_tcp_state state)
{
  uint64_t sum = 0;
  if (s->samples > 0 && s->status == 0 && (unsigned) state < DX_TCP_STATE_COUNT)
    for (size_t i = 0; i < s->nports; i++)
      sum += s->counts[i].n[state];
  return sum;
}

void
dx_tcp_watch_free (dx_tcp_watch *w)
{
  if (w == NULL)
    return;
  if (w->thread) {
    dx_mutex_lock (w->mu);
    w->stop = true;
    dx_cond_signal (w->cv);
    dx_mutex_unlock (w->mu);
    dx_thread_join (w->thread);
  }
  /* No async callback runs after dx_close: w may go now. */
  if (w->wake)
    dx_close (DX_HANDLE (w->wake), NULL);
  dx_cond_free (w->cv);
  dx_mutex_free (w->mu);
  free (w);
}
