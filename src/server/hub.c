#include "server/hub.h"

#include "server/log.h"
#include "server/strmap.h"

#include <stdlib.h>
#include <string.h>

typedef struct pending_presence {
  struct pending_presence *next;
  char room[DX_ROOM_MAX + 1];
  char nick[DX_NICK_MAX + 1];
  bool joined;
  const dx_sub *except; /* the joiner itself does not get its own join */
} pending_presence;

struct dx_hub {
  dx_strmap rooms; /* name -> dx_room */
  unsigned depth;  /* > 0 while delivering */
  pending_presence *pending, **pending_tail;
  const dx_hub_presence_hook *hook;
  dx_backlog *backlog;
};

void
dx_hub_set_presence_hook (dx_hub *hub, const dx_hub_presence_hook *hook)
{
  hub->hook = hook;
}

dx_hub *
dx_hub_new (void)
{
  dx_hub *hub = calloc (1, sizeof *hub);
  if (hub) {
    hub->pending_tail = &hub->pending;
    hub->backlog = dx_backlog_new ();
  }
  return hub;
}

void
dx_hub_free (dx_hub *hub)
{
  if (hub == NULL)
    return;
  dx_strmap_clear (&hub->rooms, free);
  while (hub->pending) {
    pending_presence *p = hub->pending;
    hub->pending = p->next;
    free (p);
  }
  dx_backlog_free (hub->backlog);
  free (hub);
}

dx_room *
dx_hub_find (dx_hub *hub, const char *name)
{
  return dx_strmap_get (&hub->rooms, name);
}

/* The live room of this name, created (valid names only) if nobody was
 * subscribed to it. */
static dx_room *
hub_room_get_or_create (dx_hub *hub, const char *name)
{
  dx_room *r = dx_hub_find (hub, name);
  if (r)
    return r;
  size_t len = strlen (name);
  if (!dx_room_valid (name, len))
    return NULL;
  r = calloc (1, sizeof *r);
  if (r == NULL)
    return NULL;
  memcpy (r->name, name, len + 1);
  if (!dx_strmap_put (&hub->rooms, r->name, r, NULL)) {
    free (r);
    return NULL;
  }
  if (hub->hook && hub->hook->room_active)
    hub->hook->room_active (hub->hook->arg, r->name, true);
  return r;
}

static void
room_drop_if_empty (dx_hub *hub, dx_room *room)
{
  if (room->subs != NULL || hub->depth > 0)
    return;
  dx_strmap_remove (&hub->rooms, room->name);
  if (hub->hook && hub->hook->room_active)
    hub->hook->room_active (hub->hook->arg, room->name, false);
  free (room);
}

static void
deliver_presence (dx_hub *hub, pending_presence *p)
{
  dx_room *room = dx_hub_find (hub, p->room);
  if (room == NULL)
    return;
  dx_shared_event *ev = dx_shared_event_presence (p->room, p->nick, p->joined);
  if (ev == NULL)
    return;
  hub->depth++;
  for (dx_sub *s = room->subs, *next; s; s = next) {
    next = s->next;
    if (s != p->except && s->ops->presence)
      s->ops->presence (s, ev);
  }
  hub->depth--;
  dx_shared_event_unref (ev);
  room_drop_if_empty (hub, room);
}

static void
flush_presence (dx_hub *hub)
{
  if (hub->depth > 0)
    return;
  while (hub->pending) {
    pending_presence *p = hub->pending;
    hub->pending = p->next;
    if (hub->pending == NULL)
      hub->pending_tail = &hub->pending;
    deliver_presence (hub, p);
    free (p);
  }
}

static void
queue_presence (dx_hub *hub, const dx_room *room, const char *nick, bool joined,
                const dx_sub *except)
{
  pending_presence *p = calloc (1, sizeof *p);
  if (p == NULL)
    return;
  strcpy (p->room, room->name);
  strcpy (p->nick, nick);
  p->joined = joined;
  p->except = except;
  *hub->pending_tail = p;
  hub->pending_tail = &p->next;
}

bool
dx_hub_subscribe (dx_hub *hub, dx_sub *sub, const char *name)
{
  dx_room *room = hub_room_get_or_create (hub, name);
  if (room == NULL)
    return false;
  bool announce = sub->kind == DX_SUB_SOCKET && dx_room_nick_count (room, sub->nick) == 0;
  sub->room = room;
  sub->prev = NULL;
  sub->next = room->subs;
  if (room->subs)
    room->subs->prev = sub;
  room->subs = sub;
  room->n_subs++;
  if (sub->kind != DX_SUB_LONGPOLL)
    room->online++;
  if (announce && hub->hook)
    hub->hook->changed (hub->hook->arg, room->name, sub->nick, true, room->online);
  /* A nick already in the room on another node is no news. */
  if (announce && !(hub->hook && hub->hook->elsewhere (hub->hook->arg, room->name, sub->nick))) {
    queue_presence (hub, room, sub->nick, true, sub);
    flush_presence (hub);
  }
  return true;
}

