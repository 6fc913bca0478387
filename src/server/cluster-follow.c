/* Which rooms a node follows (duplexd --redis, docs/protocol.md §7).
 * The node subscribes to the channel of each room it has members in (any
 * kind: sockets, SSE streams, waiting long polls) or a read waiting for its
 * view, and keeps it GRACE_MS after the last one left, so that a client
 * switching transport does not make it churn. Changes are gathered during a
 * loop iteration and sent as one SUBSCRIBE and one UNSUBSCRIBE of many
 * channels. Once a room's subscription is confirmed, one catch-up read
 * brings its view up to Redis's: the view is then current. */
#include "server/cluster-private.h"

#include <stdlib.h>
#include <string.h>

/* A room without local members stays subscribed this long after its last
 * member left (or its last read), so that a client switching transport
 * does not make the node unsubscribe and subscribe again. */
#define GRACE_MS 2000
/* Channels per SUBSCRIBE / UNSUBSCRIBE command. */
#define SUB_BATCH 500
/* A read of a room the node is not following waits this long at most for
 * its view to be current, then is answered from the view. */
#define READ_WAIT_MS 3000

struct chan_batch {
  int n;
  const char *argv[SUB_BATCH + 1];
  size_t lens[SUB_BATCH + 1];
  char ch[SUB_BATCH][DX_ROOM_MAX + 16];
};
typedef struct chan_batch chan_batch;

static bool
room_wanted (const dx_cluster *c, const cl_room *r)
{
  return r->local || r->readers != NULL || dx_loop_now_ms (c->loop) < r->keep_until;
}

static void
keep_a_while (dx_cluster *c, cl_room *r)
{
  uint64_t until = dx_loop_now_ms (c->loop) + GRACE_MS;
  if (r->keep_until < until)
    r->keep_until = until;
}

static void
batch_send (dx_cluster *c, chan_batch *b)
{
  if (b->n == 0)
    return;
  bool sub = b->argv[0][0] == 'S';
  if (dx_redis_command_argv (c->sub, b->n + 1, b->argv, b->lens, NULL, NULL) < 0)
    dx_redis_reset (c->sub, "cannot send a subscription"); /* all again once up */
  else if (sub)
    c->stats.subscribe_commands++;
  else
    c->stats.unsubscribe_commands++;
  b->n = 0;
}

static void
batch_add (dx_cluster *c, chan_batch *b, const cl_room *r)
{
  dx_cluster_room_key (b->ch[b->n], sizeof b->ch[b->n], r->name, "ch");
  b->argv[b->n + 1] = b->ch[b->n];
  b->lens[b->n + 1] = strlen (b->ch[b->n]);
  if (++b->n == SUB_BATCH)
    batch_send (c, b);
}

/* Sends what the queued rooms need: first every SUBSCRIBE, then every
 * UNSUBSCRIBE (pub/sub confirmations come in the order sent, so a room
 * subscribed again after an unsubscribe ends subscribed). */
void
dx_cluster_flush_subscriptions (dx_cluster *c)
{
  chan_batch *b = c->batch;
  cl_room *unsub = NULL;
  b->n = 0;
  b->argv[0] = "SUBSCRIBE";
  b->lens[0] = 9;
  while (c->queue) {
    cl_room *r = c->queue;
    c->queue = r->qnext;
    r->queued = false;
    if (!c->subscribed)
      continue; /* the subscriber connection resubscribes once up */
    bool want = room_wanted (c, r);
    if (want && !r->sub_sent) {
      r->sub_sent = true;
      batch_add (c, b, r);
    } else if (!want && r->sub_sent) {
      r->sub_sent = false;
      r->current = false;
      r->qnext = unsub;
      unsub = r;
    }
  }
  batch_send (c, b);
  b->argv[0] = "UNSUBSCRIBE";
  b->lens[0] = 11;
  for (cl_room *r = unsub; r; r = r->qnext)
    batch_add (c, b, r);
  batch_send (c, b);
}

static void
on_flush (dx_timer *t)
{
  dx_cluster_flush_subscriptions (dx_handle_data (DX_HANDLE (t)));
}

bool
dx_cluster_follow_init (dx_cluster *c)
{
  c->flush_timer = dx_timer_new (c->loop);
  c->batch = malloc (sizeof *c->batch);
  if (c->flush_timer == NULL || c->batch == NULL)
    return false;
  dx_handle_set_data (DX_HANDLE (c->flush_timer), c);
  return true;
}

void
dx_cluster_follow_free (dx_cluster *c)
{
  if (c->flush_timer)
    dx_close (DX_HANDLE (c->flush_timer), NULL);
  free (c->batch);
}

/* The room's subscription may have to change: at the end of this loop
 * iteration, with the other rooms' changes. */
void
dx_cluster_queue_room (dx_cluster *c, cl_room *r)
{
  if (!r->queued) {
    r->queued = true;
    r->qnext = c->queue;
    c->queue = r;
  }
  if (!dx_timer_is_active (c->flush_timer))
    dx_timer_start (c->flush_timer, 0, 0, on_flush);
}

