#include "server/cluster.h"

#include "platform/random.h"
#include "protocol/buffer.h"
#include "protocol/hex.h"
#include "protocol/names.h"
#include "protocol/sha1.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/presence.h"
#include "server/redis-conn.h"
#include "server/strmap.h"

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

/* A room without local members stays subscribed this long after its last
 * member left (or its last read), so that a client switching transport
 * does not make the node unsubscribe and subscribe again. */
#define GRACE_MS 2000
/* Channels per SUBSCRIBE / UNSUBSCRIBE command. */
#define SUB_BATCH 500
/* A read of a room the node is not following waits this long at most for
 * its view to be current, then is answered from the view. */
#define READ_WAIT_MS 3000

/* The data set's keys, outside every room's slot but in one slot
 * together (the tag "@" is no room name), and the presence channel. */
#define KEY_CLUSTER "dx:{@}:cluster"
#define KEY_ROOMS "dx:{@}:rooms"
#define CH_PRESENCE "dx:{@}:presence"

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

/* A message learned from Redis, held until it can go into the view. */
typedef struct cl_msg {
  struct cl_msg *next;
  uint64_t id, ts;
  uint64_t barrier; /* held: the publishes that must be answered first */
  uint64_t rx;      /* subscriber arrival number */
  char room[DX_ROOM_MAX + 1];
  char from[DX_NICK_MAX + 1];
  char cid[DX_CID_MAX + 1]; /* "" if none */
  size_t text_len;
  char text[];
} cl_msg;

/* A read waiting for the room's view to be current. */
typedef struct cl_reader {
  struct cl_reader *next;
  dx_cluster_read_fn cb;
  void *arg;
  uint64_t since_ms;
} cl_reader;

typedef struct cl_room {
  char name[DX_ROOM_MAX + 1];
  cl_msg *pending;  /* arrived after a gap: ascending ids */
  bool catching;    /* an XRANGE is in flight */
  bool again;       /* catch up once more when it ends */
  bool healing;     /* this catch-up was caused by a gap */
  bool covers;      /* the XRANGE in flight was sent while subscribed */
  uint64_t checked; /* the view's last id at the previous position check */
  uint64_t rx_at_send;
  /* Following the room (docs/protocol.md §7): */
  bool local;          /* the hub has members here (any kind) */
  uint64_t keep_until; /* wanted until then (ms): the grace after the last member or read */
  bool sub_sent;       /* SUBSCRIBE is the last command sent for its channel */
  bool sub_ok;         /* confirmed: its messages arrive */
  bool current;        /* confirmed, then caught up: the view is Redis's */
  bool queued;         /* in the list of rooms to (un)subscribe */
  struct cl_room *qnext;
  struct cl_room *wnext; /* in a list of rooms whose readers are answered */
  cl_reader *readers;
  uint64_t remote_last; /* Redis's last id at the last position check */
  bool listed;          /* KEY_ROOMS names it under this epoch (this node wrote it) */
} cl_room;

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

struct dx_cluster {
  dx_loop *loop;
  dx_cluster_config cfg;
  char node_id[128];
  dx_redis *cmd, *sub;
  bool ready; /* cmd up and the epoch read on this connection */
  bool closing;
  bool subscribed; /* the subscriber connection is up (and CH_PRESENCE confirmed) */
  bool have_epoch;
  char epoch[16];
  char secret[33];
  char cluster_value[64]; /* "EPOCH:SECRET" */
  char sha[41];
  char history[24], cid_keep[24];
  dx_strmap rooms; /* name -> cl_room */
  uint64_t pub_seq;
  pub_ctx *inflight_head, *inflight_tail;
  cl_msg *held_head, **held_tail;
  uint64_t rx_count;
  dx_timer *check_timer;
  char token_nick[DX_NICK_MAX + 1];
  dx_cluster_stats stats;
  dx_presence *presence; /* the other nodes' */
  dx_hub_presence_hook hook;
  uint64_t last_heartbeat;
  uint64_t gen;           /* the view's generation: a new epoch starts a new one */
  uint64_t room_channels; /* room channels confirmed subscribed */
  cl_room *queue;         /* rooms to (un)subscribe at the next flush */
  struct chan_batch *batch;
  dx_timer *flush_timer; /* runs once the loop iteration's changes are in */
};

static void catch_up (dx_cluster *c, cl_room *r);
static void learn (dx_cluster *c, cl_msg *m, bool own);
static void queue_room (dx_cluster *c, cl_room *r);
static void wake_readers (dx_cluster *c, cl_room *r);
static void check_epoch (dx_cluster *c);

/* ---- keys ---- */

static void
room_key (char *out, size_t len, const char *room, const char *what)
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

static cl_room *
room_get (dx_cluster *c, const char *name)
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
  cl_room *r = room_get (c, m->room);
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
    catch_up (c, r);
  }
}

