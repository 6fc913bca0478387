/* Win32 implementation of thread.h: native threads, SRW locks and
 * condition variables (Vista+), no winpthreads needed. */
#include "platform/thread.h"

#include "platform/loop.h"

#include <process.h>
#include <stdlib.h>
#include <windows.h>

struct dx_thread {
  HANDLE handle;
  dx_thread_fn fn;
  void *arg;
};

struct dx_mutex {
  SRWLOCK lock;
};

struct dx_cond {
  CONDITION_VARIABLE cv;
};

/* _beginthreadex rather than CreateThread so the C runtime's per-thread
 * state (errno, strtok buffers) is set up for the new thread. */
static unsigned __stdcall thread_main (void *p)
{
  dx_thread *t = p;
  t->fn (t->arg);
  return 0;
}

int
dx_thread_start (dx_thread **out, dx_thread_fn fn, void *arg)
{
  if (out == NULL || fn == NULL)
    return DX_EINVAL;
  dx_thread *t = calloc (1, sizeof *t);
  if (t == NULL)
    return DX_ENOMEM;
  t->fn = fn;
  t->arg = arg;
  uintptr_t h = _beginthreadex (NULL, 0, thread_main, t, 0, NULL);
  if (h == 0) {
    free (t);
    return DX_ENOMEM;
  }
  t->handle = (HANDLE) h;
  *out = t;
  return 0;
}

void
dx_thread_join (dx_thread *thread)
{
  if (thread == NULL)
    return;
  WaitForSingleObject (thread->handle, INFINITE);
  CloseHandle (thread->handle);
  free (thread);
}

dx_mutex *
dx_mutex_new (void)
{
  dx_mutex *m = calloc (1, sizeof *m);
  if (m != NULL)
    InitializeSRWLock (&m->lock);
  return m;
}

void
dx_mutex_free (dx_mutex *m)
{
  /* SRW locks own no kernel object: nothing to release but the memory. */
  free (m);
}

void
dx_mutex_lock (dx_mutex *m)
{
  AcquireSRWLockExclusive (&m->lock);
}

void
dx_mutex_unlock (dx_mutex *m)
{
  ReleaseSRWLockExclusive (&m->lock);
}

dx_cond *
dx_cond_new (void)
{
  dx_cond *c = calloc (1, sizeof *c);
  if (c != NULL)
    InitializeConditionVariable (&c->cv);
  return c;
}

void
dx_cond_free (dx_cond *c)
{
  free (c);
}

void
dx_cond_wait (dx_cond *c, dx_mutex *m)
{
  SleepConditionVariableSRW (&c->cv, &m->lock, INFINITE, 0);
}

int
dx_cond_timedwait (dx_cond *c, dx_mutex *m, uint64_t timeout_ms)
{
  /* INFINITE is 0xFFFFFFFF: clamp just below it so a huge timeout still
   * means "a long time", not "forever" by accident. */
  DWORD ms = timeout_ms >= INFINITE ? INFINITE - 1 : (DWORD) timeout_ms;
  if (SleepConditionVariableSRW (&c->cv, &m->lock, ms, 0))
    return 0;
  return GetLastError () == ERROR_TIMEOUT ? DX_ETIMEDOUT : DX_EIO;
}

void
dx_cond_signal (dx_cond *c)
{
  WakeConditionVariable (&c->cv);
}

void
dx_cond_broadcast (dx_cond *c)
{
  WakeAllConditionVariable (&c->cv);
}
