#include "server/cluster-private.h"

#include "platform/random.h"
#include "protocol/buffer.h"
#include "protocol/hex.h"
#include "protocol/names.h"
#include "protocol/sha1.h"
#include "server/log.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How often every room's position is compared with Redis's. */
#define CHECK_MS 1000
/* Presence: each node says which nicks it has in each room every
 * HEARTBEAT_MS; one not heard from for PRESENCE_TTL_MS is gone. */
#define HEARTBEAT_MS 2000
#define PRESENCE_TTL_MS 6000
/* Entries per catch-up read. */
#define CATCHUP_COUNT 1000
/* cid retries remembered per room (docs/protocol.md §6 asks for a sender's
 * last 1,000; a room remembers at least that many, and its whole history
 * when that is longer, up to this). */
#define CID_KEEP_MIN 1000
#define CID_KEEP_MAX 100000

/* KEYS (one room's, so one slot): 1 meta, 2 log, 3 cid, 4 cidq.
 * ARGV: 1 epoch, 2 from, 3 text, 4 cid or "", 5 token or "", 6 history,
 * 7 cids kept, 8 channel, 9 "1" to adopt the room under ARGV[1] (only
 * after room_check_script said so).
 * Returns {0, id, ts} (new) or {1, id, ts} (a retry of a stored cid);
 * errors NEWROOM (the room has no state) and EPOCH (its state counts
 * under another epoch): the node checks the data set (room_check_script). */
static const char publish_script[] =
    "local e = redis.call('HGET', KEYS[1], 'e')\n"
    "if e ~= ARGV[1] then\n"
    "  if ARGV[9] ~= '1' then\n"
    "    if e then return redis.error_reply('EPOCH the room counts under another epoch') end\n"
    "    return redis.error_reply('NEWROOM the room has no state')\n"
    "  end\n"
    "  redis.call('HSET', KEYS[1], 'e', ARGV[1])\n"
    "end\n"
    "local ck\n"
    "if ARGV[4] ~= '' and ARGV[5] ~= '' then\n"
    "  ck = ARGV[5] .. '\\n' .. ARGV[4]\n"
    "  local old = redis.call('HGET', KEYS[3], ck)\n"
    "  if old then\n"
    "    local sp = string.find(old, ' ', 1, true)\n"
    "    return {1, tonumber(string.sub(old, 1, sp - 1)), tonumber(string.sub(old, sp + 1))}\n"
    "  end\n"
    "end\n"
    "local id = redis.call('HINCRBY', KEYS[1], 'id', 1)\n"
    "local t = redis.call('TIME')\n"
    "local ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local prev = tonumber(redis.call('HGET', KEYS[1], 'ts') or '0')\n"
    "if ts < prev then ts = prev end\n"
    "local sid = string.format('%.0f', id)\n"
    "local sts = string.format('%.0f', ts)\n"
    "redis.call('HSET', KEYS[1], 'ts', sts)\n"
    "if ARGV[4] ~= '' then\n"
    "  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[6], sid .. '-0', 'f', ARGV[2], 't', ARGV[3],"
    " 's', sts, 'c', ARGV[4])\n"
    "else\n"
    "  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[6], sid .. '-0', 'f', ARGV[2], 't', ARGV[3],"
    " 's', sts)\n"
    "end\n"
    "if ck then\n"
    "  redis.call('HSET', KEYS[3], ck, sid .. ' ' .. sts)\n"
    "  if redis.call('RPUSH', KEYS[4], ck) > tonumber(ARGV[7]) then\n"
    "    redis.call('HDEL', KEYS[3], redis.call('LPOP', KEYS[4]))\n"
    "  end\n"
    "end\n"
    "redis.call('PUBLISH', ARGV[8], ARGV[1] .. '\\n' .. sid .. '\\n' .. sts .. '\\n' .. ARGV[2]"
    " .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[3])\n"
    "return {0, id, ts}\n";

/* Before a room without state (or with another epoch's) is adopted: is the
 * node's epoch the data set's, and did the room have messages under it?
 * KEYS (the data set's slot): 1 KEY_CLUSTER, 2 KEY_ROOMS (room -> the
 * epoch it was last written under). ARGV: 1 the node's "EPOCH:SECRET", 2 room.
 * {0, value or ""}: the node's epoch is not the data set's (any more);
 * {1, value}: adopt (a new room, or one of an earlier epoch);
 * {2, value}: the room had messages under this epoch: either another node
 * made it meanwhile (the send is tried again as it is) or they are gone. */
