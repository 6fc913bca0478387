#include "server/presence.h"

#include "server/strmap.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  uint64_t renewed;
  size_t online;
  dx_strmap nicks; /* nick -> (void *) 1 */
} pr_node;

typedef struct {
  dx_strmap nodes; /* node -> pr_node */
} pr_room;

struct dx_presence {
  uint64_t ttl_ms;
  dx_presence_fn notify;
  void *arg;
  dx_strmap rooms; /* room -> pr_room */
};

static void
node_free (void *v)
{
  pr_node *n = v;
  dx_strmap_clear (&n->nicks, NULL);
  free (n);
}

static void
room_free (void *v)
{
  pr_room *r = v;
  dx_strmap_clear (&r->nodes, node_free);
  free (r);
}

dx_presence *
dx_presence_new (uint64_t ttl_ms, dx_presence_fn notify, void *arg)
{
  dx_presence *p = calloc (1, sizeof *p);
  if (p) {
    p->ttl_ms = ttl_ms;
    p->notify = notify;
    p->arg = arg;
  }
  return p;
}

void
dx_presence_clear (dx_presence *p)
{
  dx_strmap_clear (&p->rooms, room_free);
}

void
dx_presence_free (dx_presence *p)
{
  if (p == NULL)
    return;
  dx_presence_clear (p);
  free (p);
}

typedef struct {
  const char *nick;
  bool found;
} has_ctx;

static bool
has_visit (void *arg, const char *key, void *value)
{
  has_ctx *h = arg;
  pr_node *n = value;
  (void) key;
  h->found = dx_strmap_get (&n->nicks, h->nick) != NULL;
  return !h->found;
}

bool
dx_presence_has (const dx_presence *p, const char *room, const char *nick)
{
  pr_room *r = dx_strmap_get (&p->rooms, room);
  if (r == NULL)
    return false;
  has_ctx h = { nick, false };
  dx_strmap_each (&r->nodes, has_visit, &h);
  return h.found;
}

static bool
online_visit (void *arg, const char *key, void *value)
{
  (void) key;
  *(size_t *) arg += ((pr_node *) value)->online;
  return true;
}

typedef struct {
  bool (*visit) (void *arg, const char *room);
  void *arg;
} each_ctx;

static bool
each_visit (void *arg, const char *key, void *value)
{
  each_ctx *ec = arg;
  (void) value;
  return ec->visit (ec->arg, key);
}

void
dx_presence_each_room (const dx_presence *p, bool (*visit) (void *arg, const char *room), void *arg)
{
  each_ctx ec = { visit, arg };
  dx_strmap_each (&p->rooms, each_visit, &ec);
}

size_t
dx_presence_online (const dx_presence *p, const char *room)
{
  pr_room *r = dx_strmap_get (&p->rooms, room);
  size_t n = 0;
  if (r)
    dx_strmap_each (&r->nodes, online_visit, &n);
  return n;
}

/* node's entry for room, created when create. */
static pr_node *
node_get (dx_presence *p, const char *node, const char *room, bool create)
{
  pr_room *r = dx_strmap_get (&p->rooms, room);
  if (r == NULL) {
    if (!create || (r = calloc (1, sizeof *r)) == NULL)
      return NULL;
    if (!dx_strmap_put (&p->rooms, room, r, NULL)) {
      free (r);
      return NULL;
    }
  }
  pr_node *n = dx_strmap_get (&r->nodes, node);
  if (n == NULL && create && (n = calloc (1, sizeof *n)) != NULL
      && !dx_strmap_put (&r->nodes, node, n, NULL)) {
    free (n);
    n = NULL;
  }
  return n;
}

/* Drops node's entry for room (and the room once no node is left). */
static void
node_drop (dx_presence *p, const char *node, const char *room)
{
  pr_room *r = dx_strmap_get (&p->rooms, room);
  if (r == NULL)
    return;
  pr_node *n = dx_strmap_remove (&r->nodes, node);
  if (n)
    node_free (n);
  if (r->nodes.count == 0)
    room_free (dx_strmap_remove (&p->rooms, room));
}

static void
nick_add (dx_presence *p, pr_node *n, const char *room, const char *nick)
{
  if (dx_strmap_get (&n->nicks, nick))
    return;
  bool before = dx_presence_has (p, room, nick);
  if (dx_strmap_put (&n->nicks, nick, (void *) 1, NULL) && !before)
    p->notify (p->arg, room, nick, true);
}

