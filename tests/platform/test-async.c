/* dx_async from another thread (thread.h), coalescing, and signals. */
#include "dxtest.h"
#include "platform/thread.h"

#include <signal.h>
#include <stdatomic.h>

enum { SENDS = 10000 };
static dx_loop *loop;
static atomic_int produced;
static atomic_bool producer_done;
static int callbacks, last_seen;
static bool saw_done, inside_send, reentered;
static dx_async *async;
static dx_timer *watchdog;

static void
producer (void *arg)
{
  dx_async *a = arg;
  /* Let the loop block in its poll first, so the sends must wake it. */
  dx_mutex *m = dx_mutex_new ();
  dx_cond *c = dx_cond_new ();
  dx_mutex_lock (m);
  dx_cond_timedwait (c, m, 50);
  dx_mutex_unlock (m);
  dx_cond_free (c);
  dx_mutex_free (m);
  for (int i = 0; i < SENDS; i++) {
    atomic_fetch_add (&produced, 1);
    dx_async_send (a);
  }
  atomic_store (&producer_done, true);
  dx_async_send (a);
}

static void
async_cb (dx_async *a)
{
  if (inside_send)
    reentered = true;
  callbacks++;
  last_seen = atomic_load (&produced);
  if (atomic_load (&producer_done)) {
    saw_done = true;
    dx_close (DX_HANDLE (a), NULL);
    dx_close (DX_HANDLE (watchdog), NULL);
  }
}

static void
test_thread_wakeup (void)
{
  loop = test_loop_new ();
  async = dx_async_new (loop, async_cb);
  OK (async != NULL, "async created");
  /* From the loop thread: never called back inside dx_async_send. */
  inside_send = true;
  IS (dx_async_send (async), 0, "send from the loop thread");
  inside_send = false;
  dx_thread *t;
  IS (dx_thread_start (&t, producer, async), 0, "producer thread started");
  watchdog = watchdog_start (loop, 20000);
  dx_loop_run (loop);
  dx_thread_join (t);
  if (watchdog_fired) {
    dx_close (DX_HANDLE (watchdog), NULL);
    dx_close (DX_HANDLE (async), NULL);
    dx_loop_run (loop);
  }
  OK (!watchdog_fired, "woken from another thread");
  OK (saw_done, "the last send was seen");
  IS (last_seen, SENDS, "every increment visible to the loop after the wakeup");
  OK (callbacks >= 1 && callbacks <= SENDS + 2, "sends coalesce (%d callbacks for %d sends)",
      callbacks, SENDS + 2);
  OK (!reentered, "no callback inside dx_async_send");
  test_loop_free (loop, "async");
}

/* ---- signals -------------------------------------------------------------- */

#ifndef _WIN32
static int got_signal;

static void
on_signal (dx_loop *l, int signum)
{
  got_signal = signum;
  dx_loop_stop (l);
}
#endif

static void
test_signal (void)
{
#ifdef _WIN32
  tap_skip ("console control events cannot be raised in-process under the test runner");
#else
  loop = test_loop_new ();
  IS (dx_signal_stop_on_interrupt (loop, on_signal), 0, "signal handler installed");
  IS (dx_loop_handle_count (loop), 0, "the signal watcher is not a counted handle");
  dx_timer *keep = dx_timer_new (loop); /* something to keep the loop running */
  raise (SIGTERM);
  dx_loop_run (loop);
  IS (got_signal, SIGTERM, "SIGTERM delivered to the callback on the loop thread");
  got_signal = 0;
  raise (SIGINT);
  dx_loop_run (loop);
  IS (got_signal, SIGINT, "SIGINT too");
  dx_close (DX_HANDLE (keep), NULL);
  dx_loop_run (loop);
  test_loop_free (loop, "signal");
  /* After the loop is freed the old dispositions are back. */
  struct sigaction sa;
  sigaction (SIGTERM, NULL, &sa);
  OK (sa.sa_handler == SIG_DFL, "SIGTERM disposition restored");
#endif
}

int
main (int argc, char **argv)
{
  static const dxtest_case cases[] = {
    { "thread-wakeup", test_thread_wakeup },
    { "signal", test_signal },
  };
  return dxtest_main (argc, argv, cases, DXTEST_COUNT (cases));
}