static const char room_check_script[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v ~= ARGV[1] then return {0, v or ''} end\n"
    "local colon = string.find(v, ':', 1, true)\n"
    "if redis.call('HGET', KEYS[2], ARGV[2]) == string.sub(v, 1, colon - 1) then\n"
    "  return {2, v}\n"
    "end\n"
    "return {1, v}\n";

/* A room listed under this epoch has no state (its messages are gone):
 * the data set lost data, so it gets a new epoch (the secret stays), unless
 * another node gave it one already. KEYS: 1 KEY_CLUSTER. ARGV: 1 the node's
 * "EPOCH:SECRET", 2 a fresh epoch. Returns the value now ("" if none). */
static const char epoch_bump_script[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == ARGV[1] then\n"
    "  v = ARGV[2] .. string.sub(v, string.find(v, ':', 1, true))\n"
    "  redis.call('SET', KEYS[1], v)\n"
    "end\n"
    "return v or ''\n";

typedef struct pub_ctx pub_ctx;
struct pub_ctx {
  pub_ctx *prev, *next; /* in flight, in issue order */
  dx_cluster *c;
  uint64_t seq;
  uint64_t t0_us;
  dx_cluster_publish_cb cb;
  void *arg;
  bool retried; /* EVAL sent after NOSCRIPT */
  bool adopt;   /* sent with the adopt flag (after room_check_script) */
  bool checked; /* room_check_script ran for it */
  bool listed;  /* it said the room has messages under this epoch */
  char room[DX_ROOM_MAX + 1];
  char from[DX_NICK_MAX + 1];
  char cid[DX_CID_MAX + 1];
  char token[DX_TOKEN_MAX + 1];
  size_t text_len;
  char text[];
};

static void learn (dx_cluster *c, cl_msg *m, bool own);
static void check_epoch (dx_cluster *c);

/* ---- keys ---- */

void
dx_cluster_room_key (char *out, size_t len, const char *room, const char *what)
{
  snprintf (out, len, "dx:{%s}:%s", room, what);
}

/* ---- rooms and the view ---- */

static void
room_free (void *v)
{
  cl_room *r = v;
  while (r->pending) {
    cl_msg *m = r->pending;
    r->pending = m->next;
    free (m);
  }
  while (r->readers) { /* shutdown: their connections are going */
    cl_reader *rd = r->readers;
    r->readers = rd->next;
    free (rd);
  }
  free (r);
}

cl_room *
dx_cluster_room_get (dx_cluster *c, const char *name)
{
  cl_room *r = dx_strmap_get (&c->rooms, name);
  if (r)
    return r;
  size_t len = strlen (name);
  if (!dx_room_valid (name, len))
    return NULL;
  r = calloc (1, sizeof *r);
  if (r == NULL)
    return NULL;
  memcpy (r->name, name, len + 1);
  if (!dx_strmap_put (&c->rooms, r->name, r, NULL)) {
    free (r);
    return NULL;
  }
  return r;
}

static cl_msg *
msg_new (const char *room, uint64_t id, uint64_t ts, const char *from, size_t from_len,
         const char *cid, size_t cid_len, const char *text, size_t text_len)
{
  if (!dx_room_valid (room, strlen (room)) || from_len == 0 || from_len > DX_NICK_MAX
      || cid_len > DX_CID_MAX || text_len > DX_STORE_TEXT_MAX || id == 0)
    return NULL;
  cl_msg *m = calloc (1, sizeof *m + text_len + 1);
  if (m == NULL)
    return NULL;
  m->id = id;
  m->ts = ts;
  snprintf (m->room, sizeof m->room, "%s", room);
  memcpy (m->from, from, from_len);
  memcpy (m->cid, cid, cid_len);
  memcpy (m->text, text, text_len);
  m->text_len = text_len;
  return m;
}

/* Puts m into the view and fans it out; frees m. */
static void
apply (dx_cluster *c, cl_msg *m, bool jump)
{
  dx_stored_msg sm = {
    m->room, m->id, m->ts, m->from, m->text, m->text_len, m->cid[0] ? m->cid : NULL
  };
  int rc = dx_store_learn (c->cfg.view, &sm, jump);
  if (rc == 0)
    dx_hub_publish (c->cfg.hub, &sm);
  else if (rc != DX_EALREADY)
    dx_log_warn ("cluster: cannot keep %s/%llu: %s", m->room, (unsigned long long) m->id,
                 dx_strerror (rc));
  free (m);
}

/* Applies the room's pending messages that follow the view; true when one
 * still waits behind a gap. */
static bool
drain (dx_cluster *c, cl_room *r)
{
  while (r->pending) {
    cl_msg *m = r->pending;
    uint64_t last = dx_store_last_id (c->cfg.view, r->name);
    if (m->id > last + 1)
      return true;
    r->pending = m->next;
    apply (c, m, false);
  }
  return false;
}

static void
pending_insert (cl_room *r, cl_msg *m)
{
  cl_msg **pp = &r->pending;
  while (*pp && (*pp)->id < m->id)
    pp = &(*pp)->next;
  if (*pp && (*pp)->id == m->id) {
    free (m);
    return;
  }
  m->next = *pp;
  *pp = m;
}

/* own: m is the answer to this node's publish. The subscriber connection
 * delivers a room's messages in id order, so a gap before an own message
 * is the subscriber lagging behind the answer, not a loss: it fills
 * itself (and the position check catches up if it does not). A gap on the
 * subscriber connection is a loss: one catch-up read. */
static void
learn (dx_cluster *c, cl_msg *m, bool own)
{
  cl_room *r = dx_cluster_room_get (c, m->room);
  if (r == NULL) {
    free (m);
    return;
  }
  uint64_t last = dx_store_last_id (c->cfg.view, r->name);
  if (m->id <= last) {
    free (m);
    return;
  }
  if (!r->catching && m->id == last + 1) {
    apply (c, m, false);
    drain (c, r);
    return;
  }
  if (own && !r->sub_ok && !r->catching) {
    free (m); /* a room the node does not follow: caught up when it does */
    return;
  }
  pending_insert (r, m);
  if (!r->catching && (!own || !r->sub_ok)) {
    r->healing = true;
    dx_cluster_catch_up (c, r);
  }
}

/* ---- catch-up reads ---- */

bool
dx_cluster_parse_u64 (const char *s, size_t len, uint64_t *out)
{
  uint64_t v = 0;
  if (len == 0 || len > 20)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (uint64_t) (s[i] - '0');
  }
  *out = v;
  return true;
}

/* One XRANGE entry ["ID-0", [field, value, ...]] as a message of room. */
static cl_msg *
entry_msg (const char *room, const redisReply *e)
{
  if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING
      || e->element[1]->type != REDIS_REPLY_ARRAY)
    return NULL;
  const char *sid = e->element[0]->str;
  const char *dash = strchr (sid, '-');
  uint64_t id = 0, ts = 0;
  if (dash == NULL || !dx_cluster_parse_u64 (sid, (size_t) (dash - sid), &id))
    return NULL;
  const redisReply *f = e->element[1];
  const redisReply *from = NULL, *text = NULL, *cid = NULL;
  for (size_t i = 0; i + 1 < f->elements; i += 2) {
    const redisReply *k = f->element[i], *v = f->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || k->len != 1)
      continue;
    switch (k->str[0]) {
    case 'f': from = v; break;
    case 't': text = v; break;
    case 'c': cid = v; break;
    case 's': dx_cluster_parse_u64 (v->str, v->len, &ts); break;
    default: break;
    }
  }
  if (from == NULL || text == NULL)
    return NULL;
  return msg_new (room, id, ts, from->str, from->len, cid ? cid->str : "", cid ? cid->len : 0,
                  text->str, text->len);
}