/* The readers of r are answered now (from the view, current or not). */
void
dx_cluster_wake_readers (dx_cluster *c, cl_room *r)
{
  cl_reader *list = r->readers;
  r->readers = NULL;
  if (list)
    keep_a_while (c, r); /* the next read of it is likely soon */
  while (list) {
    cl_reader *rd = list;
    list = rd->next;
    rd->cb (rd->arg);
    free (rd);
  }
}

typedef struct {
  dx_cluster *c;
  uint64_t now;
  bool all;
  cl_room *wake; /* answered after the walk: a reader may add a room */
} follow_visit_ctx;

/* The check: unsubscribes rooms past their grace; answers reads that
 * waited too long (or all of them: the subscriber connection is down). */
static bool
follow_visit (void *arg, const char *name, void *value)
{
  follow_visit_ctx *fc = arg;
  cl_room *r = value;
  (void) name;
  if (r->readers && (fc->all || fc->now - r->readers->since_ms >= READ_WAIT_MS)) {
    r->wnext = fc->wake;
    fc->wake = r;
  }
  if (r->sub_sent && !room_wanted (fc->c, r))
    dx_cluster_queue_room (fc->c, r);
  return true;
}

void
dx_cluster_follow_check (dx_cluster *c, bool all)
{
  follow_visit_ctx fc = { c, dx_loop_now_ms (c->loop), all, NULL };
  dx_strmap_each (&c->rooms, follow_visit, &fc);
  while (fc.wake) {
    cl_room *r = fc.wake;
    fc.wake = r->wnext;
    dx_cluster_wake_readers (c, r);
  }
}

/* The hub's room got its first local member, or lost its last one. */
void
dx_cluster_hook_room_active (void *arg, const char *room, bool active)
{
  dx_cluster *c = arg;
  if (c->closing)
    return;
  cl_room *r = dx_cluster_room_get (c, room);
  if (r == NULL)
    return;
  r->local = active;
  if (!active)
    keep_a_while (c, r); /* the check unsubscribes it after the grace */
  else if (!r->sub_sent)
    dx_cluster_queue_room (c, r);
}

static bool
resubscribe_visit (void *arg, const char *name, void *value)
{
  dx_cluster *c = arg;
  cl_room *r = value;
  (void) name;
  r->sub_sent = r->sub_ok = r->current = false;
  if (room_wanted (c, r))
    dx_cluster_queue_room (c, r);
  return true;
}

void
dx_cluster_resubscribe_all (dx_cluster *c)
{
  c->room_channels = 0;
  dx_strmap_each (&c->rooms, resubscribe_visit, c);
}

/* A "subscribe" / "unsubscribe" confirmation of a room's channel. */
void
dx_cluster_room_confirmed (dx_cluster *c, const char *room, bool subscribed)
{
  cl_room *r = dx_strmap_get (&c->rooms, room);
  if (r == NULL || r->sub_ok == subscribed)
    return;
  r->sub_ok = subscribed;
  if (subscribed)
    c->room_channels++;
  else
    c->room_channels--;
  r->current = false;
  /* From now on its messages arrive: read what was published before. */
  if (subscribed && r->sub_sent)
    dx_cluster_catch_up (c, r);
}

bool
dx_cluster_read_room (dx_cluster *c, const char *room, dx_cluster_read_fn cb, void *arg)
{
  if (!c->ready || !c->subscribed)
    return true; /* Redis unreachable: the view is all there is */
  cl_room *r = dx_cluster_room_get (c, room);
  if (r == NULL)
    return true;
  if (r->current) {
    if (!r->local)
      keep_a_while (c, r);
    return true;
  }
  cl_reader *rd = malloc (sizeof *rd);
  if (rd == NULL)
    return true;
  rd->cb = cb;
  rd->arg = arg;
  rd->since_ms = dx_loop_now_ms (c->loop);
  rd->next = NULL;
  cl_reader **pp = &r->readers; /* oldest first */
  while (*pp)
    pp = &(*pp)->next;
  *pp = rd;
  if (!r->sub_sent)
    dx_cluster_queue_room (c, r);
  return false;
}

void
dx_cluster_read_cancel (dx_cluster *c, const char *room, void *arg)
{
  cl_room *r = dx_strmap_get (&c->rooms, room);
  if (r == NULL)
    return;
  for (cl_reader **pp = &r->readers; *pp; pp = &(*pp)->next) {
    if ((*pp)->arg == arg) {
      cl_reader *rd = *pp;
      *pp = rd->next;
      free (rd);
      return;
    }
  }
}

uint64_t
dx_cluster_room_last_id (dx_cluster *c, const char *room)
{
  uint64_t last = dx_store_last_id (c->cfg.view, room);
  cl_room *r = dx_strmap_get (&c->rooms, room);
  return r && r->remote_last > last ? r->remote_last : last;
}

typedef struct {
  dx_cluster *c;
  dx_store_room_fn visit;
  void *arg;
} rooms_visit_ctx;

static bool
rooms_visit (void *arg, const char *name, void *value)
{
  rooms_visit_ctx *rc = arg;
  (void) value;
  uint64_t last = dx_cluster_room_last_id (rc->c, name);
  return last == 0 || rc->visit (rc->arg, name, last);
}

void
dx_cluster_rooms (dx_cluster *c, dx_store_room_fn visit, void *arg)
{
  rooms_visit_ctx rc = { c, visit, arg };
  dx_strmap_each (&c->rooms, rooms_visit, &rc);
}
