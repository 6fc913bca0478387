/* Minimal TAP output for the server unit tests (no GLib). */
#ifndef DX_TESTS_SERVER_TAP_H
#define DX_TESTS_SERVER_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

#define TAP_OK(cond, ...)                                                      \
  do {                                                                         \
    int tap_ok_ = (cond) ? 1 : 0;                                              \
    tap_n++;                                                                   \
    if (tap_ok_)                                                               \
      printf ("ok %d - ", tap_n);                                              \
    else                                                                       \
      {                                                                        \
        printf ("not ok %d - ", tap_n);                                        \
        tap_failed++;                                                          \
      }                                                                        \
    printf (__VA_ARGS__);                                                      \
    printf ("\n");                                                             \
    if (!tap_ok_)                                                              \
      printf ("#   at %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
  } while (0)

#define TAP_DONE()                                                             \
  do {                                                                         \
    printf ("1..%d\n", tap_n);                                                 \
    return tap_failed ? 1 : 0;                                                 \
  } while (0)

#endif
