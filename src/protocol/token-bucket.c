#include "protocol/token-bucket.h"

#include <stddef.h>

bool
dx_rate_parse (const char *text, dx_rate *out)
{
  uint64_t v[2] = { 0, 0 };
  int part = 0;
  size_t digits = 0;
  for (const char *p = text;; p++) {
    if (*p >= '0' && *p <= '9') {
      v[part] = v[part] * 10 + (uint64_t) (*p - '0');
      if (++digits > 9)
        return false;
    } else if (*p == '/' && part == 0 && digits > 0) {
      part = 1;
      digits = 0;
    } else if (*p == '\0' && part == 1 && digits > 0) {
      break;
    } else {
      return false;
    }
  }
  if (v[0] > 1000000 || v[1] < 1 || v[1] > 86400)
    return false;
  out->n = (uint32_t) v[0];
  out->s = (uint32_t) v[1];
  return true;
}

static uint64_t
cost (dx_rate r)
{
  return (uint64_t) r.s * 1000u;
}

static uint64_t
capacity (dx_rate r)
{
  return 2u * (uint64_t) r.n * cost (r);
}

void
dx_token_bucket_init (dx_token_bucket *b, dx_rate r, uint64_t now_ms)
{
  b->level = capacity (r);
  b->last_ms = now_ms;
}

static void
refill (dx_token_bucket *b, dx_rate r, uint64_t now_ms)
{
  if (now_ms <= b->last_ms)
    return;
  uint64_t cap = capacity (r);
  uint64_t dt = now_ms - b->last_ms;
  /* dt * N can only overflow after ages; a bucket idle that long is full. */
  if (dt >= cap / (r.n ? r.n : 1) + 1)
    b->level = cap;
  else {
    b->level += dt * r.n;
    if (b->level > cap)
      b->level = cap;
  }
  b->last_ms = now_ms;
}

bool
dx_token_bucket_take (dx_token_bucket *b, dx_rate r, uint64_t now_ms, uint64_t *retry_ms)
{
  if (!dx_rate_on (r))
    return true;
  refill (b, r, now_ms);
  if (b->level >= cost (r)) {
    b->level -= cost (r);
    return true;
  }
  if (retry_ms) {
    uint64_t missing = cost (r) - b->level;
    uint64_t ms = (missing + r.n - 1) / r.n;
    *retry_ms = ms ? ms : 1;
  }
  return false;
}

bool
dx_token_bucket_full (const dx_token_bucket *b, dx_rate r, uint64_t now_ms)
{
  if (!dx_rate_on (r))
    return true;
  dx_token_bucket t = *b;
  refill (&t, r, now_ms);
  return t.level >= capacity (r);
}
