/* The memory backend: nothing to write, so an append is durable as soon
 * as it is taken. The common store keeps the messages in each room's ring
 * (sized max(ring_size, memory_cap)); all this backend does is hand each
 * append back on a later loop iteration (through the store's dx_async),
 * so callbacks never run from inside dx_store_append, as with sqlite. */
#include "server/store-private.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
  dx_store_pending *head, *tail;
} dx_memory_state;

static int
memory_open (dx_store *store, char *err, size_t errlen)
{
  dx_store_shared *sh = dx_store_shared_of (store);
  dx_memory_state *m = calloc (1, sizeof *m);
  if (!m) {
    snprintf (err, errlen, "store memory: out of memory");
    return DX_ENOMEM;
  }
  sh->backend = m;
  dx_store_make_epoch (sh->epoch); /* a new lifetime at every start */
  return 0;
}

static void
memory_submit (dx_store *store, dx_store_pending *p)
{
  dx_store_shared *sh = dx_store_shared_of (store);
  dx_memory_state *m = sh->backend;
  p->next = NULL;
  p->status = 0;
  if (m->tail) {
    m->tail->next = p;
  } else {
    m->head = p;
    dx_async_send (sh->wake);
  }
  m->tail = p;
}

static dx_store_pending *
memory_collect (dx_store *store)
{
  dx_memory_state *m = dx_store_shared_of (store)->backend;
  dx_store_pending *list = m->head;
  if (list)
    list->batch_first = true; /* one "transaction" per wake-up */
  m->head = m->tail = NULL;
  return list;
}

static void
memory_drain (dx_store *store)
{
  (void) store; /* every submitted append is already settled */
}

static void
memory_close (dx_store *store)
{
  dx_store_shared *sh = dx_store_shared_of (store);
  free (sh->backend);
  sh->backend = NULL;
}

const dx_store_backend dx_store_memory_backend = {
  .name = "memory",
  .open = memory_open,
  .submit = memory_submit,
  .collect = memory_collect,
  .drain = memory_drain,
  .close = memory_close,
};
