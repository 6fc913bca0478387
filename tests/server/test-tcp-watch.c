/* The TIME_WAIT watcher's life: it samples once at start, a read wakes it
 * for more, a sample reaches the loop through its async, and freeing it
 * stops the worker and leaves no handle behind. */
#include "platform/loop.h"
#include "server/tcp-watch.h"

#include "../tap.h"

#include <stdio.h>
#include <stdlib.h>

static dx_tcp_watch *watch;
static uint64_t first_seen, last_seen;
static int ticks, last_status = 1;

static void
on_tick (dx_timer *t)
{
  const dx_tcp_watch_sample *s = dx_tcp_watch_read (watch);
  if (s->samples && !first_seen)
    first_seen = s->samples;
  last_seen = s->samples;
  if (s->samples)
    last_status = s->status;
  /* Two samples: the one at start and one a read asked for (a period
   * later). Give up after 25 s, before meson's timeout, to fail clearly. */
  if (s->samples >= 2 || ++ticks > 2500) {
    dx_tcp_watch_free (watch);
    watch = NULL;
    dx_close (DX_HANDLE (t), NULL);
    dx_loop_stop (dx_handle_loop (DX_HANDLE (t)));
  }
}

static void
on_accept (dx_listener *l, dx_stream *c, int status)
{
  (void) l;
  if (status == 0)
    dx_close (DX_HANDLE (c), NULL);
}

int
main (void)
{
  int err = 0;
  dx_loop *loop = dx_loop_new (&err);
  if (!loop) {
    printf ("Bail out! loop: %s\n", dx_strerror (err));
    return 1;
  }
  dx_listener *l;
  IS (dx_tcp_listen (loop, "127.0.0.1:0", 8, on_accept, &l), 0, "listener");
  uint16_t ports[] = { (uint16_t) dx_listener_port (l), 9 };
  static const char *const names[] = { "http", "tcp" };
  IS (dx_tcp_watch_new (loop, ports, names, 0, &err) == NULL, 1, "no ports: refused");
  IS (err, DX_EINVAL, "... with DX_EINVAL");
  watch = dx_tcp_watch_new (loop, ports, names, 2, &err);
  OK (watch != NULL, "watch started (%s)", dx_strerror (err));
  if (watch == NULL)
    return tap_done ();
  const dx_tcp_watch_sample *s = dx_tcp_watch_read (watch);
  IS (s->nports, 2, "two ports");
  OK (s->names[0] == names[0] && s->names[1] == names[1], "labels kept");
  dx_timer *t = dx_timer_new (loop);
  dx_timer_start (t, 10, 10, on_tick);
  dx_loop_run (loop); /* until the tick closes itself: the listener stays */
  IS (first_seen >= 1, 1, "a sample reached the loop");
  IS (last_seen >= 2, 1, "a read woke the worker for another");
#if defined(__linux__) || defined(_WIN32)
  IS (last_status, 0, "the TCP table was read");
#else
  IS (last_status, DX_ENOTSUP, "this system cannot count: said so");
#endif
  dx_close (DX_HANDLE (l), NULL);
  dx_loop_run (loop);
  IS (dx_loop_handle_count (loop), 0, "no handle left after dx_tcp_watch_free");
  IS (dx_loop_free (loop), 0, "loop freed");
  return tap_done ();
}
