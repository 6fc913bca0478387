#include "server/dedup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
dx_dedup_add (dx_dedup_window *w, const char *cid, uint64_t id, uint64_t ts)
{
  if (w->count == w->cap && w->cap < DX_STORE_DEDUP_WINDOW) {
    /* Grow (only while not yet full, so head is 0: the ring has not
       * wrapped). */
    size_t ncap = w->cap ? w->cap * 4 : 8;
    if (ncap > DX_STORE_DEDUP_WINDOW)
      ncap = DX_STORE_DEDUP_WINDOW;
    dx_dedup_entry *ne = realloc (w->e, ncap * sizeof *ne);
    if (ne == NULL)
      return false;
    w->e = ne;
    w->cap = ncap;
  }
  dx_dedup_entry *d;
  if (w->count == w->cap) { /* full window: forget the oldest */
    d = &w->e[w->head];
    w->head = (w->head + 1) % w->cap;
  } else {
    d = &w->e[(w->head + w->count) % w->cap];
    w->count++;
  }
  d->hash = dx_str_hash (cid);
  if (id > w->newest_id)
    w->newest_id = id;
  d->id = id;
  d->ts = ts;
  snprintf (d->cid, sizeof d->cid, "%s", cid);
  return true;
}

const dx_dedup_entry *
dx_dedup_find (const dx_dedup_window *w, const char *cid)
{
  uint32_t h = dx_str_hash (cid);
  for (size_t i = 0; i < w->count; i++) {
    const dx_dedup_entry *d = &w->e[(w->head + i) % w->cap];
    if (d->hash == h && strcmp (d->cid, cid) == 0)
      return d;
  }
  return NULL;
}

void
dx_dedup_window_free (void *v)
{
  dx_dedup_window *w = v;
  free (w->e);
  free (w);
}

typedef struct {
  uint64_t durable_id;
  const char *victim;
  uint64_t oldest;
} evict_ctx;

static bool
evict_visit (void *arg, const char *key, void *value)
{
  evict_ctx *ec = arg;
  const dx_dedup_window *w = value;
  /* A window with a message in flight must stay: its repeats wait on it. */
  if (w->newest_id <= ec->durable_id && w->used < ec->oldest) {
    ec->oldest = w->used;
    ec->victim = key;
  }
  return true;
}

bool
dx_dedup_evict_lru (dx_strmap *windows, uint64_t durable_id)
{
  evict_ctx ec = { durable_id, NULL, UINT64_MAX };
  dx_strmap_each (windows, evict_visit, &ec);
  if (ec.victim == NULL)
    return false;
  dx_dedup_window_free (dx_strmap_remove (windows, ec.victim));
  return true;
}
