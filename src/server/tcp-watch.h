/* The server's own TCP sockets by state (TIME_WAIT above all: the sign of
 * connections the server closed first), counted by the kernel for the
 * listeners' ports (platform/tcpstat.h) on a worker thread, so the loop
 * never waits for it. The worker samples once at start, then every
 * DX_TCP_WATCH_PERIOD_MS while somebody reads the numbers (a read keeps it
 * going for DX_TCP_WATCH_LINGER_MS); with no reader it sleeps. A read
 * never waits: it gets the last sample and its age, and after a long
 * quiet spell wakes the worker for the next read. */
#ifndef DX_SERVER_TCP_WATCH_H
#define DX_SERVER_TCP_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "platform/loop.h"
#include "platform/tcpstat.h"

#define DX_TCP_WATCH_PERIOD_MS 1000u
#define DX_TCP_WATCH_LINGER_MS 30000u
#define DX_TCP_WATCH_MAX_PORTS 4

/* The states counted (the others are left to the kernel). */
#define DX_TCP_WATCH_STATES                                                                        \
  (DX_TCP_STATE_BIT (DX_TCP_ESTABLISHED) | DX_TCP_STATE_BIT (DX_TCP_FIN_WAIT1)                     \
   | DX_TCP_STATE_BIT (DX_TCP_FIN_WAIT2) | DX_TCP_STATE_BIT (DX_TCP_TIME_WAIT)                     \
   | DX_TCP_STATE_BIT (DX_TCP_CLOSE_WAIT) | DX_TCP_STATE_BIT (DX_TCP_LAST_ACK)                     \
   | DX_TCP_STATE_BIT (DX_TCP_CLOSING))

typedef struct {
  uint64_t samples;  /* samples taken so far (0: none yet) */
  int status;        /* of the last sample: 0, DX_ENOTSUP, or another DX_E* */
  uint64_t taken_ms; /* monotonic ms (dx_monotonic_ms) when it was taken */
  size_t nports;
  const char *names[DX_TCP_WATCH_MAX_PORTS]; /* "http", "tcp": the caller's strings */
  dx_tcp_state_counts counts[DX_TCP_WATCH_MAX_PORTS];
} dx_tcp_watch_sample;

typedef struct dx_tcp_watch dx_tcp_watch;

/* Watches ports[i] (labelled names[i], static strings), i < n <=
 * DX_TCP_WATCH_MAX_PORTS. NULL with *err (a DX_E*) when the worker cannot
 * start; a system that cannot count is not an error (status says so). */
dx_tcp_watch *dx_tcp_watch_new (dx_loop *loop, const uint16_t *ports, const char *const *names,
                                size_t n, int *err);
/* Loop thread. The last sample (it changes only between loop callbacks,
 * when a new one arrives), and keeps the worker sampling while reads go on. */
const dx_tcp_watch_sample *dx_tcp_watch_read (dx_tcp_watch *w);
/* Sum of state over the ports of a sample whose status is 0. */
uint64_t dx_tcp_watch_total (const dx_tcp_watch_sample *s, dx_tcp_state state);
/* Stops the worker (waits for a sample in progress) and frees w. */
void dx_tcp_watch_free (dx_tcp_watch *w);

#endif
