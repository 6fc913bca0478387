/* The history store's read side: messages since an id, in a range, before
 * an id (from the RAM ring, or from the backend for older ones), and the
 * rooms that have messages. */
#include "server/store-private.h"

#include <stdlib.h>
#include <string.h>

static int
visit_ring (const dx_store_room *r, uint64_t from, uint64_t upto, dx_store_visit_fn visit,
            void *arg)
{
  int n = 0;
  for (uint64_t id = from; id <= upto; id++) {
    const dx_store_entry *e = dx_msg_ring_get (&r->ring, id);
    if (!e) /* callers pass ranges inside the ring */
      break;
    dx_stored_msg m = dx_store_entry_msg (e);
    n++;
    if (!visit (arg, &m))
      break;
  }
  return n;
}

/* The room a read of at most *limit messages (clamped here) looks at, or
 * NULL when there is nothing to read. */
static const dx_store_room *
room_to_read (const dx_store *s, const char *room, size_t *limit, dx_store_visit_fn visit)
{
  if (*limit > DX_STORE_READ_MAX)
    *limit = DX_STORE_READ_MAX;
  const dx_store_room *r = dx_store_room_find (s, room);
  return r && visit && *limit > 0 && r->last_id > 0 ? r : NULL;
}

int
dx_store_read_since (dx_store *s, const char *room, uint64_t since, size_t limit,
                     dx_store_visit_fn visit, void *arg)
{
  const dx_store_room *r = room_to_read (s, room, &limit, visit);
  if (!r || r->last_id <= since)
    return 0;
  uint64_t first = dx_store_room_first_kept (r);
  if (since + 1 < first && s->be->read_range)
    return s->be->read_range (s, r->name, since, r->last_id, limit, visit, arg);
  uint64_t from = since + 1 > first ? since + 1 : first;
  if (r->ring.count == 0 || from > r->last_id)
    return 0;
  uint64_t upto = r->last_id - from + 1 > limit ? from + limit - 1 : r->last_id;
  return visit_ring (r, from, upto, visit, arg);
}

typedef struct {
  dx_store_visit_fn visit;
  void *arg;
  uint64_t last;
  bool stopped;
} range_ctx;

static bool
range_visit (void *arg, const dx_stored_msg *msg)
{
  range_ctx *rc = arg;
  /* A message the visitor refused is not counted as visited: a caller that
   * resumes from the returned id will see it again. */
  if (!rc->visit (rc->arg, msg)) {
    rc->stopped = true;
    return false;
  }
  rc->last = msg->id;
  return true;
}

uint64_t
dx_store_read_range (dx_store *s, const char *room, uint64_t since, uint64_t upto,
                     dx_store_visit_fn visit, void *arg)
{
  range_ctx rc = { visit, arg, since, false };
  while (rc.last < upto && !rc.stopped) {
    uint64_t before = rc.last;
    uint64_t left = upto - rc.last;
    int n = dx_store_read_since (s, room, rc.last,
                                 left < DX_STORE_READ_MAX ? (size_t) left : DX_STORE_READ_MAX,
                                 range_visit, &rc);
    if (n <= 0 || rc.last == before)
      break; /* nothing older is kept, or a read error */
  }
  return rc.last;
}

int
dx_store_read_before (dx_store *s, const char *room, uint64_t before, size_t limit,
                      dx_store_visit_fn visit, void *arg)
{
  const dx_store_room *r = room_to_read (s, room, &limit, visit);
  if (!r || before <= 1)
    return 0;
  uint64_t upto = before - 1 < r->last_id ? before - 1 : r->last_id;
  /* Ids are dense (1..last_id), so the range is known without a query. */
  uint64_t lower = upto >= limit ? upto - limit + 1 : 1;
  uint64_t first = dx_store_room_first_kept (r);
  if (lower < first && s->be->read_range)
    return s->be->read_range (s, r->name, lower - 1, upto, limit, visit, arg);
  if (lower < first)
    lower = first;
  if (r->ring.count == 0 || lower > upto)
    return 0;
  return visit_ring (r, lower, upto, visit, arg);
}

static int
room_cmp (const void *a, const void *b)
{
  const dx_store_room *ra = *(dx_store_room *const *) a, *rb = *(dx_store_room *const *) b;
  return strcmp (ra->name, rb->name);
}

typedef struct {
  dx_store_room **v;
  size_t n;
} rooms_ctx;

static bool
rooms_collect (void *arg, const char *name, void *value)
{
  rooms_ctx *rc = arg;
  dx_store_room *r = value;
  (void) name;
  if (r->last_id > 0)
    rc->v[rc->n++] = r;
  return true;
}

int
dx_store_rooms (dx_store *s, dx_store_room_fn visit, void *arg)
{
  if (!visit || s->rooms.count == 0)
    return 0;
  dx_store_room **v = malloc (s->rooms.count * sizeof *v);
  if (!v)
    return DX_ENOMEM;
  rooms_ctx rc = { v, 0 };
  dx_strmap_each (&s->rooms, rooms_collect, &rc);
  size_t n = rc.n;
  qsort (v, n, sizeof *v, room_cmp);
  int count = 0;
  for (size_t i = 0; i < n; i++) {
    count++;
    if (!visit (arg, v[i]->name, v[i]->last_id))
      break;
  }
  free (v);
  return count;
}