typedef struct {
  dx_cluster *c;
  uint64_t gen;
  char room[DX_ROOM_MAX + 1];
} catchup_ctx;

static void
on_catchup (void *arg, const redisReply *reply)
{
  catchup_ctx *cc = arg;
  dx_cluster *c = cc->c;
  cl_room *r = cc->gen == c->gen ? dx_strmap_get (&c->rooms, cc->room) : NULL;
  free (cc);
  if (r == NULL)
    return; /* the epoch changed meanwhile */
  r->catching = false;
  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
    if (reply)
      dx_log_warn ("cluster: catch-up read of %s: %s", r->name,
                   reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected answer");
    return; /* the reconnect catches up again */
  }
  uint64_t before = dx_store_last_id (c->cfg.view, r->name);
  for (size_t i = 0; i < reply->elements; i++) {
    cl_msg *m = entry_msg (r->name, reply->element[i]);
    if (m == NULL) {
      dx_log_warn ("cluster: a malformed entry in the stream of %s", r->name);
      continue;
    }
    /* The stream is the record: what it no longer holds is gone (trimmed
     * to --history), so its first entry may jump ahead of the view. */
    apply (c, m, true);
  }
  uint64_t after = dx_store_last_id (c->cfg.view, r->name);
  if (after > before && r->healing)
    c->stats.gaps_healed++;
  if (reply->elements == CATCHUP_COUNT) {
    dx_cluster_catch_up (c, r); /* more to read */
    return;
  }
  if (drain (c, r)) {
    /* A message that arrived before this read was sent must be covered
     * by it; if it still waits behind a gap, the ids in between are gone. */
    if (r->pending->rx <= r->rx_at_send) {
      cl_msg *m = r->pending;
      r->pending = m->next;
      apply (c, m, true);
      drain (c, r);
    }
  }
  bool gap = r->pending != NULL;
  r->healing = false;
  if (r->again || gap) {
    r->again = false;
    r->healing = gap;
    dx_cluster_catch_up (c, r);
    return;
  }
  /* Read after the subscription was confirmed: whatever was published
   * before it is in the view, whatever after arrives on the channel. */
  if (r->covers && r->sub_ok && !r->current) {
    r->current = true;
    dx_cluster_wake_readers (c, r);
  }
}

/* One XRANGE of the room's stream after what the view holds. */
void
dx_cluster_catch_up (dx_cluster *c, cl_room *r)
{
  if (r->catching) {
    r->again = true;
    return;
  }
  if (!c->ready)
    return; /* the reconnect catches every room up */
  catchup_ctx *cc = malloc (sizeof *cc);
  if (cc == NULL)
    return;
  cc->c = c;
  cc->gen = c->gen;
  memcpy (cc->room, r->name, sizeof cc->room);
  char key[64], start[32], count[16];
  dx_cluster_room_key (key, sizeof key, r->name, "log");
  snprintf (start, sizeof start, "%llu-0",
            (unsigned long long) dx_store_last_id (c->cfg.view, r->name) + 1);
  snprintf (count, sizeof count, "%d", CATCHUP_COUNT);
  const char *argv[] = { "XRANGE", key, start, "+", "COUNT", count };
  size_t lens[6];
  for (int i = 0; i < 6; i++)
    lens[i] = strlen (argv[i]);
  if (dx_redis_command_argv (c->cmd, 6, argv, lens, on_catchup, cc) < 0) {
    free (cc);
    return;
  }
  r->catching = true;
  r->covers = r->sub_ok;
  r->rx_at_send = c->rx_count;
  c->stats.catchup_reads++;
}

static bool
catch_up_visit (void *arg, const char *name, void *value)
{
  cl_room *r = value;
  (void) name;
  if (r->sub_ok)
    dx_cluster_catch_up (arg, r);
  return true;
}

/* Every room the node follows (the others are caught up when followed). */
static void
catch_up_all (dx_cluster *c)
{
  dx_strmap_each (&c->rooms, catch_up_visit, c);
}

/* ---- held messages (the sender's answer first) ---- */

static void
release_held (dx_cluster *c)
{
  uint64_t oldest = c->inflight_head ? c->inflight_head->seq : UINT64_MAX;
  while (c->held_head && c->held_head->barrier < oldest) {
    cl_msg *m = c->held_head;
    c->held_head = m->next;
    if (c->held_head == NULL)
      c->held_tail = &c->held_head;
    m->next = NULL;
    learn (c, m, false);
  }
}

/* ---- the subscriber ---- */

/* The room of channel dx:{ROOM}:ch. */
static bool
channel_room (const redisReply *ch, char room[DX_ROOM_MAX + 1])
{
  if (ch->len < 9 || strncmp (ch->str, "dx:{", 4) != 0
      || strcmp (ch->str + ch->len - 4, "}:ch") != 0)
    return false;
  size_t rlen = ch->len - 8;
  if (rlen > DX_ROOM_MAX)
    return false;
  memcpy (room, ch->str + 4, rlen);
  room[rlen] = '\0';
  return true;
}

/* "EPOCH\nID\nTS\nFROM\nCID\nTEXT" on channel dx:{ROOM}:ch. */
static cl_msg *
parse_payload (dx_cluster *c, const redisReply *ch, const redisReply *payload)
{
  if (ch->type != REDIS_REPLY_STRING || payload->type != REDIS_REPLY_STRING)
    return NULL;
  char room[DX_ROOM_MAX + 1];
  if (!channel_room (ch, room))
    return NULL;
  const char *p = payload->str, *end = p + payload->len;
  const char *field[5];
  size_t flen[5];
  for (int i = 0; i < 5; i++) {
    const char *nl = memchr (p, '\n', (size_t) (end - p));
    if (nl == NULL)
      return NULL;
    field[i] = p;
    flen[i] = (size_t) (nl - p);
    p = nl + 1;
  }
  if (flen[0] != strlen (c->epoch) || memcmp (field[0], c->epoch, flen[0]) != 0)
    return NULL; /* another data set's (the epoch check will notice) */
  uint64_t id, ts;
  if (!dx_cluster_parse_u64 (field[1], flen[1], &id)
      || !dx_cluster_parse_u64 (field[2], flen[2], &ts))
    return NULL;
  return msg_new (room, id, ts, field[3], flen[3], field[4], flen[4], p, (size_t) (end - p));
}

