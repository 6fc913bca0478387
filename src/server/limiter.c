#include "server/limiter.h"

#include <stdlib.h>
#include <string.h>

void
dx_limiter_init (dx_limiter *l, dx_rate send_rate, dx_rate session_rate)
{
  *l = (dx_limiter){ .sends = { .rate = send_rate }, .sessions = { .rate = session_rate } };
}

void
dx_limiter_free (dx_limiter *l)
{
  dx_strmap_clear (&l->sends.buckets, free);
  dx_strmap_clear (&l->sessions.buckets, free);
  dx_strmap_clear (&l->conns, NULL);
}

bool
dx_limiter_trusted (const dx_limiter *l, const char *ip)
{
  dx_ip a;
  if (l->n_trusted == 0 || !dx_ip_parse (ip, strlen (ip), &a))
    return false;
  for (size_t i = 0; i < l->n_trusted; i++)
    if (dx_cidr_match (&l->trusted[i], &a))
      return true;
  return false;
}

bool
dx_limiter_conn_cap_on (const dx_limiter *l)
{
  return l->max_conns_per_ip > 0;
}

bool
dx_limiter_conn_open (dx_limiter *l, const char *ip)
{
  uintptr_t n = (uintptr_t) dx_strmap_get (&l->conns, ip);
  if (n >= l->max_conns_per_ip) {
    l->refused_conns++;
    return false;
  }
  /* Out of memory: let it in uncounted rather than refuse a client (its
   * close then finds nothing to take away). */
  dx_strmap_put (&l->conns, ip, (void *) (n + 1), NULL);
  return true;
}

void
dx_limiter_conn_closed (dx_limiter *l, const char *ip)
{
  uintptr_t n = (uintptr_t) dx_strmap_get (&l->conns, ip);
  if (n <= 1)
    dx_strmap_remove (&l->conns, ip);
  else
    dx_strmap_put (&l->conns, ip, (void *) (n - 1), NULL);
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
sweep (dx_bucket_table *t, uint64_t now_ms)
{
  t->last_sweep_ms = now_ms;
  sweep_ctx sc = { .rate = t->rate, .now_ms = now_ms };
  dx_strmap_each (&t->buckets, collect_idle, &sc);
  for (size_t i = 0; i < sc.n; i++) {
    free (dx_strmap_remove (&t->buckets, sc.keys[i]));
    free (sc.keys[i]);
  }
  free (sc.keys);
}

static bool
take (dx_bucket_table *t, const char *key, uint64_t now_ms, uint64_t *retry_ms)
{
  if (!dx_rate_on (t->rate) || key == NULL)
    return true;
  if (now_ms - t->last_sweep_ms >= DX_LIMITER_SWEEP_MS)
    sweep (t, now_ms);
  dx_token_bucket *b = dx_strmap_get (&t->buckets, key);
  if (b == NULL) {
    b = malloc (sizeof *b);
    if (b == NULL)
      return true;
    dx_token_bucket_init (b, t->rate, now_ms);
    if (!dx_strmap_put (&t->buckets, key, b, NULL)) {
      free (b);
      return true;
    }
  }
  if (dx_token_bucket_take (b, t->rate, now_ms, retry_ms))
    return true;
  t->refused++;
  return false;
}

bool
dx_limiter_take_send (dx_limiter *l, const char *token, uint64_t now_ms, uint64_t *retry_ms)
{
  return take (&l->sends, token, now_ms, retry_ms);
}

bool
dx_limiter_take_session (dx_limiter *l, const char *ip, uint64_t now_ms, uint64_t *retry_ms)
{
  return take (&l->sessions, ip, now_ms, retry_ms);
}

bool
dx_limiter_peer_ip (const dx_stream *stream, char *buf, size_t len)
{
  char name[80];
  if (stream == NULL || dx_stream_peer_name (stream, name, sizeof name) < 0)
    return false;
  /* "IP:PORT" or "[IP]:PORT" */
  const char *start = name, *end = strrchr (name, ':');
  if (name[0] == '[') {
    start = name + 1;
    end = strchr (name, ']');
  }
  if (end == NULL || (size_t) (end - start) >= len)
    return false;
  memcpy (buf, start, (size_t) (end - start));
  buf[end - start] = '\0';
  return true;
}

void
dx_limiter_render_metrics (const dx_limiter *l, dx_buffer *out)
{
  dx_buffer_printf (out,
                    "# HELP duplex_limit_refused_total Requests refused by a limit "
                    "(docs/protocol.md 9).\n"
                    "# TYPE duplex_limit_refused_total counter\n"
                    "duplex_limit_refused_total{limit=\"send_rate\"} %llu\n"
                    "duplex_limit_refused_total{limit=\"session_rate\"} %llu\n"
                    "duplex_limit_refused_total{limit=\"max_conns_per_ip\"} %llu\n",
                    (unsigned long long) l->sends.refused, (unsigned long long) l->sessions.refused,
                    (unsigned long long) l->refused_conns);
}