void
dx_hub_unsubscribe (dx_hub *hub, dx_sub *sub)
{
  dx_room *room = sub->room;
  if (room == NULL)
    return;
  if (sub->prev)
    sub->prev->next = sub->next;
  else
    room->subs = sub->next;
  if (sub->next)
    sub->next->prev = sub->prev;
  room->n_subs--;
  if (sub->kind != DX_SUB_LONGPOLL)
    room->online--;
  sub->room = NULL;
  /* next is kept: a fan-out that is delivering to sub continues from it. */
  sub->prev = NULL;
  if (sub->kind == DX_SUB_SOCKET && dx_room_nick_count (room, sub->nick) == 0) {
    if (hub->hook)
      hub->hook->changed (hub->hook->arg, room->name, sub->nick, false, room->online);
    if (!(hub->hook && hub->hook->elsewhere (hub->hook->arg, room->name, sub->nick)))
      queue_presence (hub, room, sub->nick, false, NULL);
  }
  room_drop_if_empty (hub, room);
  flush_presence (hub);
}

dx_backlog *
dx_hub_backlog (dx_hub *hub)
{
  return hub->backlog;
}

void
dx_hub_publish (dx_hub *hub, const dx_stored_msg *msg)
{
  dx_hub_publish_accepted (hub, msg, dx_monotonic_us ());
}

void
dx_hub_publish_accepted (dx_hub *hub, const dx_stored_msg *msg, uint64_t accepted_us)
{
  dx_room *room = dx_hub_find (hub, msg->room);
  if (room == NULL)
    return;
  dx_shared_event *enc = dx_shared_event_message (msg);
  if (enc == NULL) {
    dx_log_error ("cannot encode message %s/%llu", msg->room, (unsigned long long) msg->id);
    return;
  }
  /* Untracked when out of memory: the message still goes out. */
  dx_delivery *d = dx_delivery_begin (hub->backlog, msg->room, accepted_us);
  if (d)
    dx_shared_event_track (enc, d);
  hub->depth++;
  for (dx_sub *s = room->subs, *next; s; s = next) {
    next = s->next;
    s->ops->message (s, enc);
  }
  hub->depth--;
  if (d)
    dx_delivery_fanned_out (d);
  dx_shared_event_unref (enc);
  room_drop_if_empty (hub, room);
  flush_presence (hub);
}

static bool
collect_room (void *arg, const char *name, void *value)
{
  dx_room ***slot = arg;
  (void) name;
  *(*slot)++ = value;
  return true;
}

void
dx_hub_epoch_changed (dx_hub *hub)
{
  size_t n = hub->rooms.count;
  dx_room **rooms = n ? malloc (n * sizeof *rooms) : NULL;
  if (rooms == NULL)
    return;
  dx_room **slot = rooms;
  dx_strmap_each (&hub->rooms, collect_room, &slot);
  /* Rooms are not dropped while depth > 0: every pointer stays valid. */
  hub->depth++;
  for (size_t i = 0; i < n; i++)
    for (dx_sub *s = rooms[i]->subs, *next; s; s = next) {
      next = s->next;
      if (s->ops->epoch)
        s->ops->epoch (s);
    }
  hub->depth--;
  for (size_t i = 0; i < n; i++)
    room_drop_if_empty (hub, rooms[i]);
  free (rooms);
  flush_presence (hub);
}

size_t
dx_hub_online (dx_hub *hub, const char *name)
{
  dx_room *r = dx_hub_find (hub, name);
  size_t n = r ? r->online : 0;
  if (hub->hook)
    n += hub->hook->online_elsewhere (hub->hook->arg, name);
  return n;
}

void
dx_hub_each_room_elsewhere (dx_hub *hub, bool (*visit) (void *arg, const char *room), void *arg)
{
  if (hub->hook)
    hub->hook->each_room_elsewhere (hub->hook->arg, visit, arg);
}

void
dx_hub_presence (dx_hub *hub, const char *name, const char *nick, bool joined)
{
  dx_room *room = dx_hub_find (hub, name);
  if (room == NULL || dx_room_nick_count (room, nick) > 0)
    return; /* nobody here to tell, or the nick is here anyway */
  queue_presence (hub, room, nick, joined, NULL);
  flush_presence (hub);
}

typedef struct {
  dx_hub_room_fn visit;
  void *arg;
} each_room_ctx;

static bool
each_room_visit (void *arg, const char *name, void *value)
{
  each_room_ctx *ec = arg;
  (void) name;
  return ec->visit (ec->arg, value);
}

void
dx_hub_each_room (dx_hub *hub, dx_hub_room_fn visit, void *arg)
{
  each_room_ctx ec = { visit, arg };
  dx_strmap_each (&hub->rooms, each_room_visit, &ec);
}