/* ---- catch-up reads ---- */

static bool
parse_u64 (const char *s, size_t len, uint64_t *out)
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
  if (dash == NULL || !parse_u64 (sid, (size_t) (dash - sid), &id))
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
    case 's': parse_u64 (v->str, v->len, &ts); break;
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
    catch_up (c, r); /* more to read */
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
    catch_up (c, r);
    return;
  }
  /* Read after the subscription was confirmed: whatever was published
   * before it is in the view, whatever after arrives on the channel. */
  if (r->covers && r->sub_ok && !r->current) {
    r->current = true;
    wake_readers (c, r);
  }
}

/* One XRANGE of the room's stream after what the view holds. */
static void
catch_up (dx_cluster *c, cl_room *r)
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
  room_key (key, sizeof key, r->name, "log");
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
    catch_up (arg, r);
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

/* ---- following rooms (docs/protocol.md §7) ----
 * The node subscribes to the channel of each room it has members in (any
 * kind: sockets, SSE streams, waiting long polls) or a read waiting for its
 * view, and keeps it GRACE_MS after the last one left, so that a client
 * switching transport does not make it churn. Changes are gathered during a
 * loop iteration and sent as one SUBSCRIBE and one UNSUBSCRIBE of many
 * channels. Once a room's subscription is confirmed, one catch-up read
 * brings its view up to Redis's: the view is then current. */

typedef struct chan_batch {
  int n;
  const char *argv[SUB_BATCH + 1];
  size_t lens[SUB_BATCH + 1];
  char ch[SUB_BATCH][DX_ROOM_MAX + 16];
} chan_batch;

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
  room_key (b->ch[b->n], sizeof b->ch[b->n], r->name, "ch");
  b->argv[b->n + 1] = b->ch[b->n];
  b->lens[b->n + 1] = strlen (b->ch[b->n]);
  if (++b->n == SUB_BATCH)
    batch_send (c, b);
}

/* Sends what the queued rooms need: first every SUBSCRIBE, then every
 * UNSUBSCRIBE (pub/sub confirmations come in the order sent, so a room
 * subscribed again after an unsubscribe ends subscribed). */
static void
flush_subscriptions (dx_cluster *c)
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
  flush_subscriptions (dx_handle_data (DX_HANDLE (t)));
}

/* The room's subscription may have to change: at the end of this loop
 * iteration, with the other rooms' changes. */
static void
queue_room (dx_cluster *c, cl_room *r)
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
static void
wake_readers (dx_cluster *c, cl_room *r)
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
    queue_room (fc->c, r);
  return true;
}

static void
follow_check (dx_cluster *c, bool all)
{
  follow_visit_ctx fc = { c, dx_loop_now_ms (c->loop), all, NULL };
  dx_strmap_each (&c->rooms, follow_visit, &fc);
  while (fc.wake) {
    cl_room *r = fc.wake;
    fc.wake = r->wnext;
    wake_readers (c, r);
  }
}

/* The hub's room got its first local member, or lost its last one. */
static void
hook_room_active (void *arg, const char *room, bool active)
{
  dx_cluster *c = arg;
  if (c->closing)
    return;
  cl_room *r = room_get (c, room);
  if (r == NULL)
    return;
  r->local = active;
  if (!active)
    keep_a_while (c, r); /* the check unsubscribes it after the grace */
  else if (!r->sub_sent)
    queue_room (c, r);
}

static bool
resubscribe_visit (void *arg, const char *name, void *value)
{
  dx_cluster *c = arg;
  cl_room *r = value;
  (void) name;
  r->sub_sent = r->sub_ok = r->current = false;
  if (room_wanted (c, r))
    queue_room (c, r);
  return true;
}

/* A "subscribe" / "unsubscribe" confirmation of a room's channel. */
static void
room_confirmed (dx_cluster *c, const char *room, bool subscribed)
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
    catch_up (c, r);
}

