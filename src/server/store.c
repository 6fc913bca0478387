/* The history store's common half: rooms, id assignment, the per-room RAM
 * ring of durable messages (msg-ring.c), cid dedup (dedup.c), tokens,
 * statistics, and the dispatch to a backend (store-memory.c,
 * store-sqlite.c). The read side is store-read.c.
 *
 * Everything here runs on the loop thread. A backend settles appends in
 * the order they were submitted and hands them back through collect(),
 * which runs from the store's dx_async callback. */
#include "server/dedup.h"
#include "server/msg-ring.h"
#include "server/store-private.h"
#include "server/strmap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- types ---------------------------------------------------------------- */

/* Most dedup windows kept per room. Beyond it the least recently used
 * window whose messages are all durable is dropped: sqlite reloads it from
 * the database if that sender comes back; the memory store forgets it. */
#define DX_STORE_SENDERS_PER_ROOM 1024

const uint64_t dx_store_latency_bounds_us[DX_STORE_LATENCY_BUCKETS] = {
  100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000,
};

dx_store_shared *
dx_store_shared_of (dx_store *store)
{
  return &store->sh;
}

void
dx_store_set_error (dx_store *store, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (store->sh.last_error, sizeof store->sh.last_error, fmt, ap);
  va_end (ap);
}

/* ---- rooms, ring, senders ------------------------------------------------- */

dx_stored_msg
dx_store_entry_msg (const dx_store_entry *e)
{
  dx_stored_msg m = { e->room, e->id, e->ts, e->from, e->text, e->text_len, e->cid };
  return m;
}

static void
room_free (void *v)
{
  dx_store_room *r = v;
  dx_msg_ring_free (&r->ring);
  dx_strmap_clear (&r->senders, dx_dedup_window_free);
  free (r->name);
  free (r);
}

dx_store_room *
dx_store_room_find (const dx_store *s, const char *name)
{
  if (!name || !*name || strlen (name) > DX_STORE_NAME_MAX)
    return NULL;
  return dx_strmap_get (&s->rooms, name);
}

static dx_store_room *
store_room_get_or_create (dx_store *s, const char *name)
{
  dx_store_room *r = dx_strmap_get (&s->rooms, name);
  if (r)
    return r;
  r = calloc (1, sizeof *r);
  if (!r)
    return NULL;
  r->name = strdup (name);
  r->next_id = 1;
  /* The ring grows on demand: rooms are cheap until they hold messages. */
  bool ring_ok = dx_msg_ring_init (&r->ring, s->ring_cap);
  if (!r->name || !ring_ok || !dx_strmap_put (&s->rooms, name, r, NULL)) {
    free (r->name);
    dx_msg_ring_free (&r->ring);
    free (r);
    return NULL;
  }
  return r;
}

int
dx_store_room_loaded (dx_store *store, const char *room, uint64_t last_id, uint64_t last_ts)
{
  dx_store_room *r = store_room_get_or_create (store, room);
  if (!r)
    return DX_ENOMEM;
  r->last_id = last_id;
  r->next_id = last_id + 1;
  r->last_ts = last_ts;
  return 0;
}

uint64_t
dx_store_room_first_kept (const dx_store_room *r)
{
  return r->ring.count ? dx_msg_ring_first_id (&r->ring) : r->last_id + 1;
}

typedef struct {
  uint64_t id[DX_STORE_DEDUP_WINDOW], ts[DX_STORE_DEDUP_WINDOW];
  char cid[DX_STORE_DEDUP_WINDOW][DX_STORE_NAME_MAX + 1];
  size_t n;
} dx_dedup_load;

static void
dedup_load_add (void *ctx, uint64_t id, uint64_t ts, const char *cid)
{
  dx_dedup_load *l = ctx;
  if (l->n >= DX_STORE_DEDUP_WINDOW || !cid || strlen (cid) > DX_STORE_NAME_MAX)
    return;
  l->id[l->n] = id;
  l->ts[l->n] = ts;
  memcpy (l->cid[l->n], cid, strlen (cid) + 1);
  l->n++;
}

/* The sender's dedup window in room, created (and, with a database, loaded
 * with the sender's last cids from earlier runs) on first use. */