static void
on_sub_push (void *arg, const redisReply *reply)
{
  dx_cluster *c = arg;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
      || reply->element[0]->type != REDIS_REPLY_STRING
      || reply->element[1]->type != REDIS_REPLY_STRING)
    return;
  const char *kind = reply->element[0]->str;
  const redisReply *ch = reply->element[1], *pl = reply->element[2];
  char room[DX_ROOM_MAX + 1];
  bool is_room = channel_room (ch, room);
  if (strcmp (kind, "subscribe") == 0 || strcmp (kind, "unsubscribe") == 0) {
    if (is_room)
      dx_cluster_room_confirmed (c, room, kind[0] == 's');
    return;
  }
  if (strcmp (kind, "message") != 0 || pl->type != REDIS_REPLY_STRING || !c->have_epoch)
    return;
  if (!is_room) {
    if (ch->len == sizeof CH_PRESENCE - 1 && memcmp (ch->str, CH_PRESENCE, ch->len) == 0)
      dx_cluster_presence_payload (c, pl->str, pl->len);
    return;
  }
  cl_msg *m = parse_payload (c, ch, pl);
  if (m == NULL)
    return;
  m->rx = ++c->rx_count;
  if (c->inflight_tail) {
    m->barrier = c->inflight_tail->seq;
    *c->held_tail = m;
    c->held_tail = &m->next;
    return;
  }
  learn (c, m, false);
}

static void
on_sub_up (void *arg)
{
  dx_cluster *c = arg;
  c->stats.connects++;
  c->subscribed = true;
  c->room_channels = 0;
  const char *argv[] = { "SUBSCRIBE", CH_PRESENCE };
  size_t lens[] = { 9, sizeof CH_PRESENCE - 1 };
  if (dx_redis_command_argv (c->sub, 2, argv, lens, NULL, NULL) < 0) {
    dx_redis_reset (c->sub, "cannot subscribe");
    return;
  }
  /* Every room still wanted, again; each is caught up once confirmed. */
  dx_cluster_resubscribe_all (c);
  dx_cluster_flush_subscriptions (c);
}

static void
on_sub_down (void *arg, const char *why)
{
  dx_cluster *c = arg;
  (void) why;
  c->subscribed = false;
  c->room_channels = 0;
  c->stats.failures++;
  dx_cluster_resubscribe_all (c);
  /* Reads waiting for a view are answered from it as it is. */
  dx_cluster_follow_check (c, true);
}

static const dx_redis_ops sub_ops = { on_sub_up, on_sub_down, on_sub_push };

/* ---- the command connection ---- */

static void
free_held (dx_cluster *c)
{
  while (c->held_head) {
    cl_msg *m = c->held_head;
    c->held_head = m->next;
    free (m);
  }
  c->held_tail = &c->held_head;
}

/* A new epoch: each room's view starts again (its subscription stays). */
static bool
reset_room_visit (void *arg, const char *name, void *value)
{
  cl_room *r = value;
  (void) arg;
  (void) name;
  while (r->pending) {
    cl_msg *m = r->pending;
    r->pending = m->next;
    free (m);
  }
  r->catching = r->again = r->healing = r->covers = r->current = r->listed = false;
  r->checked = r->remote_last = 0;
  return true;
}

static void
reset_rooms (dx_cluster *c)
{
  c->gen++; /* the answers to reads in flight are of the old one */
  dx_strmap_each (&c->rooms, reset_room_visit, c);
  free_held (c);
}

static bool check_visit (void *arg, const char *name, void *value);

/* The rooms with messages (KEY_ROOMS), read every CHECK_MS: a room made
 * on another node is listed (/api/v1/rooms) with its last id at once. */
static void
on_rooms (void *arg, const redisReply *reply)
{
  dx_cluster *c = arg;
  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
    return;
  for (size_t i = 0; i < reply->elements; i++) {
    const redisReply *e = reply->element[i];
    if (e->type != REDIS_REPLY_STRING || dx_strmap_get (&c->rooms, e->str))
      continue;
    cl_room *r = dx_cluster_room_get (c, e->str);
    if (r)
      check_visit (c, r->name, r);
  }
}

static void
read_rooms (dx_cluster *c)
{
  const char *argv[] = { "HKEYS", KEY_ROOMS };
  size_t lens[] = { 5, sizeof KEY_ROOMS - 1 };
  dx_redis_command_argv (c->cmd, 2, argv, lens, on_rooms, c);
}

static bool
set_epoch (dx_cluster *c, const char *value, size_t len)
{
  const char *colon = memchr (value, ':', len);
  if (colon == NULL || colon == value || (size_t) (colon - value) >= sizeof c->epoch
      || len - (size_t) (colon - value) - 1 >= sizeof c->secret || len >= sizeof c->cluster_value)
    return false;
  bool changed = !c->have_epoch || strncmp (c->cluster_value, value, len) != 0
                 || c->cluster_value[len] != '\0';
  if (!changed)
    return true;
  bool had = c->have_epoch;
  memcpy (c->cluster_value, value, len);
  c->cluster_value[len] = '\0';
  memcpy (c->epoch, value, (size_t) (colon - value));
  c->epoch[colon - value] = '\0';
  snprintf (c->secret, sizeof c->secret, "%s", colon + 1);
  c->have_epoch = true;
  reset_rooms (c);
  dx_store_reset (c->cfg.view, c->epoch);
  if (had) {
    c->stats.epoch_changes++;
    dx_log_warn ("cluster: Redis lost its data: new epoch %s", c->epoch);
  } else
    dx_log_info ("cluster: node %s, epoch %s", c->node_id, c->epoch);
  if (c->cfg.on_epoch)
    c->cfg.on_epoch (c->cfg.on_epoch_arg, c->epoch);
  return true;
}