bool
dx_cluster_read_room (dx_cluster *c, const char *room, dx_cluster_read_fn cb, void *arg)
{
  if (!c->ready || !c->subscribed)
    return true; /* Redis unreachable: the view is all there is */
  cl_room *r = room_get (c, room);
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
    queue_room (c, r);
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

/* ---- presence across nodes ----
 * On CH_PRESENCE, which every node follows (a node lists and counts the
 * rooms it has no members in too):
 *   "P\nNODE\nROOM\nNICK\nJ|L\nONLINE"   NODE's first member with NICK
 *                                         joined (J) or its last one left (L)
 *   "H\nNODE\nROOM\nONLINE\nNICK NICK..." NODE's whole state of the room,
 *                                         every HEARTBEAT_MS */

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
static void
on_remote_presence (void *arg, const char *room, const char *nick, bool joined)
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

static void
heartbeat (dx_cluster *c)
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
static void
presence_payload (dx_cluster *c, const char *p, size_t len)
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
        || !parse_u64 (f[4], fl[4], &online) || strcmp (node, c->node_id) == 0)
      return;
    dx_presence_update (c->presence, node, room, nick, f[3][0] == 'J', (size_t) online, now);
    return;
  }
  if (split_lines (p + 2, len - 2, f, fl, 4) != 4 || !copy_field (node, sizeof node, f[0], fl[0])
      || !copy_field (room, sizeof room, f[1], fl[1]) || !dx_room_valid (room, fl[1])
      || !parse_u64 (f[2], fl[2], &online) || strcmp (node, c->node_id) == 0)
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
  if (!parse_u64 (field[1], flen[1], &id) || !parse_u64 (field[2], flen[2], &ts))
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
      room_confirmed (c, room, kind[0] == 's');
    return;
  }
  if (strcmp (kind, "message") != 0 || pl->type != REDIS_REPLY_STRING || !c->have_epoch)
    return;
  if (!is_room) {
    if (ch->len == sizeof CH_PRESENCE - 1 && memcmp (ch->str, CH_PRESENCE, ch->len) == 0)
      presence_payload (c, pl->str, pl->len);
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
  dx_strmap_each (&c->rooms, resubscribe_visit, c);
  flush_subscriptions (c);
}

static void
on_sub_down (void *arg, const char *why)
{
  dx_cluster *c = arg;
  (void) why;
  c->subscribed = false;
  c->room_channels = 0;
  c->stats.failures++;
  dx_strmap_each (&c->rooms, resubscribe_visit, c);
  /* Reads waiting for a view are answered from it as it is. */
  follow_check (c, true);
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

static void
on_rooms (void *arg, const redisReply *reply)
{
  dx_cluster *c = arg;
  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
    return;
  for (size_t i = 0; i < reply->elements; i++)
    if (reply->element[i]->type == REDIS_REPLY_STRING)
      room_get (c, reply->element[i]->str);
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
  const char *argv[] = { "HKEYS", KEY_ROOMS };
  size_t lens[] = { 5, sizeof KEY_ROOMS - 1 };
  dx_redis_command_argv (c->cmd, 2, argv, lens, on_rooms, c);
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
  follow_check (c, true);
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
      || !parse_u64 (reply->str, reply->len, &id))
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
    catch_up (c, r);
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
  room_key (key, sizeof key, r->name, "meta");
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
  follow_check (c, false);
  if (!c->ready)
    return;
  /* The data set's name: lost data shows here even with nothing sent. */
  const char *argv[] = { "GET", KEY_CLUSTER };
  size_t lens[] = { 3, sizeof KEY_CLUSTER - 1 };
  dx_redis_command_argv (c->cmd, 2, argv, lens, on_cluster_check, c);
  dx_strmap_each (&c->rooms, check_visit, c);
  if (now - c->last_heartbeat >= HEARTBEAT_MS) {
    c->last_heartbeat = now;
    heartbeat (c);
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
  cl_room *r = room_get (c, room);
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
  room_key (meta, sizeof meta, p->room, "meta");
  room_key (log, sizeof log, p->room, "log");
  room_key (cidk, sizeof cidk, p->room, "cid");
  room_key (cidq, sizeof cidq, p->room, "cidq");
  room_key (ch, sizeof ch, p->room, "ch");
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
  c->presence = dx_presence_new (PRESENCE_TTL_MS, on_remote_presence, c);
  c->hook = (dx_hub_presence_hook){ .changed = hook_changed,
                                    .elsewhere = hook_elsewhere,
                                    .online_elsewhere = hook_online_elsewhere,
                                    .each_room_elsewhere = hook_each_room_elsewhere,
                                    .room_active = hook_room_active,
                                    .arg = c };
  dx_redis_options co = { "redis", false, 0 };
  dx_redis_options so = { "redis subscriber", true, 0 };
  c->cmd = dx_redis_new (loop, &url, &co, &cmd_ops, c);
  c->sub = dx_redis_new (loop, &url, &so, &sub_ops, c);
  c->check_timer = dx_timer_new (loop);
  c->flush_timer = dx_timer_new (loop);
  c->batch = malloc (sizeof *c->batch);
  if (c->cmd == NULL || c->sub == NULL || c->check_timer == NULL || c->flush_timer == NULL
      || c->batch == NULL || c->presence == NULL) {
    snprintf (err, errlen, "out of memory");
    dx_cluster_free (c);
    return NULL;
  }
  dx_handle_set_data (DX_HANDLE (c->check_timer), c);
  dx_handle_set_data (DX_HANDLE (c->flush_timer), c);
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
  if (c->flush_timer)
    dx_close (DX_HANDLE (c->flush_timer), NULL);
  dx_strmap_clear (&c->rooms, room_free);
  free_held (c);
  free (c->batch);
  dx_presence_free (c->presence);
  free (c);
}
