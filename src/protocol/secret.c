#include "protocol/secret.h"

#include <string.h>

bool
dx_secret_equal (const char *given, const char *want)
{
  size_t gl = strlen (given), wl = strlen (want);
  /* volatile: the compiler must not turn the loop into an early exit. */
  volatile unsigned char diff = (unsigned char) (gl != wl);
  for (size_t i = 0; i < wl; i++) {
    unsigned char g = i < gl ? (unsigned char) given[i] : 0;
    diff |= (unsigned char) (g ^ (unsigned char) want[i]);
  }
  return diff == 0;
}
