/* dx_random_bytes: the OS CSPRNG behind one call. */
#include "dxtest.h"
#include "platform/random.h"

static void
test_random (void)
{
  unsigned char a[64], b[64];
  memset (a, 0, sizeof a);
  memset (b, 0, sizeof b);
  IS (dx_random_bytes (a, sizeof a), 0, "64 bytes");
  IS (dx_random_bytes (b, sizeof b), 0, "64 more bytes");
  OK (memcmp (a, b, sizeof a) != 0, "two draws differ");
  /* 512 bits all zero would mean nothing was written. */
  static const unsigned char zero[64];
  OK (memcmp (a, zero, sizeof a) != 0, "the buffer was filled");
  /* Rough balance: 512 fair bits have ~256 ones; outside 160..352 is a
   * chance below 1e-17. */
  int ones = 0;
  for (size_t i = 0; i < sizeof a; i++)
    for (int k = 0; k < 8; k++)
      ones += (a[i] >> k) & 1;
  OK (ones > 160 && ones < 352, "bits look fair (%d of 512 set)", ones);
  static unsigned char big[1 << 20];
  IS (dx_random_bytes (big, sizeof big), 0, "1 MiB in one call");
  IS (dx_random_bytes (big, 0), 0, "0 bytes");
}

int
main (int argc, char **argv)
{
  static const dxtest_case cases[] = {
    { "random", test_random },
  };
  return dxtest_main (argc, argv, cases, DXTEST_COUNT (cases));
}
