/* Presence across nodes (duplexd --redis, docs/protocol.md §7).
 * On CH_PRESENCE, which every node follows (a node lists and counts the
 * rooms it has no members in too):
 *   "P\nNODE\nROOM\nNICK\nJ|L\nONLINE"   NODE's first member with NICK
 *                                         joined (J) or its last one left (L)
 *   "H\nNODE\nROOM\nONLINE\nNICK NICK..." NODE's whole state of the room,
 *                                         every HEARTBEAT_MS */
#include "server/cluster-private.h"

#include "protocol/buffer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
publish_presence (dx_cluster *c, const char *payload, size_t len)
{
  const char *argv[] = { "PUBLISH", CH_PRESENCE, payload };
  size_t lens[] = { 7, sizeof CH_PRESENCE - 1, len };
  if (c->ready)
    dx_redis_command_argv (c->cmd, 3, argv, lens, NULL, NULL);
}

static void
hook_changed (void *arg, const char *room, const char *nick, bool joined, size_t online)
{
  dx_cluster *c = arg;
  char payload[256];
  int n = snprintf (payload, sizeof payload, "P\n%s\n%s\n%s\n%c\n%zu", c->node_id, room, nick,
                    joined ? 'J' : 'L', online);
  if (n > 0 && (size_t) n < sizeof payload)
    publish_presence (c, payload, (size_t) n);
}

static bool
hook_elsewhere (void *arg, const char *room, const char *nick)
{
  dx_cluster *c = arg;
  return dx_presence_has (c->presence, room, nick);
}

static size_t
hook_online_elsewhere (void *arg, const char *room)
{
  dx_cluster *c = arg;
  return dx_presence_online (c->presence, room);
}

static void
hook_each_room_elsewhere (void *arg, bool (*visit) (void *varg, const char *room), void *varg)
{
  dx_cluster *c = arg;
  dx_presence_each_room (c->presence, visit, varg);
}

/* Another node changed what the local members see. */
void
dx_cluster_on_remote_presence (void *arg, const char *room, const char *nick, bool joined)
{
  dx_cluster *c = arg;
  if (!c->closing)
    dx_hub_presence (c->cfg.hub, room, nick, joined);
}

typedef struct {
  dx_cluster *c;
  dx_buffer b;
} beat_ctx;

static bool
heartbeat_room (void *arg, const dx_room *room)
{
  beat_ctx *bc = arg;
  if (room->online == 0)
    return true;
  dx_buffer_reset (&bc->b);
  dx_buffer_printf (&bc->b, "H\n%s\n%s\n%zu\n", bc->c->node_id, room->name, room->online);
  bool first = true;
  for (const dx_sub *s = room->subs; s; s = s->next) {
    if (s->kind != DX_SUB_SOCKET)
      continue;
    bool dup = false; /* nicks once: the list is short, a scan will do */
    for (const dx_sub *t = room->subs; t != s && !dup; t = t->next)
      dup = t->kind == DX_SUB_SOCKET && strcmp (t->nick, s->nick) == 0;
    if (dup)
      continue;
    dx_buffer_printf (&bc->b, first ? "%s" : " %s", s->nick);
    first = false;
  }
  if (!bc->b.failed)
    publish_presence (bc->c, bc->b.data, bc->b.len);
  return true;
}

void
dx_cluster_heartbeat (dx_cluster *c)
{
  beat_ctx bc = { c, { 0 } };
  dx_buffer_init (&bc.b, 0);
  dx_hub_each_room (c->cfg.hub, heartbeat_room, &bc);
  dx_buffer_free (&bc.b);
}

/* Splits s (len bytes) at '\n' into at most max fields; the last one takes
 * the rest. Returns the count. */
static size_t
split_lines (const char *s, size_t len, const char **f, size_t *flen, size_t max)
{
  size_t n = 0;
  const char *end = s + len;
  while (n + 1 < max) {
    const char *nl = memchr (s, '\n', (size_t) (end - s));
    if (nl == NULL)
      break;
    f[n] = s;
    flen[n++] = (size_t) (nl - s);
    s = nl + 1;
  }
  f[n] = s;
  flen[n++] = (size_t) (end - s);
  return n;
}

static bool
copy_field (char *out, size_t cap, const char *s, size_t len)
{
  if (len == 0 || len >= cap)
    return false;
  memcpy (out, s, len);
  out[len] = '\0';
  return true;
}

/* A presence payload (see above); ignored if malformed or this node's. */
void
dx_cluster_presence_payload (dx_cluster *c, const char *p, size_t len)
{
  if (len < 2 || (p[0] != 'P' && p[0] != 'H') || p[1] != '\n')
    return;
  const char *f[6];
  size_t fl[6];
  char node[128], room[DX_ROOM_MAX + 1], nick[DX_NICK_MAX + 1];
  uint64_t online = 0;
  uint64_t now = dx_loop_now_ms (c->loop);
  if (p[0] == 'P') {
    if (split_lines (p + 2, len - 2, f, fl, 5) != 5 || !copy_field (node, sizeof node, f[0], fl[0])
        || !copy_field (room, sizeof room, f[1], fl[1]) || !dx_room_valid (room, fl[1])
        || !copy_field (nick, sizeof nick, f[2], fl[2]) || fl[3] != 1
        || !dx_cluster_parse_u64 (f[4], fl[4], &online) || strcmp (node, c->node_id) == 0)
      return;
    dx_presence_update (c->presence, node, room, nick, f[3][0] == 'J', (size_t) online, now);
    return;
  }
  if (split_lines (p + 2, len - 2, f, fl, 4) != 4 || !copy_field (node, sizeof node, f[0], fl[0])
      || !copy_field (room, sizeof room, f[1], fl[1]) || !dx_room_valid (room, fl[1])
      || !dx_cluster_parse_u64 (f[2], fl[2], &online) || strcmp (node, c->node_id) == 0)
    return;
  /* The nick list, copied: "a b c" -> {"a", "b", "c"}. */
  char *list = malloc (fl[3] + 1);
  size_t max = fl[3] / 2 + 1;
  const char **nicks = malloc (max * sizeof *nicks);
  size_t n = 0;
  if (list && nicks) {
    memcpy (list, f[3], fl[3]);
    list[fl[3]] = '\0';
    for (char *tok = strtok (list, " "); tok && n < max; tok = strtok (NULL, " "))
      if (dx_nick_valid (tok, strlen (tok)))
        nicks[n++] = tok;
    dx_presence_sync (c->presence, node, room, nicks, n, (size_t) online, now);
  }
  free (list);
  free (nicks);
}

void
dx_cluster_presence_hook_init (dx_cluster *c)
{
  c->hook = (dx_hub_presence_hook){ .changed = hook_changed,
                                    .elsewhere = hook_elsewhere,
                                    .online_elsewhere = hook_online_elsewhere,
                                    .each_room_elsewhere = hook_each_room_elsewhere,
                                    .room_active = dx_cluster_hook_room_active,
                                    .arg = c };
}