static void
on_cluster_value (void *arg, const redisReply *reply)
{
  dx_cluster *c = arg;
  if (reply == NULL)
    return;
  if (reply->type != REDIS_REPLY_STRING || !set_epoch (c, reply->str, reply->len)) {
    dx_log_error ("cluster: " KEY_CLUSTER " in Redis is not EPOCH:SECRET");
    dx_redis_reset (c->cmd, "bad " KEY_CLUSTER);
    return;
  }
  c->ready = true;
  read_rooms (c);
  catch_up_all (c);
}

/* A random "EPOCH:SECRET" (12 + 1 + 32 characters) into out[64]. */
static bool
fresh_cluster_value (char *out)
{
  uint8_t rnd[22];
  if (dx_random_bytes (rnd, sizeof rnd) < 0)
    return false;
  dx_hex_encode (rnd, 6, out);
  out[12] = ':';
  dx_hex_encode (rnd + 6, 16, out + 13);
  out[45] = '\0';
  return true;
}

/* Reads the data set's name (making it if this is the first node). */
static void
check_epoch (dx_cluster *c)
{
  char fresh[64];
  if (!fresh_cluster_value (fresh)) {
    dx_redis_reset (c->cmd, "no random bytes for an epoch");
    return;
  }
  const char *set[] = { "SET", KEY_CLUSTER, fresh, "NX" };
  size_t set_lens[] = { 3, sizeof KEY_CLUSTER - 1, strlen (fresh), 2 };
  const char *get[] = { "GET", KEY_CLUSTER };
  size_t get_lens[] = { 3, sizeof KEY_CLUSTER - 1 };
  if (dx_redis_command_argv (c->cmd, 4, set, set_lens, NULL, NULL) < 0
      || dx_redis_command_argv (c->cmd, 2, get, get_lens, on_cluster_value, c) < 0)
    dx_redis_reset (c->cmd, "cannot read the epoch");
}

static void
on_cmd_up (void *arg)
{
  dx_cluster *c = arg;
  c->stats.connects++;
  /* The script first, so that EVALSHA finds it (NOSCRIPT is still
   * handled: a SCRIPT FLUSH or a restarted Redis). */
  const char *argv[] = { "SCRIPT", "LOAD", publish_script };
  size_t lens[] = { 6, 4, sizeof publish_script - 1 };
  dx_redis_command_argv (c->cmd, 3, argv, lens, NULL, NULL);
  check_epoch (c);
}

static void
on_cmd_down (void *arg, const char *why)
{
  dx_cluster *c = arg;
  (void) why;
  c->ready = false;
  c->stats.failures++;
  /* Catch-ups in flight failed: they run again once up. Reads waiting
   * for a view are answered from it as it is. */
  dx_cluster_follow_check (c, true);
}

static void on_check (dx_timer *t);

/* The periodic look at KEY_CLUSTER: gone or changed, the epoch is read
 * (and made, if gone) again. */
static void
on_cluster_check (void *arg, const redisReply *reply)
{
  dx_cluster *c = arg;
  if (reply == NULL || !c->have_epoch)
    return;
  if (reply->type == REDIS_REPLY_STRING && reply->len == strlen (c->cluster_value)
      && memcmp (reply->str, c->cluster_value, reply->len) == 0)
    return;
  check_epoch (c);
}

static const dx_redis_ops cmd_ops = { on_cmd_up, on_cmd_down, NULL };

/* ---- position check ---- */

typedef struct {
  dx_cluster *c;
  uint64_t gen;
  char room[DX_ROOM_MAX + 1];
} check_ctx;

static void
on_position (void *arg, const redisReply *reply)
{
  check_ctx *cc = arg;
  dx_cluster *c = cc->c;
  cl_room *r = cc->gen == c->gen ? dx_strmap_get (&c->rooms, cc->room) : NULL;
  free (cc);
  uint64_t id = 0;
  if (r == NULL || reply == NULL || reply->type != REDIS_REPLY_STRING
      || !dx_cluster_parse_u64 (reply->str, reply->len, &id))
    return;
  r->remote_last = id;
  if (!r->sub_ok)
    return; /* not followed: caught up when it is */
  /* Behind Redis and not moving since the last check: the messages in
   * between are lost, not on their way. */
  uint64_t last = dx_store_last_id (c->cfg.view, r->name);
  bool stuck = last == r->checked;
  r->checked = last;
  if (id > last && stuck && !r->catching) {
    r->healing = true;
    dx_cluster_catch_up (c, r);
  }
}

static bool
check_visit (void *arg, const char *name, void *value)
{
  dx_cluster *c = arg;
  cl_room *r = value;
  (void) name;
  if (r->catching)
    return true;
  check_ctx *cc = malloc (sizeof *cc);
  if (cc == NULL)
    return false;
  cc->c = c;
  cc->gen = c->gen;
  memcpy (cc->room, r->name, sizeof cc->room);
  char key[64];
  dx_cluster_room_key (key, sizeof key, r->name, "meta");
  const char *argv[] = { "HGET", key, "id" };
  size_t lens[] = { 4, strlen (key), 2 };
  if (dx_redis_command_argv (c->cmd, 3, argv, lens, on_position, cc) < 0) {
    free (cc);
    return false;
  }
  return true;
}

/* A lost last message leaves no gap behind it to notice: compare each
 * room's last id with Redis's now and then. */