static int
sender_get (dx_store *s, dx_store_room *r, const char *key, dx_dedup_window **out)
{
  dx_dedup_window *snd = dx_strmap_get (&r->senders, key);
  if (snd) {
    snd->used = ++s->use_clock;
    *out = snd;
    return 0;
  }
  /* Windows of messages in flight cannot go, so the map may exceed the
   * bound for a while (by at most the appends in flight); it shrinks back
   * as new senders arrive. */
  while (r->senders.count >= DX_STORE_SENDERS_PER_ROOM
         && dx_dedup_evict_lru (&r->senders, r->last_id))
    ;
  snd = calloc (1, sizeof *snd);
  if (!snd)
    return DX_ENOMEM;
  if (s->be->dedup_load) {
    dx_dedup_load *l = calloc (1, sizeof *l);
    int rc = l ? s->be->dedup_load (s, r->name, key, dedup_load_add, l) : DX_ENOMEM;
    for (size_t i = l ? l->n : 0; rc == 0 && i > 0; i--) /* oldest first */
      if (!dx_dedup_add (snd, l->cid[i - 1], l->id[i - 1], l->ts[i - 1]))
        rc = DX_ENOMEM;
    free (l);
    if (rc != 0) {
      dx_dedup_window_free (snd);
      return rc;
    }
  }
  if (!dx_strmap_put (&r->senders, key, snd, NULL)) {
    dx_dedup_window_free (snd);
    return DX_ENOMEM;
  }
  snd->used = ++s->use_clock;
  *out = snd;
  return 0;
}

/* ---- settling appends ----------------------------------------------------- */

static void
record_latency (dx_store *s, uint64_t t0_us)
{
  uint64_t now = dx_monotonic_us ();
  uint64_t lat = now > t0_us ? now - t0_us : 0;
  s->stats.latency_count++;
  s->stats.latency_sum_us += lat;
  for (int i = 0; i < DX_STORE_LATENCY_BUCKETS; i++)
    if (lat <= dx_store_latency_bounds_us[i])
      s->stats.latency_le[i]++;
}

static void
run_waiters (dx_store *s, dx_store_waiter *w, int status, const dx_stored_msg *msg)
{
  while (w) {
    dx_store_waiter *next = w->next;
    if (status == 0)
      s->stats.duplicates++;
    else
      s->stats.errors++;
    w->cb (w->arg, status, msg, true);
    free (w);
    w = next;
  }
}

static void
settle (dx_store *s, dx_store_pending *p)
{
  dx_store_room *r = p->room;
  /* A backend settles appends in submission order, so p heads its room. */
  if (r->inflight_head == p) {
    r->inflight_head = p->room_next;
    if (!r->inflight_head)
      r->inflight_tail = NULL;
  }
  s->stats.pending--;
  if (p->batch_first)
    s->stats.transactions++;
  if (p->status == 0) {
    dx_store_entry *e = p->entry;
    dx_msg_ring_push (&r->ring, e);
    r->last_id = e->id;
    s->stats.appends++;
    record_latency (s, p->t0_us);
    dx_stored_msg m = dx_store_entry_msg (e);
    p->cb (p->arg, 0, &m, false);
    run_waiters (s, p->waiters, 0, &m);
  } else {
    /* Ids must not leave gaps: after a failed commit nothing more is taken. */
    s->failed = true;
    s->stats.errors++;
    dx_store_entry_free (p->entry);
    p->cb (p->arg, p->status, NULL, false);
    run_waiters (s, p->waiters, p->status, NULL);
  }
  free (p->sender_key);
  free (p);
}

static void
answer_duplicate (dx_store *s, dx_store_pending *p)
{
  dx_stored_msg m = dx_store_entry_msg (p->dup_of);
  s->stats.duplicates++;
  p->cb (p->arg, 0, &m, true);
  dx_store_entry_free (p->dup_of);
  free (p);
}

/* Settles what the backend has committed (or failed), then answers the
 * duplicates deferred meanwhile. */
