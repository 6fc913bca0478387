/* Tiny TAP helpers and shared fixtures for the platform tests. Plain C, no
 * GLib; the same sources run on epoll, poll and IOCP (under Wine). */
#ifndef DX_TEST_PLATFORM_H
#define DX_TEST_PLATFORM_H

#include "platform/loop.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
typedef SOCKET raw_sock;
#define RAW_BAD INVALID_SOCKET
#define raw_close closesocket
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
typedef int raw_sock;
#define RAW_BAD (-1)
#define raw_close close
#endif

/* IS explains a mismatch with the DX_E* names of both values. */
#define TAP_EXPLAIN_INT(got, want)                                             \
  printf ("#   got %lld (%s), want %lld (%s)\n", (got), dx_err_name ((int) (got)), \
          (want), dx_err_name ((int) (want)))
#include "../tap.h"

/* A loop on the backend chosen by $DUPLEX_LOOP; aborts the test on failure. */
static inline dx_loop *
test_loop_new (void)
{
  int err = 0;
  dx_loop *loop = dx_loop_new (&err);
  if (!loop) {
    printf ("Bail out! dx_loop_new: %s\n", dx_strerror (err));
    exit (1);
  }
  static bool said;
  if (!said) {
    printf ("# backend: %s\n", dx_loop_backend (loop));
    said = true;
  }
  return loop;
}

/* Frees the loop after a test; every handle must be gone. */
static inline void
test_loop_free (dx_loop *loop, const char *what)
{
  size_t left = dx_loop_handle_count (loop);
  int rc = dx_loop_free (loop);
  if (!OK (rc == 0 && left == 0, "%s: every handle closed, loop freed", what))
    printf ("#   %zu handles left\n", left);
}

/* ---- a watchdog: fails and stops a test that hangs ---------------------- */

static bool watchdog_fired;

static inline void
watchdog_cb (dx_timer *t)
{
  watchdog_fired = true;
  printf ("# watchdog fired\n");
  dx_loop_stop (dx_handle_loop (DX_HANDLE (t)));
}

static inline dx_timer *
watchdog_start (dx_loop *loop, uint64_t ms)
{
  watchdog_fired = false;
  dx_timer *t = dx_timer_new (loop);
  dx_timer_start (t, ms, 0, watchdog_cb);
  return t;
}

/* ---- a blocking socket outside the loop (e.g. to send an RST) ----------- */

static inline void
raw_init (void)
{
#ifdef _WIN32
  WSADATA wsa;
  WSAStartup (MAKEWORD (2, 2), &wsa);
#endif
}

static inline raw_sock
raw_connect_v4 (int port)
{
  raw_sock s = socket (AF_INET, SOCK_STREAM, 0);
  if (s == RAW_BAD)
    return RAW_BAD;
  struct sockaddr_in sin;
  memset (&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons ((unsigned short) port);
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (connect (s, (struct sockaddr *) &sin, sizeof sin) != 0) {
    raw_close (s);
    return RAW_BAD;
  }
  return s;
}

/* Close with SO_LINGER {1, 0}: the peer gets an RST, not a FIN. */
static inline void
raw_reset (raw_sock s)
{
  struct linger lg;
  lg.l_onoff = 1;
  lg.l_linger = 0;
  setsockopt (s, SOL_SOCKET, SO_LINGER, (const char *) &lg, sizeof lg);
  raw_close (s);
}

#endif
