#include "server/msg-ring.h"

#include <stdlib.h>

bool
dx_msg_ring_init (dx_msg_ring *r, size_t max)
{
  r->max = max;
  r->cap = max < 16 ? max : 16;
  r->head = r->count = 0;
  r->slots = calloc (r->cap, sizeof *r->slots);
  return r->slots != NULL;
}

void
dx_msg_ring_free (dx_msg_ring *r)
{
  for (size_t i = 0; i < r->count; i++)
    dx_store_entry_free (r->slots[(r->head + i) % r->cap]);
  free (r->slots);
  r->slots = NULL;
  r->count = 0;
}

/* Doubles the ring (up to max), unwrapping it. False if it cannot grow. */
static bool
grow (dx_msg_ring *r)
{
  if (r->cap >= r->max)
    return false;
  size_t ncap = r->cap * 2 < r->max ? r->cap * 2 : r->max;
  dx_store_entry **n = malloc (ncap * sizeof *n);
  if (n == NULL)
    return false; /* keep the smaller ring: older messages are forgotten sooner */
  for (size_t i = 0; i < r->count; i++)
    n[i] = r->slots[(r->head + i) % r->cap];
  free (r->slots);
  r->slots = n;
  r->cap = ncap;
  r->head = 0;
  return true;
}

void
dx_msg_ring_push (dx_msg_ring *r, dx_store_entry *e)
{
  if (r->count == r->cap && !grow (r)) {
    dx_store_entry_free (r->slots[r->head]);
    r->head = (r->head + 1) % r->cap;
    r->count--;
  }
  r->slots[(r->head + r->count) % r->cap] = e;
  r->count++;
}

uint64_t
dx_msg_ring_first_id (const dx_msg_ring *r)
{
  return r->count ? r->slots[r->head]->id : 0;
}

const dx_store_entry *
dx_msg_ring_get (const dx_msg_ring *r, uint64_t id)
{
  uint64_t first = dx_msg_ring_first_id (r);
  if (r->count == 0 || id < first || id - first >= r->count)
    return NULL;
  return r->slots[(r->head + (id - first)) % r->cap];
}
