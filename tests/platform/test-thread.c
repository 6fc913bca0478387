/* thread.h: start/join, mutex, condition variables, timed waits. */
#include "dxtest.h"
#include "platform/thread.h"

enum { THREADS = 4, ADDS = 100000 };
static dx_mutex *mu;
static dx_cond *cv;
static long counter;
static int ready;

static void
adder (void *arg)
{
  (void) arg;
  for (int i = 0; i < ADDS; i++) {
    dx_mutex_lock (mu);
    counter++;
    dx_mutex_unlock (mu);
  }
}

static void
signaller (void *arg)
{
  (void) arg;
  dx_mutex_lock (mu);
  ready = 1;
  dx_cond_signal (cv);
  dx_mutex_unlock (mu);
}

/* Each test has its own mutex and condition variable. */
static void
sync_open (void)
{
  mu = dx_mutex_new ();
  cv = dx_cond_new ();
  OK (mu && cv, "mutex and cond created");
}

static void
sync_close (void)
{
  dx_cond_free (cv);
  dx_mutex_free (mu);
}

static void
test_mutex (void)
{
  sync_open ();
  dx_thread *t[THREADS];
  for (int i = 0; i < THREADS; i++)
    IS (dx_thread_start (&t[i], adder, NULL), 0, "thread started");
  for (int i = 0; i < THREADS; i++)
    dx_thread_join (t[i]);
  IS (counter, (long) THREADS * ADDS, "mutex serialises increments");
  IS (dx_thread_start (NULL, adder, NULL), DX_EINVAL, "NULL out refused");
  sync_close ();
}

static void
test_cond_timeout (void)
{
  sync_open ();
  dx_mutex_lock (mu);
  uint64_t t0 = dx_monotonic_us ();
  int rc = dx_cond_timedwait (cv, mu, 50);
  uint64_t el = dx_monotonic_us () - t0;
  dx_mutex_unlock (mu);
  IS (rc, DX_ETIMEDOUT, "timed wait with no signal times out");
  OK (el >= 45000, "and waited about 50 ms (%llu us)", (unsigned long long) el);
  sync_close ();
}

static void
test_cond_signal (void)
{
  sync_open ();
  dx_thread *s;
  dx_mutex_lock (mu);
  IS (dx_thread_start (&s, signaller, NULL), 0, "signaller started");
  int rc = 0;
  while (!ready && rc == 0)
    rc = dx_cond_timedwait (cv, mu, 10000);
  dx_mutex_unlock (mu);
  dx_thread_join (s);
  OK (ready && rc == 0, "signalled wait returns 0");
  dx_cond_broadcast (cv);
  sync_close ();
}

int
main (int argc, char **argv)
{
  static const dxtest_case cases[] = {
    { "mutex", test_mutex },
    { "cond-timeout", test_cond_timeout },
    { "cond-signal", test_cond_signal },
  };
  return dxtest_main (argc, argv, cases, DXTEST_COUNT (cases));
}