static void
on_check (dx_timer *t)
{
  dx_cluster *c = dx_handle_data (DX_HANDLE (t));
  uint64_t now = dx_loop_now_ms (c->loop);
  dx_presence_expire (c->presence, now);
  dx_cluster_follow_check (c, false);
  if (!c->ready)
    return;
  /* The data set's name: lost data shows here even with nothing sent. */
  const char *argv[] = { "GET", KEY_CLUSTER };
  size_t lens[] = { 3, sizeof KEY_CLUSTER - 1 };
  dx_redis_command_argv (c->cmd, 2, argv, lens, on_cluster_check, c);
  dx_strmap_each (&c->rooms, check_visit, c);
  read_rooms (c);
  if (now - c->last_heartbeat >= HEARTBEAT_MS) {
    c->last_heartbeat = now;
    dx_cluster_heartbeat (c);
  }
}

/* ---- publish ---- */

static void
record_latency (dx_cluster *c, uint64_t t0_us)
{
  uint64_t now = dx_monotonic_us ();
  uint64_t lat = now > t0_us ? now - t0_us : 0;
  c->stats.latency_count++;
  c->stats.latency_sum_us += lat;
  for (int i = 0; i < DX_STORE_LATENCY_BUCKETS; i++)
    if (lat <= dx_store_latency_bounds_us[i])
      c->stats.latency_le[i]++;
}

static void
inflight_remove (dx_cluster *c, pub_ctx *p)
{
  if (p->prev)
    p->prev->next = p->next;
  else
    c->inflight_head = p->next;
  if (p->next)
    p->next->prev = p->prev;
  else
    c->inflight_tail = p->prev;
}

static int send_publish (dx_cluster *c, pub_ctx *p, bool eval);
static void finish_publish (dx_cluster *c, pub_ctx *p, int status, uint64_t id, uint64_t ts,
                            bool duplicate);

/* The answer of room_check_script for publish p (not stored yet). */
static void
on_room_checked (void *arg, const redisReply *reply)
{
  pub_ctx *p = arg;
  dx_cluster *c = p->c;
  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
      || reply->element[0]->type != REDIS_REPLY_INTEGER
      || reply->element[1]->type != REDIS_REPLY_STRING) {
    if (reply && reply->type == REDIS_REPLY_ERROR)
      dx_log_warn ("cluster: the room check of %s: %s", p->room, reply->str);
    finish_publish (c, p, c->closing ? DX_ECANCELED : DX_ENOTCONN, 0, 0, false);
    return;
  }
  long long verdict = reply->element[0]->integer;
  const redisReply *v = reply->element[1];
  if (verdict == 1 && !c->closing) {
    p->adopt = true; /* a new room, or one of an earlier epoch */
    if (send_publish (c, p, false) == 0)
      return;
  } else if (verdict == 2 && !c->closing) {
    p->listed = true; /* made by another node meanwhile, or lost: see which */
    if (send_publish (c, p, false) == 0)
      return;
  } else if (verdict == 0) {
    if (v->len == 0 || !set_epoch (c, v->str, v->len))
      check_epoch (c); /* gone: made again */
  }
  /* The data set changed under this send: not stored, the client retries. */
  finish_publish (c, p, c->closing ? DX_ECANCELED : DX_ENOTCONN, 0, 0, false);
}

/* The answer of epoch_bump_script: the publish was not stored. */
static void
on_epoch_bumped (void *arg, const redisReply *reply)
{
  pub_ctx *p = arg;
  dx_cluster *c = p->c;
  if (reply && reply->type == REDIS_REPLY_STRING && !c->closing) {
    dx_log_warn ("cluster: room %s lost its messages: the data set lost data", p->room);
    if (reply->len == 0 || !set_epoch (c, reply->str, reply->len))
      check_epoch (c);
  }
  finish_publish (c, p, c->closing ? DX_ECANCELED : DX_ENOTCONN, 0, 0, false);
}

static int
send_epoch_bump (dx_cluster *c, pub_ctx *p)
{
  char fresh[64];
  if (!fresh_cluster_value (fresh))
    return DX_EIO;
  fresh[12] = '\0';
  const char *argv[] = { "EVAL", epoch_bump_script, "1", KEY_CLUSTER, c->cluster_value, fresh };
  enum { N = sizeof argv / sizeof argv[0] };
  size_t lens[N];
  for (int i = 0; i < N; i++)
    lens[i] = strlen (argv[i]);
  return dx_redis_command_argv (c->cmd, N, argv, lens, on_epoch_bumped, p);
}

/* The room had no state under the node's epoch (docs/protocol.md §7). */
static int
send_room_check (dx_cluster *c, pub_ctx *p)
{
  const char *argv[] = {
    "EVAL", room_check_script, "2", KEY_CLUSTER, KEY_ROOMS, c->cluster_value, p->room,
  };
  enum { N = sizeof argv / sizeof argv[0] };
  size_t lens[N];
  for (int i = 0; i < N; i++)
    lens[i] = strlen (argv[i]);
  return dx_redis_command_argv (c->cmd, N, argv, lens, on_room_checked, p);
}

/* KEY_ROOMS names the room under this epoch: /api/v1/rooms lists it, and
 * if its state goes missing, room_check_script knows data was lost. Once
 * per room and epoch, after a send of this node's was stored. */
static void
list_room (dx_cluster *c, const char *room)
{
  cl_room *r = dx_cluster_room_get (c, room);
  if (r == NULL || r->listed)
    return;
  const char *argv[] = { "HSET", KEY_ROOMS, room, c->epoch };
  size_t lens[] = { 4, sizeof KEY_ROOMS - 1, strlen (room), strlen (c->epoch) };
  if (dx_redis_command_argv (c->cmd, 4, argv, lens, NULL, NULL) == 0)
    r->listed = true;
}

/* The answer to the sender, then (a new message) the view and fan-out,
 * then whatever waited for this answer. */
