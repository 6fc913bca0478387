/* SHA-1: the RFC 3174 section 7.3 test vectors, one-shot and streamed in
 * every split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/sha1.h"
#include "../tap.h"

static void
hex (const uint8_t d[DX_SHA1_DIGEST_LEN], char out[41])
{
  for (int i = 0; i < DX_SHA1_DIGEST_LEN; i++)
    snprintf (out + 2 * i, 3, "%02x", d[i]);
}

static void
check (const char *data, size_t len, size_t repeat, const char *want, const char *name)
{
  dx_sha1_ctx ctx;
  uint8_t d[DX_SHA1_DIGEST_LEN];
  char got[41];
  dx_sha1_init (&ctx);
  for (size_t i = 0; i < repeat; i++)
    dx_sha1_update (&ctx, data, len);
  dx_sha1_final (&ctx, d);
  hex (d, got);
  STR_IS (got, want, "%s", name);
}

int
main (void)
{
  static const char t1[] = "abc";
  static const char t2[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  static const char t4[] = "0123456701234567012345670123456701234567012345670123456701234567";
  check ("", 0, 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "empty input");
  check (t1, 3, 1, "a9993e364706816aba3e25717850c26c9cd0d89d", "RFC 3174 TEST1 abc");
  check (t2, strlen (t2), 1, "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
         "RFC 3174 TEST2 (56 bytes, padding spills into a second block)");
  check ("a", 1, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
         "RFC 3174 TEST3 one million 'a' fed byte by byte");
  check (t4, strlen (t4), 10, "dea356a2cddd90c7a7ecedc5ebb563934f460452",
         "RFC 3174 TEST4 (640 bytes in 64-byte updates)");

  /* The one-shot function and every two-piece split agree. */
  uint8_t want[DX_SHA1_DIGEST_LEN];
  size_t n = strlen (t2) * 3;
  char *buf = malloc (n);
  for (size_t i = 0; i < 3; i++)
    memcpy (buf + i * strlen (t2), t2, strlen (t2));
  dx_sha1 (buf, n, want);
  bool all = true;
  for (size_t cut = 0; cut <= n; cut++) {
    dx_sha1_ctx ctx;
    uint8_t d[DX_SHA1_DIGEST_LEN];
    dx_sha1_init (&ctx);
    dx_sha1_update (&ctx, buf, cut);
    dx_sha1_update (&ctx, buf + cut, n - cut);
    dx_sha1_final (&ctx, d);
    all = all && memcmp (d, want, sizeof d) == 0;
  }
  OK (all, "streaming gives the one-shot digest for every split of %u bytes", (unsigned) n);
  free (buf);

  uint8_t d[DX_SHA1_DIGEST_LEN];
  char got[41];
  dx_sha1 ("The quick brown fox jumps over the lazy dog", 43, d);
  hex (d, got);
  STR_IS (got, "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", "one-shot digest");
  return tap_done ();
}
