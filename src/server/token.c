#include "server/token.h"

#include "platform/loop.h"
#include "platform/random.h"
#include "protocol/hex.h"
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
  dx_hex_encode (digest, DX_SHA1_DIGEST_LEN, out);
  out[DX_TOKEN_LEN] = '\0';
}