static void
finish_publish (dx_cluster *c, pub_ctx *p, int status, uint64_t id, uint64_t ts, bool duplicate)
{
  inflight_remove (c, p);
  dx_stored_msg sm = { p->room, id, ts, p->from, p->text, p->text_len, p->cid[0] ? p->cid : NULL };
  if (status == 0 && !duplicate) {
    c->stats.publishes++;
    record_latency (c, p->t0_us);
  } else if (status != 0)
    c->stats.publish_failures++;
  p->cb (p->arg, status, status == 0 ? &sm : NULL, duplicate);
  if (status == 0 && !c->closing)
    list_room (c, p->room);
  if (status == 0 && !duplicate && !c->closing) {
    cl_msg *m = msg_new (p->room, id, ts, p->from, strlen (p->from), p->cid, strlen (p->cid),
                         p->text, p->text_len);
    if (m)
      learn (c, m, true);
  }
  free (p);
  if (!c->closing)
    release_held (c);
}

static void
on_published (void *arg, const redisReply *reply)
{
  pub_ctx *p = arg;
  dx_cluster *c = p->c;
  if (reply == NULL) {
    finish_publish (c, p, c->closing ? DX_ECANCELED : DX_ETIMEDOUT, 0, 0, false);
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    if (strncmp (reply->str, "NOSCRIPT", 8) == 0 && !p->retried) {
      p->retried = true;
      if (send_publish (c, p, true) == 0)
        return;
      finish_publish (c, p, DX_ETIMEDOUT, 0, 0, false);
      return;
    }
    if ((strncmp (reply->str, "EPOCH", 5) == 0 || strncmp (reply->str, "NEWROOM", 7) == 0)
        && (!p->checked || p->listed)) {
      /* First the data set's check; after it said the room is listed
       * under this epoch and the room still has no state, it is lost. */
      int rc = p->checked ? send_epoch_bump (c, p) : send_room_check (c, p);
      p->checked = true;
      if (rc == 0)
        return;
      finish_publish (c, p, DX_ENOTCONN, 0, 0, false);
      return;
    }
    dx_log_warn ("cluster: publish to %s refused: %s", p->room, reply->str);
    finish_publish (c, p, DX_EIO, 0, 0, false);
    return;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
      || reply->element[0]->type != REDIS_REPLY_INTEGER
      || reply->element[1]->type != REDIS_REPLY_INTEGER
      || reply->element[2]->type != REDIS_REPLY_INTEGER || reply->element[1]->integer <= 0) {
    finish_publish (c, p, DX_EIO, 0, 0, false);
    return;
  }
  finish_publish (c, p, 0, (uint64_t) reply->element[1]->integer,
                  (uint64_t) reply->element[2]->integer, reply->element[0]->integer == 1);
}

static int
send_publish (dx_cluster *c, pub_ctx *p, bool eval)
{
  char meta[64], log[64], cidk[64], cidq[64], ch[64];
  dx_cluster_room_key (meta, sizeof meta, p->room, "meta");
  dx_cluster_room_key (log, sizeof log, p->room, "log");
  dx_cluster_room_key (cidk, sizeof cidk, p->room, "cid");
  dx_cluster_room_key (cidq, sizeof cidq, p->room, "cidq");
  dx_cluster_room_key (ch, sizeof ch, p->room, "ch");
  const char *argv[] = {
    eval ? "EVAL" : "EVALSHA",
    eval ? publish_script : c->sha,
    "4",
    meta,
    log,
    cidk,
    cidq,
    c->epoch,
    p->from,
    p->text,
    p->cid,
    p->token,
    c->history,
    c->cid_keep,
    ch,
    p->adopt ? "1" : "",
  };
  enum { N = sizeof argv / sizeof argv[0] };
  size_t lens[N];
  for (int i = 0; i < N; i++)
    lens[i] = strlen (argv[i]);
  lens[9] = p->text_len;
  return dx_redis_command_argv (c->cmd, N, argv, lens, on_published, p);
}

bool
dx_cluster_ready (const dx_cluster *c)
{
  return c->ready;
}

int
dx_cluster_publish (dx_cluster *c, const char *room, const char *from, const char *token,
                    const char *text, size_t text_len, const char *cid, dx_cluster_publish_cb cb,
                    void *arg)
{
  if (!room || !dx_room_valid (room, strlen (room)) || !from || !*from
      || strlen (from) > DX_NICK_MAX || !text || text_len == 0 || text_len > DX_STORE_TEXT_MAX
      || memchr (text, '\0', text_len) || (cid && strlen (cid) > DX_CID_MAX)
      || (token && strlen (token) > DX_TOKEN_MAX) || !cb)
    return DX_EINVAL;
  if (!c->ready)
    return DX_ENOTCONN;
  pub_ctx *p = calloc (1, sizeof *p + text_len + 1);
  if (p == NULL)
    return DX_ENOMEM;
  p->c = c;
  p->cb = cb;
  p->arg = arg;
  p->t0_us = dx_monotonic_us ();
  snprintf (p->room, sizeof p->room, "%s", room);
  snprintf (p->from, sizeof p->from, "%s", from);
  snprintf (p->cid, sizeof p->cid, "%s", cid ? cid : "");
  snprintf (p->token, sizeof p->token, "%s", token ? token : "");
  memcpy (p->text, text, text_len);
  p->text_len = text_len;
  int rc = send_publish (c, p, false);
  if (rc < 0) {
    free (p);
    return rc == DX_ENOMEM ? rc : DX_ENOTCONN;
  }
  p->seq = ++c->pub_seq;
  p->prev = c->inflight_tail;
  if (c->inflight_tail)
    c->inflight_tail->next = p;
  else
    c->inflight_head = p;
  c->inflight_tail = p;
  return 0;
}

/* ---- tokens ---- */

static void
hmac_sha1 (const char *key, const char *msg, size_t len, uint8_t out[DX_SHA1_DIGEST_LEN])
{
  uint8_t k[64] = { 0 }, pad[64];
  size_t klen = strlen (key);
  if (klen > sizeof k)
    dx_sha1 (key, klen, k);
  else
    memcpy (k, key, klen);
  dx_sha1_ctx ctx;
  uint8_t inner[DX_SHA1_DIGEST_LEN];
  for (int i = 0; i < 64; i++)
    pad[i] = k[i] ^ 0x36;
  dx_sha1_init (&ctx);
  dx_sha1_update (&ctx, pad, 64);
  dx_sha1_update (&ctx, msg, len);
  dx_sha1_final (&ctx, inner);
  for (int i = 0; i < 64; i++)
    pad[i] = k[i] ^ 0x5c;
  dx_sha1_init (&ctx);
  dx_sha1_update (&ctx, pad, 64);
  dx_sha1_update (&ctx, inner, sizeof inner);
  dx_sha1_final (&ctx, out);
}