static void
settle_collected (dx_store *s)
{
  dx_store_pending *p = s->be->collect (s);
  while (p) {
    dx_store_pending *next = p->next;
    settle (s, p);
    p = next;
  }
  /* Callbacks may defer more duplicates: take the list first; those
   * arrive with a new wake-up. */
  p = s->deferred_head;
  s->deferred_head = s->deferred_tail = NULL;
  while (p) {
    dx_store_pending *next = p->next;
    answer_duplicate (s, p);
    p = next;
  }
}

static void
on_wake (dx_async *async)
{
  settle_collected (dx_handle_data (DX_HANDLE (async)));
}

/* ---- open / close --------------------------------------------------------- */

dx_store *
dx_store_open (dx_loop *loop, const dx_store_config *cfg, char *err, size_t errlen)
{
  const dx_store_backend *be = NULL;
  if (!loop || !cfg) {
    snprintf (err, errlen, "store: no loop or no configuration");
    return NULL;
  }
  if (cfg->kind == DX_STORE_MEMORY) {
    be = &dx_store_memory_backend;
  } else if (cfg->kind == DX_STORE_SQLITE) {
#ifdef DX_HAVE_SQLITE
    be = &dx_store_sqlite_backend;
#else
    snprintf (err, errlen,
              "store sqlite is not built in (this duplexd has no SQLite); use --store memory");
    return NULL;
#endif
  } else {
    snprintf (err, errlen, "store: unknown kind %d", (int) cfg->kind);
    return NULL;
  }
  dx_store *s = calloc (1, sizeof *s);
  if (!s) {
    snprintf (err, errlen, "store: out of memory");
    return NULL;
  }
  s->be = be;
  s->sh.loop = loop;
  s->sh.cfg = *cfg;
  dx_store_config *c = &s->sh.cfg;
  if (c->ring_size == 0)
    c->ring_size = 1024;
  if (c->memory_cap == 0)
    c->memory_cap = 10000;
  if (c->max_batch == 0)
    c->max_batch = 4096;
  if (c->token_cap == 0)
    c->token_cap = 100000;
  s->ring_cap = c->ring_size;
  if (cfg->kind == DX_STORE_MEMORY && c->memory_cap > s->ring_cap)
    s->ring_cap = c->memory_cap;
  s->sh.wake = dx_async_new (loop, on_wake);
  if (!s->sh.wake) {
    snprintf (err, errlen, "store: cannot create the loop wake-up handle");
    free (s);
    return NULL;
  }
  dx_handle_set_data (DX_HANDLE (s->sh.wake), s);
  if (be->open (s, err, errlen) != 0) {
    dx_strmap_clear (&s->rooms, room_free);
    dx_close (DX_HANDLE (s->sh.wake), NULL);
    free (s);
    return NULL;
  }
  return s;
}

void
dx_store_close (dx_store *s)
{
  if (!s)
    return;
  s->closing = true;
  /* Settle everything in flight; callbacks run from here. Appends are
   * refused from now on, so this ends. */
  while (s->stats.pending > 0 || s->deferred_head) {
    s->be->drain (s);
    settle_collected (s);
  }
  s->be->close (s);
  dx_strmap_clear (&s->rooms, room_free);
  dx_strmap_clear (&s->tokens, free);
  dx_close (DX_HANDLE (s->sh.wake), NULL);
  free (s);
}

dx_store_kind
dx_store_get_kind (const dx_store *s)
{
  return s->sh.cfg.kind;
}

const char *
dx_store_epoch (const dx_store *s)
{
  return s->sh.epoch;
}

uint64_t
dx_store_last_id (const dx_store *s, const char *room)
{
  const dx_store_room *r = dx_store_room_find (s, room);
  return r ? r->last_id : 0;
}

const char *
dx_store_last_error (const dx_store *s)
{
  return s->sh.last_error[0] ? s->sh.last_error : NULL;
}

void
dx_store_get_stats (const dx_store *s, dx_store_stats *out)
{
  *out = s->stats;
}

/* ---- append --------------------------------------------------------------- */

static bool
name_ok (const char *v, size_t max)
{
  return v && *v && strlen (v) <= max;
}

static dx_store_pending *
find_inflight (dx_store_room *r, uint64_t id)
{
  for (dx_store_pending *p = r->inflight_head; p; p = p->room_next)
    if (p->entry->id == id)
      return p;
  return NULL;
}

