/* Duplex platform layer: the few threading primitives the server needs
 * (the SQLite writer thread). POSIX threads or Win32, behind one API. */
#ifndef DX_PLATFORM_THREAD_H
#define DX_PLATFORM_THREAD_H

#include <stdint.h>

typedef struct dx_thread dx_thread;
typedef struct dx_mutex dx_mutex;
typedef struct dx_cond dx_cond;

typedef void (*dx_thread_fn) (void *arg);

/* 0 or a negative DX_E* code. */
int dx_thread_start (dx_thread **out, dx_thread_fn fn, void *arg);
/* Waits for the thread to return and frees it. */
void dx_thread_join (dx_thread *thread);

dx_mutex *dx_mutex_new (void);
void dx_mutex_free (dx_mutex *m);
void dx_mutex_lock (dx_mutex *m);
void dx_mutex_unlock (dx_mutex *m);

dx_cond *dx_cond_new (void);
void dx_cond_free (dx_cond *c);
void dx_cond_wait (dx_cond *c, dx_mutex *m);
/* Returns 0 when signalled, DX_ETIMEDOUT after timeout_ms. */
int dx_cond_timedwait (dx_cond *c, dx_mutex *m, uint64_t timeout_ms);
void dx_cond_signal (dx_cond *c);
void dx_cond_broadcast (dx_cond *c);

#endif
