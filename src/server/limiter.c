#include "server/limiter.h"

#include <stdlib.h>
#include <string.h>

void
dx_limiter_init (dx_limiter *l, dx_rate send_rate)
{
  *l = (dx_limiter){ .send_rate = send_rate };
}

void
dx_limiter_free (dx_limiter *l)
{
  dx_strmap_clear (&l->send_buckets, free);
}

typedef struct {
  dx_rate rate;
  uint64_t now_ms;
  char **keys; /* copies: the map must not change during a walk */
  size_t n, cap;
} sweep_ctx;

static bool
collect_idle (void *arg, const char *key, void *value)
{
  sweep_ctx *sc = arg;
  if (!dx_token_bucket_full (value, sc->rate, sc->now_ms))
    return true;
  if (sc->n == sc->cap) {
    size_t cap = sc->cap ? sc->cap * 2 : 64;
    char **k = realloc (sc->keys, cap * sizeof *k);
    if (k == NULL)
      return false;
    sc->keys = k;
    sc->cap = cap;
  }
  sc->keys[sc->n] = strdup (key);
  if (sc->keys[sc->n] == NULL)
    return false;
  sc->n++;
  return true;
}

/* Drops the buckets that have refilled: they are what a new one would be.
 * Out of memory just leaves some for the next sweep. */
static void
sweep (dx_limiter *l, uint64_t now_ms)
{
  l->last_sweep_ms = now_ms;
  sweep_ctx sc = { .rate = l->send_rate, .now_ms = now_ms };
  dx_strmap_each (&l->send_buckets, collect_idle, &sc);
  for (size_t i = 0; i < sc.n; i++) {
    free (dx_strmap_remove (&l->send_buckets, sc.keys[i]));
    free (sc.keys[i]);
  }
  free (sc.keys);
}

bool
dx_limiter_take_send (dx_limiter *l, const char *token, uint64_t now_ms, uint64_t *retry_ms)
{
  if (!dx_rate_on (l->send_rate) || token == NULL)
    return true;
  if (now_ms - l->last_sweep_ms >= DX_LIMITER_SWEEP_MS)
    sweep (l, now_ms);
  dx_token_bucket *b = dx_strmap_get (&l->send_buckets, token);
  if (b == NULL) {
    b = malloc (sizeof *b);
    if (b == NULL)
      return true;
    dx_token_bucket_init (b, l->send_rate, now_ms);
    if (!dx_strmap_put (&l->send_buckets, token, b, NULL)) {
      free (b);
      return true;
    }
  }
  if (dx_token_bucket_take (b, l->send_rate, now_ms, retry_ms))
    return true;
  l->refused_sends++;
  return false;
}

void
dx_limiter_render_metrics (const dx_limiter *l, dx_buffer *out)
{
  dx_buffer_printf (out,
                    "# HELP duplex_limit_refused_total Requests refused by a limit "
                    "(docs/protocol.md 9).\n"
                    "# TYPE duplex_limit_refused_total counter\n"
                    "duplex_limit_refused_total{limit=\"send_rate\"} %llu\n",
                    (unsigned long long) l->refused_sends);
}