typedef struct {
  dx_store_entry *copy;
  const char *room;
} dx_copy_ctx;

static bool
copy_visit (void *arg, const dx_stored_msg *m)
{
  dx_copy_ctx *c = arg;
  if (!c->copy)
    c->copy = dx_store_entry_new (c->room, m->id, m->ts, m->from, m->text, m->text_len, m->cid);
  return false;
}

/* A retry of a durable message: answer it (later, from the wake-up) with the
 * original message, as far as the store still has it. */
static int
defer_duplicate (dx_store *s, dx_store_room *r, const dx_dedup_entry *d, const char *from,
                 const char *text, size_t text_len, dx_store_append_cb cb, void *arg)
{
  dx_copy_ctx c = { NULL, r->name };
  const dx_store_entry *e = dx_msg_ring_get (&r->ring, d->id);
  if (e)
    c.copy = dx_store_entry_new (r->name, e->id, e->ts, e->from, e->text, e->text_len, e->cid);
  else if (s->be->read_range)
    s->be->read_range (s, r->name, d->id - 1, d->id, 1, copy_visit, &c);
  if (!c.copy) /* forgotten (memory store): the original's id/ts/cid, the retry's text */
    c.copy = dx_store_entry_new (r->name, d->id, d->ts, from, text, text_len, d->cid);
  dx_store_pending *p = calloc (1, sizeof *p);
  if (!c.copy || !p) {
    free (c.copy);
    free (p);
    return DX_ENOMEM;
  }
  p->room = r;
  p->duplicate = true;
  p->dup_of = c.copy;
  p->cb = cb;
  p->arg = arg;
  if (s->deferred_tail)
    s->deferred_tail->next = p;
  else
    s->deferred_head = p;
  s->deferred_tail = p;
  dx_async_send (s->sh.wake);
  return 0;
}

int
dx_store_append (dx_store *s, const char *room, const char *from, const char *sender_key,
                 const char *text, size_t text_len, const char *cid, dx_store_append_cb cb,
                 void *arg)
{
  if (!s || !cb)
    return DX_EINVAL;
  if (s->closing)
    return DX_ECANCELED;
  if (s->failed)
    return DX_EIO;
  if (cid && !*cid)
    cid = NULL;
  if (sender_key && !*sender_key)
    sender_key = NULL;
  if (!name_ok (room, DX_STORE_NAME_MAX) || !name_ok (from, DX_STORE_NAME_MAX) || !text
      || text_len == 0 || text_len > DX_STORE_TEXT_MAX || memchr (text, '\0', text_len)
      || (cid && strlen (cid) > DX_STORE_NAME_MAX)
      || (sender_key && strlen (sender_key) > DX_STORE_TOKEN_MAX))
    return DX_EINVAL;

  dx_store_room *r = store_room_get_or_create (s, room);
  if (!r)
    return DX_ENOMEM;
  dx_dedup_window *snd = NULL;
  if (cid && sender_key) {
    int rc = sender_get (s, r, sender_key, &snd);
    if (rc != 0)
      return rc;
    const dx_dedup_entry *d = dx_dedup_find (snd, cid);
    if (d && d->id > r->last_id) {
      dx_store_pending *orig = find_inflight (r, d->id);
      dx_store_waiter *w = orig ? malloc (sizeof *w) : NULL;
      if (orig && !w)
        return DX_ENOMEM;
      if (w) {
        /* Appended at the end: waiters are answered in arrival order. */
        w->next = NULL;
        w->cb = cb;
        w->arg = arg;
        dx_store_waiter **tail = &orig->waiters;
        while (*tail)
          tail = &(*tail)->next;
        *tail = w;
        return 0;
      }
    }
    if (d && d->id <= r->last_id)
      return defer_duplicate (s, r, d, from, text, text_len, cb, arg);
  }

  /* Everything that can fail is allocated before the id is taken, so a
   * refused append never leaves a gap. */
  uint64_t ts = dx_wall_ms ();
  if (ts < r->last_ts)
    ts = r->last_ts;
  dx_store_pending *p = calloc (1, sizeof *p);
  dx_store_entry *e = dx_store_entry_new (r->name, r->next_id, ts, from, text, text_len, cid);
  char *key = sender_key ? strdup (sender_key) : NULL;
  if (!p || !e || (sender_key && !key) || (snd && !dx_dedup_add (snd, cid, r->next_id, ts))) {
    free (p);
    free (e);
    free (key);
    return DX_ENOMEM;
  }
  r->next_id++;
  r->last_ts = ts;
  p->room = r;
  p->entry = e;
  p->sender_key = key;
  p->cb = cb;
  p->arg = arg;
  p->t0_us = dx_monotonic_us ();
  if (r->inflight_tail)
    r->inflight_tail->room_next = p;
  else
    r->inflight_head = p;
  r->inflight_tail = p;
  s->stats.pending++;
  s->be->submit (s, p);
  return 0;
}

