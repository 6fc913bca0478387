/* TAP output for Duplex's plain-C unit tests (no GLib): one helper for
 * every suite. Each check is OK (cond, fmt, ...) or IS (got, want, fmt,
 * ...); a program ends with `return tap_done ();`, which prints the plan
 * and exits 1 if any check failed. meson runs these with protocol: 'tap'. */
#ifndef DX_TESTS_TAP_H
#define DX_TESTS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "protocol/compiler.h"

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

/* How IS explains a mismatch; a suite may define its own first (the
 * platform tests name DX_E* codes). */
#ifndef TAP_EXPLAIN_INT
#define TAP_EXPLAIN_INT(got, want) printf ("#   got %lld, want %lld\n", (got), (want))
#endif

/* Compare two integers, printing both on failure. */
#define IS(got, want, ...)                                                                         \
  do {                                                                                             \
    long long g_ = (long long) (got), w_ = (long long) (want);                                     \
    if (!OK (g_ == w_, __VA_ARGS__))                                                               \
      TAP_EXPLAIN_INT (g_, w_);                                                                    \
  } while (0)

/* Compare two strings, printing both on failure. */
#define STR_IS(got, want, ...)                                                                     \
  do {                                                                                             \
    const char *g_ = (got), *w_ = (want);                                                          \
    if (!OK (g_ && w_ && strcmp (g_, w_) == 0, __VA_ARGS__))                                       \
      printf ("#   got  '%s'\n#   want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)");           \
  } while (0)

static inline void
tap_skip (const char *why)
{
  printf ("ok %d # SKIP %s\n", ++tap_count, why);
  fflush (stdout);
}

static inline void
tap_diag (const char *msg)
{
  printf ("# %s\n", msg);
  fflush (stdout);
}

static inline int
tap_done (void)
{
  printf ("1..%d\n", tap_count);
  fflush (stdout);
  return tap_failed ? 1 : 0;
}

#endif
