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
#define TAP_EXPLAIN_INT(got, want)                                                                 \
  printf ("#   got %lld (%s), want %lld (%s)\n", (got), dx_err_name ((int) (got)), (want),         \
          dx_err_name ((int) (want)))
#include "../tap.h"

/* ---- running tests by name ---------------------------------------------- */

/* A test program is a table of named tests. meson registers each name as
 * its own test (tests/platform/meson.build), so a test that hangs fails
 * alone and does not hide the others:
 *   test-platform-stream           runs every test, in table order;
 *   test-platform-stream reset     runs only "reset";
 *   test-platform-stream --expect NAME...
 *                                  checks that the table holds exactly these
 *                                  names (meson passes its list, so a test
 *                                  missing from meson.build fails). */
typedef struct {
  const char *name;
  void (*run) (void);
} dxtest_case;

#define DXTEST_COUNT(cases) (sizeof (cases) / sizeof (cases)[0])

static inline bool
dxtest_listed (const char *name, char **names, int n)
{
  for (int i = 0; i < n; i++)
    if (strcmp (names[i], name) == 0)
      return true;
  return false;
}

static inline int
dxtest_main (int argc, char **argv, const dxtest_case *cases, size_t n)
{
  if (argc >= 2 && strcmp (argv[1], "--expect") == 0) {
    for (size_t i = 0; i < n; i++)
      OK (dxtest_listed (cases[i].name, argv + 2, argc - 2), "test \"%s\" is registered",
          cases[i].name);
    for (int i = 2; i < argc; i++) {
      bool found = false;
      for (size_t j = 0; j < n && !found; j++)
        found = strcmp (cases[j].name, argv[i]) == 0;
      OK (found, "registered test \"%s\" exists", argv[i]);
    }
    return tap_done ();
  }
  if (argc > 2) {
    printf ("Bail out! usage: %s [NAME | --expect NAME...]\n", argv[0]);
    return 1;
  }
  bool ran = false;
  for (size_t i = 0; i < n; i++) {
    if (argc == 2 && strcmp (argv[1], cases[i].name) != 0)
      continue;
    printf ("# %s\n", cases[i].name);
    cases[i].run ();
    ran = true;
  }
  if (!ran) {
    printf ("Bail out! no test named \"%s\"\n", argv[1]);
    return 1;
  }
  return tap_done ();
}

/* ---- fixtures ------------------------------------------------------------ */

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