/* Removes nick from n; tells if it is now on no remote node. n stays. */
static void
nick_remove (dx_presence *p, pr_node *n, const char *room, const char *nick)
{
  if (dx_strmap_remove (&n->nicks, nick) && !dx_presence_has (p, room, nick))
    p->notify (p->arg, room, nick, false);
}

void
dx_presence_update (dx_presence *p, const char *node, const char *room, const char *nick,
                    bool joined, size_t online, uint64_t now)
{
  pr_node *n = node_get (p, node, room, true);
  if (n == NULL)
    return;
  n->renewed = now;
  n->online = online;
  if (joined)
    nick_add (p, n, room, nick);
  else
    nick_remove (p, n, room, nick);
}

typedef struct {
  char **v;
  size_t n, cap;
} name_list;

static bool
list_visit (void *arg, const char *key, void *value)
{
  name_list *l = arg;
  (void) value;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    char **v = realloc (l->v, cap * sizeof *v);
    if (v == NULL)
      return false;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n] = strdup (key);
  if (l->v[l->n] == NULL)
    return false;
  l->n++;
  return true;
}

static void
list_free (name_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    free (l->v[i]);
  free (l->v);
}

/* Removes every nick of n that keep does not hold (keep NULL: all). */
static void
nicks_retain (dx_presence *p, pr_node *n, const char *room, const dx_strmap *keep)
{
  name_list l = { NULL, 0, 0 };
  dx_strmap_each (&n->nicks, list_visit, &l);
  for (size_t i = 0; i < l.n; i++)
    if (keep == NULL || dx_strmap_get (keep, l.v[i]) == NULL)
      nick_remove (p, n, room, l.v[i]);
  list_free (&l);
}

void
dx_presence_sync (dx_presence *p, const char *node, const char *room, const char *const *nicks,
                  size_t count, size_t online, uint64_t now)
{
  pr_node *n = node_get (p, node, room, count > 0 || online > 0);
  if (n == NULL)
    return;
  dx_strmap keep = { 0 };
  for (size_t i = 0; i < count; i++)
    dx_strmap_put (&keep, nicks[i], (void *) 1, NULL);
  nicks_retain (p, n, room, &keep);
  for (size_t i = 0; i < count; i++)
    nick_add (p, n, room, nicks[i]);
  dx_strmap_clear (&keep, NULL);
  n->renewed = now;
  n->online = online;
  if (count == 0 && online == 0)
    node_drop (p, node, room);
}

typedef struct {
  dx_presence *p;
  uint64_t now;
  name_list rooms, nodes; /* pairs: rooms.v[i] / nodes.v[i] expired */
} expire_ctx;

typedef struct {
  expire_ctx *ec;
  const char *room;
} expire_room_ctx;

static bool
expire_node_visit (void *arg, const char *key, void *value)
{
  expire_room_ctx *rc = arg;
  pr_node *n = value;
  if (rc->ec->now - n->renewed < rc->ec->p->ttl_ms || n->renewed > rc->ec->now)
    return true;
  return list_visit (&rc->ec->rooms, rc->room, NULL) && list_visit (&rc->ec->nodes, key, NULL);
}

static bool
expire_room_visit (void *arg, const char *key, void *value)
{
  expire_room_ctx rc = { arg, key };
  return dx_strmap_each (&((pr_room *) value)->nodes, expire_node_visit, &rc);
}

void
dx_presence_expire (dx_presence *p, uint64_t now)
{
  expire_ctx ec = { p, now, { NULL, 0, 0 }, { NULL, 0, 0 } };
  dx_strmap_each (&p->rooms, expire_room_visit, &ec);
  /* Collected first: telling may not change the maps being walked. */
  for (size_t i = 0; i < ec.rooms.n && i < ec.nodes.n; i++) {
    pr_node *n = node_get (p, ec.nodes.v[i], ec.rooms.v[i], false);
    if (n) {
      nicks_retain (p, n, ec.rooms.v[i], NULL);
      node_drop (p, ec.nodes.v[i], ec.rooms.v[i]);
    }
  }
  list_free (&ec.rooms);
  list_free (&ec.nodes);
}