/* ---- a view of a history kept elsewhere ---------------------------------- */

int
dx_store_learn (dx_store *s, const dx_stored_msg *m, bool jump)
{
  if (!m || !name_ok (m->room, DX_STORE_NAME_MAX) || !name_ok (m->from, DX_STORE_NAME_MAX)
      || !m->text || m->text_len > DX_STORE_TEXT_MAX || m->id == 0
      || (m->cid && strlen (m->cid) > DX_STORE_NAME_MAX))
    return DX_EINVAL;
  dx_store_room *r = store_room_get_or_create (s, m->room);
  if (!r)
    return DX_ENOMEM;
  if (m->id <= r->last_id)
    return DX_EALREADY;
  if (m->id != r->last_id + 1 && !jump)
    return DX_EINVAL;
  dx_store_entry *e =
      dx_store_entry_new (r->name, m->id, m->ts, m->from, m->text, m->text_len, m->cid);
  if (!e)
    return DX_ENOMEM;
  if (m->id != r->last_id + 1) {
    /* The ring holds consecutive ids: it restarts at the jump. */
    dx_msg_ring_free (&r->ring);
    if (!dx_msg_ring_init (&r->ring, s->ring_cap)) {
      dx_store_entry_free (e);
      return DX_ENOMEM;
    }
  }
  dx_msg_ring_push (&r->ring, e);
  r->last_id = m->id;
  r->next_id = m->id + 1;
  if (m->ts > r->last_ts)
    r->last_ts = m->ts;
  return 0;
}

void
dx_store_reset (dx_store *s, const char *epoch)
{
  dx_strmap_clear (&s->rooms, room_free);
  snprintf (s->sh.epoch, sizeof s->sh.epoch, "%s", epoch);
}

/* ---- tokens --------------------------------------------------------------- */

static int
token_cache (dx_store *s, const char *token, const char *nick)
{
  if (s->tokens.count >= s->sh.cfg.token_cap && !dx_strmap_get (&s->tokens, token)) {
    if (!s->be->token_get)
      return DX_ENOMEM;                 /* memory store: the map is the only copy */
    dx_strmap_clear (&s->tokens, free); /* a cache: the database has them all */
  }
  char *copy = strdup (nick);
  void *old = NULL;
  if (!copy || !dx_strmap_put (&s->tokens, token, copy, &old)) {
    free (copy);
    return DX_ENOMEM;
  }
  free (old);
  return 0;
}

int
dx_store_token_put (dx_store *s, const char *token, const char *nick)
{
  if (!name_ok (token, DX_STORE_TOKEN_MAX) || !name_ok (nick, DX_STORE_NAME_MAX))
    return DX_EINVAL;
  if (s->closing)
    return DX_ECANCELED;
  int rc = token_cache (s, token, nick);
  if (rc == 0 && s->be->token_put)
    rc = s->be->token_put (s, token, nick);
  return rc;
}

const char *
dx_store_token_nick (dx_store *s, const char *token)
{
  if (!name_ok (token, DX_STORE_TOKEN_MAX))
    return NULL;
  const char *nick = dx_strmap_get (&s->tokens, token);
  if (nick)
    return nick;
  if (!s->be->token_get || s->be->token_get (s, token, s->token_nick, sizeof s->token_nick) != 1)
    return NULL;
  token_cache (s, token, s->token_nick); /* best effort */
  return s->token_nick;
}
