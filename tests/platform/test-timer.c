/* Timers: order (equal deadlines in start order), never early, repeat,
 * cancel, restart, close from inside the callback. */
#include "dxtest.h"

enum { NT = 6 };
static dx_loop *loop;
static int order[16], norder;
static uint64_t started_us[NT], fired_us[NT];
static uint64_t timeouts[NT] = { 30, 10, 20, 10, 0, 25 };
static int early;

static uint64_t
deadline_us (int id)
{
  return started_us[id] + timeouts[id] * 1000;
}

static void
order_cb (dx_timer *t)
{
  int id = (int) (intptr_t) dx_handle_data (DX_HANDLE (t));
  fired_us[id] = dx_monotonic_us ();
  if (fired_us[id] - started_us[id] < timeouts[id] * 1000)
    early++;
  if (dx_loop_now_ms (loop) > dx_monotonic_ms ())
    early += 100; /* the cached clock may lag, never lead */
  order[norder++] = id;
  dx_close (DX_HANDLE (t), NULL); /* closing inside its own callback */
}

static void
test_order (void)
{
  loop = test_loop_new ();
  for (int i = 0; i < NT; i++) {
    dx_timer *t = dx_timer_new (loop);
    dx_handle_set_data (DX_HANDLE (t), (void *) (intptr_t) i);
    started_us[i] = dx_monotonic_us ();
    dx_timer_start (t, timeouts[i], 0, order_cb);
    OK (dx_timer_is_active (t), "timer %d active after start", i);
  }
  IS (dx_loop_handle_count (loop), NT, "six timer handles");
  dx_loop_run (loop);
  IS (norder, NT, "every timer fired once");
  /* The order of the deadlines each timer really got: on a loaded machine
   * (ASan, CI) the six starts can spread over more than the 5 ms that
   * separate 25 ms from 30 ms, so the order is computed, not assumed.
   * Equal timeouts keep their start order (an insertion sort is stable). */
  int want[NT];
  for (int i = 0; i < NT; i++) {
    int j = i;
    for (; j > 0 && deadline_us (want[j - 1]) > deadline_us (i); j--)
      want[j] = want[j - 1];
    want[j] = i;
  }
  bool same = true;
  for (int i = 0; i < NT; i++)
    same = same && order[i] == want[i];
  OK (same, "deadline order, equal deadlines in start order (%d %d %d %d %d %d)", order[0],
      order[1], order[2], order[3], order[4], order[5]);
  IS (early, 0, "no timer fired early");
  test_loop_free (loop, "order");
}

/* ---- repeat, stop, restart ------------------------------------------------ */

static int repeats;
static uint64_t repeat_start;
static int repeat_early;
static dx_timer *victim;
static int victim_fired;

static void
repeat_cb (dx_timer *t)
{
  repeats++;
  uint64_t elapsed = dx_monotonic_us () - repeat_start;
  /* The k-th firing of (10 ms, then every 15 ms) is due at 10 + 15 (k-1). */
  if (elapsed < (uint64_t) (10 + 15 * (repeats - 1)) * 1000)
    repeat_early++;
  if (repeats == 5) {
    dx_timer_stop (t);
    OK (!dx_timer_is_active (t), "repeating timer inactive after stop");
    dx_close (DX_HANDLE (t), NULL);
  }
}

static void
victim_cb (dx_timer *t)
{
  (void) t;
  victim_fired++;
}

static void
killer_cb (dx_timer *t)
{
  dx_timer_stop (victim);
  OK (!dx_timer_is_active (victim), "cancelled timer inactive");
  dx_close (DX_HANDLE (t), NULL);
}

static void
closer_cb (dx_timer *t)
{
  dx_close (DX_HANDLE (victim), NULL);
  dx_close (DX_HANDLE (t), NULL);
}

static int restarted_fired;
static uint64_t restart_at;

static void
restarted_cb (dx_timer *t)
{
  restarted_fired++;
  OK (dx_monotonic_us () - restart_at >= 60 * 1000,
      "a restarted timer fires after its new timeout");
  dx_close (DX_HANDLE (t), NULL);
}

static void
test_repeat_cancel (void)
{
  loop = test_loop_new ();
  dx_timer *r = dx_timer_new (loop);
  repeat_start = dx_monotonic_us ();
  IS (dx_timer_start (r, 10, 15, repeat_cb), 0, "start repeating timer");
  IS (dx_timer_start (r, 10, 15, NULL), DX_EINVAL, "start without callback refused");

  victim = dx_timer_new (loop);
  dx_timer_start (victim, 40, 0, victim_cb);
  dx_timer *killer = dx_timer_new (loop);
  dx_timer_start (killer, 5, 0, killer_cb);
  dx_timer *closer = dx_timer_new (loop);
  dx_timer_start (closer, 100, 0, closer_cb);

  dx_timer *re = dx_timer_new (loop);
  dx_timer_start (re, 10, 0, restarted_cb);
  restart_at = dx_monotonic_us ();
  dx_timer_start (re, 60, 0, restarted_cb); /* reschedules */

  dx_loop_run (loop);
  IS (repeats, 5, "repeating timer fired 5 times, then stopped");
  IS (repeat_early, 0, "no repeat fired early");
  IS (victim_fired, 0, "a cancelled timer never fires");
  IS (restarted_fired, 1, "a restarted timer fires once");
  test_loop_free (loop, "repeat");
}

/* An inactive timer is still an open handle: the loop runs until it is
 * closed (dx_loop_run returns at once with no handle at all). */
static void
stop_loop_cb (dx_timer *t)
{
  dx_loop_stop (dx_handle_loop (DX_HANDLE (t)));
}

static void
test_loop_lifetime (void)
{
  loop = test_loop_new ();
  uint64_t t0 = dx_monotonic_us ();
  IS (dx_loop_run (loop), 0, "empty loop returns at once");
  dx_timer *idle = dx_timer_new (loop);
  dx_timer *stopper = dx_timer_new (loop);
  dx_timer_start (stopper, 20, 0, stop_loop_cb);
  IS (dx_loop_run (loop), 0, "dx_loop_stop ends the run");
  OK (dx_monotonic_us () - t0 >= 20000, "the run lasted until the stop");
  IS (dx_loop_free (loop), DX_EALREADY, "free with open handles refused");
  dx_close (DX_HANDLE (idle), NULL);
  dx_close (DX_HANDLE (stopper), NULL);
  IS (dx_loop_handle_count (loop), 2, "closing handles still count until close_cb");
  dx_loop_run (loop);
  test_loop_free (loop, "lifetime");
}

int
main (int argc, char **argv)
{
  static const dxtest_case cases[] = {
    { "order", test_order },
    { "repeat-cancel", test_repeat_cancel },
    { "loop-lifetime", test_loop_lifetime },
  };
  return dxtest_main (argc, argv, cases, DXTEST_COUNT (cases));
}
