#include "server/token.h"

#include "platform/loop.h"
#include "platform/random.h"
#include "protocol/sha1.h"

#include <stdio.h>
#include <string.h>

void
dx_token_generate (char out[DX_TOKEN_LEN + 1], uint64_t counter)
{
  struct {
    unsigned char os[32];
    uint64_t wall, mono_us, counter;
    const void *stack;
  } seed;
  memset (&seed, 0, sizeof seed);
  /* The OS CSPRNG makes the token unguessable; the clocks, counter and
   * address only keep tokens distinct should it ever fail. */
  (void) dx_random_bytes (seed.os, sizeof seed.os);
  seed.wall = dx_wall_ms ();
  seed.mono_us = dx_monotonic_us ();
  seed.counter = counter;
  seed.stack = &seed;
  uint8_t digest[DX_SHA1_DIGEST_LEN];
  dx_sha1 (&seed, sizeof seed, digest);
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < DX_SHA1_DIGEST_LEN; i++)
    {
      out[2 * i] = hex[digest[i] >> 4];
      out[2 * i + 1] = hex[digest[i] & 15];
    }
  out[DX_TOKEN_LEN] = '\0';
}