int
dx_cluster_new_token (dx_cluster *c, const char *nick, char *out, size_t outlen)
{
  size_t nlen = strlen (nick);
  if (!dx_nick_valid (nick, nlen) || outlen < nlen + 1 + 16 + 1 + 40 + 1)
    return DX_EINVAL;
  if (!c->have_epoch)
    return DX_ENOTCONN;
  uint8_t nonce[8], mac[DX_SHA1_DIGEST_LEN];
  int rc = dx_random_bytes (nonce, sizeof nonce);
  if (rc < 0)
    return rc;
  char *p = out;
  memcpy (p, nick, nlen);
  p += nlen;
  *p++ = ':';
  dx_hex_encode (nonce, sizeof nonce, p);
  p += 2 * sizeof nonce;
  hmac_sha1 (c->secret, out, (size_t) (p - out), mac);
  *p++ = ':';
  dx_hex_encode (mac, sizeof mac, p);
  p[2 * sizeof mac] = '\0';
  return 0;
}

const char *
dx_cluster_token_nick (dx_cluster *c, const char *token)
{
  if (!c->have_epoch || token == NULL)
    return NULL;
  const char *last = strrchr (token, ':');
  const char *first = strchr (token, ':');
  if (last == NULL || first == last || strlen (last + 1) != 2 * DX_SHA1_DIGEST_LEN
      || (size_t) (first - token) > DX_NICK_MAX)
    return NULL;
  uint8_t mac[DX_SHA1_DIGEST_LEN];
  char hex[2 * DX_SHA1_DIGEST_LEN + 1];
  hmac_sha1 (c->secret, token, (size_t) (last - token), mac);
  dx_hex_encode (mac, sizeof mac, hex);
  hex[sizeof hex - 1] = '\0';
  /* Constant time: the comparison tells nothing about how much matched. */
  unsigned diff = 0;
  for (size_t i = 0; i < sizeof hex - 1; i++)
    diff |= (unsigned) (hex[i] ^ last[1 + i]);
  if (diff != 0)
    return NULL;
  size_t nlen = (size_t) (first - token);
  memcpy (c->token_nick, token, nlen);
  c->token_nick[nlen] = '\0';
  return dx_nick_valid (c->token_nick, nlen) ? c->token_nick : NULL;
}

/* ---- life cycle ---- */

const char *
dx_cluster_node_id (const dx_cluster *c)
{
  return c->node_id;
}

void
dx_cluster_get_stats (const dx_cluster *c, dx_cluster_stats *out)
{
  *out = c->stats;
  out->up = c->ready;
  out->subscribed = c->subscribed;
  out->channels = c->room_channels;
}

dx_cluster *
dx_cluster_new (dx_loop *loop, const dx_cluster_config *cfg, char *err, size_t errlen)
{
  dx_redis_url url;
  if (!dx_redis_url_parse (cfg->url, &url, err, errlen))
    return NULL;
  dx_cluster *c = calloc (1, sizeof *c);
  if (c == NULL) {
    snprintf (err, errlen, "out of memory");
    return NULL;
  }
  c->loop = loop;
  c->cfg = *cfg;
  snprintf (c->node_id, sizeof c->node_id, "%s", cfg->node_id ? cfg->node_id : "");
  snprintf (c->history, sizeof c->history, "%zu", cfg->history);
  size_t keep = cfg->history < CID_KEEP_MIN   ? CID_KEEP_MIN
                : cfg->history > CID_KEEP_MAX ? CID_KEEP_MAX
                                              : cfg->history;
  snprintf (c->cid_keep, sizeof c->cid_keep, "%zu", keep);
  uint8_t digest[DX_SHA1_DIGEST_LEN];
  dx_sha1 (publish_script, sizeof publish_script - 1, digest);
  dx_hex_encode (digest, sizeof digest, c->sha);
  c->held_tail = &c->held_head;
  c->presence = dx_presence_new (PRESENCE_TTL_MS, dx_cluster_on_remote_presence, c);
  dx_cluster_presence_hook_init (c);
  dx_redis_options co = { "redis", false, 0 };
  dx_redis_options so = { "redis subscriber", true, 0 };
  c->cmd = dx_redis_new (loop, &url, &co, &cmd_ops, c);
  c->sub = dx_redis_new (loop, &url, &so, &sub_ops, c);
  c->check_timer = dx_timer_new (loop);
  if (c->cmd == NULL || c->sub == NULL || c->check_timer == NULL || !dx_cluster_follow_init (c)
      || c->presence == NULL) {
    snprintf (err, errlen, "out of memory");
    dx_cluster_free (c);
    return NULL;
  }
  dx_handle_set_data (DX_HANDLE (c->check_timer), c);
  dx_timer_start (c->check_timer, CHECK_MS, CHECK_MS, on_check);
  dx_hub_set_presence_hook (cfg->hub, &c->hook);
  return c;
}

void
dx_cluster_free (dx_cluster *c)
{
  if (c == NULL)
    return;
  c->ready = false;
  /* The waiting replies fail from inside dx_redis_free: the publishes are
   * answered DX_ECANCELED (closing), nothing more is learned. */
  c->closing = true;
  if (c->presence)
    dx_hub_set_presence_hook (c->cfg.hub, NULL);
  dx_redis_free (c->cmd);
  dx_redis_free (c->sub);
  if (c->check_timer)
    dx_close (DX_HANDLE (c->check_timer), NULL);
  dx_cluster_follow_free (c);
  dx_strmap_clear (&c->rooms, room_free);
  free_held (c);
  dx_presence_free (c->presence);
  free (c);
}
