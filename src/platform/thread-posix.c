/* thread.h on POSIX threads. */
#include "platform/loop-private.h"
#include "platform/thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct dx_thread {
  pthread_t tid;
  dx_thread_fn fn;
  void *arg;
};

struct dx_mutex {
  pthread_mutex_t m;
};

struct dx_cond {
  pthread_cond_t c;
};

static void *
thread_main (void *p)
{
  dx_thread *t = p;
  t->fn (t->arg);
  return NULL;
}

int
dx_thread_start (dx_thread **out, dx_thread_fn fn, void *arg)
{
  if (!out || !fn)
    return DX_EINVAL;
  *out = NULL;
  dx_thread *t = calloc (1, sizeof *t);
  if (!t)
    return DX_ENOMEM;
  t->fn = fn;
  t->arg = arg;
  int rc = pthread_create (&t->tid, NULL, thread_main, t);
  if (rc != 0) {
    free (t);
    return rc == EAGAIN ? DX_ENOMEM : dx__err_from_errno (rc);
  }
  *out = t;
  return 0;
}

void
dx_thread_join (dx_thread *t)
{
  if (!t)
    return;
  pthread_join (t->tid, NULL);
  free (t);
}

dx_mutex *
dx_mutex_new (void)
{
  dx_mutex *m = malloc (sizeof *m);
  if (m && pthread_mutex_init (&m->m, NULL) != 0) {
    free (m);
    m = NULL;
  }
  return m;
}

void
dx_mutex_free (dx_mutex *m)
{
  if (m) {
    pthread_mutex_destroy (&m->m);
    free (m);
  }
}

void
dx_mutex_lock (dx_mutex *m)
{
  pthread_mutex_lock (&m->m);
}

void
dx_mutex_unlock (dx_mutex *m)
{
  pthread_mutex_unlock (&m->m);
}

dx_cond *
dx_cond_new (void)
{
  dx_cond *c = malloc (sizeof *c);
  if (!c)
    return NULL;
  /* CLOCK_MONOTONIC so timed waits ignore wall-clock jumps. */
  pthread_condattr_t attr;
  int ok = pthread_condattr_init (&attr) == 0;
#if !defined(__APPLE__)
  if (ok)
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
#endif
  if (!ok || pthread_cond_init (&c->c, &attr) != 0) {
    if (ok)
      pthread_condattr_destroy (&attr);
    free (c);
    return NULL;
  }
  pthread_condattr_destroy (&attr);
  return c;
}

void
dx_cond_free (dx_cond *c)
{
  if (c) {
    pthread_cond_destroy (&c->c);
    free (c);
  }
}

void
dx_cond_wait (dx_cond *c, dx_mutex *m)
{
  pthread_cond_wait (&c->c, &m->m);
}

int
dx_cond_timedwait (dx_cond *c, dx_mutex *m, uint64_t timeout_ms)
{
  struct timespec ts;
#if defined(__APPLE__)
  clock_gettime (CLOCK_REALTIME, &ts);
#else
  clock_gettime (CLOCK_MONOTONIC, &ts);
#endif
  if (timeout_ms > (uint64_t) 1000 * 86400 * 365 * 100)
    timeout_ms = (uint64_t) 1000 * 86400 * 365 * 100; /* a century is forever */
  ts.tv_sec += (time_t) (timeout_ms / 1000);
  ts.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  int rc = pthread_cond_timedwait (&c->c, &m->m, &ts);
  return rc == ETIMEDOUT ? DX_ETIMEDOUT : 0;
}

void
dx_cond_signal (dx_cond *c)
{
  pthread_cond_signal (&c->c);
}

void
dx_cond_broadcast (dx_cond *c)
{
  pthread_cond_broadcast (&c->c);
}
