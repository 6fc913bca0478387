/* Minimal TAP output for the protocol tests: plain C, no GLib. Each test
 * program calls OK(...) for every check and ends with `return tap_done ();`
 * (prints the plan; exit status 1 if anything failed). */
#ifndef DX_TEST_PROTOCOL_TAP_H
#define DX_TEST_PROTOCOL_TAP_H

#include <stdarg.h>
#include "protocol/compiler.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

DX_PRINTF_FORMAT (4, 5)
static inline bool
tap_ok (bool ok, const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  printf ("%s %d - ", ok ? "ok" : "not ok", ++tap_count);
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  printf ("\n");
  if (!ok) {
    printf ("#   failed at %s:%d\n", file, line);
    tap_failed++;
  }
  fflush (stdout);
  return ok;
}

#define OK(cond, ...) tap_ok ((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)

/* Compare two strings, printing both on failure. */
#define STR_IS(got, want, ...)                                                 \
  do {                                                                         \
    const char *g_ = (got), *w_ = (want);                                      \
    if (!OK (g_ && w_ && strcmp (g_, w_) == 0, __VA_ARGS__))                   \
      printf ("#   got  '%s'\n#   want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
  } while (0)

static inline int
tap_done (void)
{
  printf ("1..%d\n", tap_count);
  return tap_failed ? 1 : 0;
}

#endif
