/* The rate limit's token bucket (docs/protocol.md §9): "N/S" parsing,
 * a burst of 2N, the refill rate, retry_after rounded up, idle = full. */
#include "protocol/token-bucket.h"
#include "../tap.h"

int
main (void)
{
  dx_rate r;
  OK (dx_rate_parse ("20/1", &r) && r.n == 20 && r.s == 1, "20/1 parses");
  OK (dx_rate_parse ("0/1", &r) && !dx_rate_on (r), "0/1 parses and is off");
  OK (dx_rate_parse ("3/60", &r) && r.n == 3 && r.s == 60, "3/60 parses");
  const char *bad[] = { "",    "20",   "/1",      "20/",       "20/0",         "-1/1", "1/1x",
                        "a/1", "1//1", "1/86401", "1000001/1", "9999999999/1", " 1/1" };
  int wrong = 0;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (dx_rate_parse (bad[i], &r))
      wrong++;
  IS (wrong, 0, "malformed rates are refused");

  dx_rate_parse ("20/1", &r);
  dx_token_bucket b;
  dx_token_bucket_init (&b, r, 1000);
  int taken = 0;
  uint64_t retry = 0;
  while (dx_token_bucket_take (&b, r, 1000, &retry))
    taken++;
  IS (taken, 40, "a full bucket allows a burst of 2N");
  IS ((long long) retry, 50, "then the next one comes in 1000/20 ms");
  OK (!dx_token_bucket_take (&b, r, 1049, &retry) && retry == 1, "1 ms short: retry in 1 ms");
  OK (dx_token_bucket_take (&b, r, 1050, NULL), "after 50 ms one more");
  OK (!dx_token_bucket_full (&b, r, 1050), "not full after a burst");
  OK (dx_token_bucket_full (&b, r, 1050 + 2000), "full again after 2N/N seconds");
  taken = 0;
  for (uint64_t t = 3050; t <= 13050; t += 10)
    taken += dx_token_bucket_take (&b, r, t, NULL);
  IS (taken, 40 + 200, "over 10 s of steady pressure: the burst plus N per second");

  dx_rate_parse ("1/3", &r);
  dx_token_bucket_init (&b, r, 0);
  dx_token_bucket_take (&b, r, 0, NULL);
  dx_token_bucket_take (&b, r, 0, NULL);
  OK (!dx_token_bucket_take (&b, r, 1, &retry) && retry == 2999, "1/3: retry after 2999 ms");
  dx_rate_parse ("7/3", &r);
  dx_token_bucket_init (&b, r, 0);
  for (int i = 0; i < 14; i++)
    dx_token_bucket_take (&b, r, 0, NULL);
  OK (!dx_token_bucket_take (&b, r, 0, &retry) && retry == 429, "7/3: 3000/7 ms rounds up to 429");

  dx_rate_parse ("0/1", &r);
  taken = 0;
  for (int i = 0; i < 1000; i++)
    taken += dx_token_bucket_take (&b, r, 0, NULL);
  IS (taken, 1000, "0/1 never refuses");
  dx_rate_parse ("5/1", &r);
  dx_token_bucket_init (&b, r, 5);
  OK (dx_token_bucket_take (&b, r, 3, NULL), "a clock that steps back does not underflow");
  return tap_done ();
}
