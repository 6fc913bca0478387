/* The history store's common half: rooms, id assignment, the per-room RAM
 * ring of durable messages, cid dedup, tokens, statistics, and the
 * dispatch to a backend (store-memory.c, store-sqlite.c).
 *
 * Everything here runs on the loop thread. A backend settles appends in
 * the order they were submitted and hands them back through collect(),
 * which runs from the store's dx_async callback. */
#include "platform/random.h"
#include "protocol/hex.h"
#include "server/store-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a small string-keyed hash map --------------------------------------- */

typedef struct dx_strmap_node {
  struct dx_strmap_node *next;
  uint32_t hash;
  void *value;
  char key[]; /* NUL-terminated */
} dx_strmap_node;

typedef struct {
  dx_strmap_node **buckets;
  size_t nbuckets; /* a power of two, or 0 */
  size_t count;
} dx_strmap;

static uint32_t
hash_str (const char *s)
{
  /* FNV-1a: short keys, no adversarial pressure beyond what the bound on
   * names (64 bytes) and the load factor allow. */
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 16777619u;
  return h;
}

static dx_strmap_node *
strmap_find (const dx_strmap *m, const char *key, uint32_t h)
{
  if (m->nbuckets == 0)
    return NULL;
  for (dx_strmap_node *n = m->buckets[h & (m->nbuckets - 1)]; n; n = n->next)
    if (n->hash == h && strcmp (n->key, key) == 0)
      return n;
  return NULL;
}

static void *
strmap_get (const dx_strmap *m, const char *key)
{
  dx_strmap_node *n = strmap_find (m, key, hash_str (key));
  return n ? n->value : NULL;
}

static bool
strmap_grow (dx_strmap *m)
{
  size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
  dx_strmap_node **b = calloc (nb, sizeof *b);
  if (!b)
    return false;
  for (size_t i = 0; i < m->nbuckets; i++) {
    dx_strmap_node *n = m->buckets[i];
    while (n) {
      dx_strmap_node *next = n->next;
      n->next = b[n->hash & (nb - 1)];
      b[n->hash & (nb - 1)] = n;
      n = next;
    }
  }
  free (m->buckets);
  m->buckets = b;
  m->nbuckets = nb;
  return true;
}

/* Inserts or replaces; the old value (if any) is returned in *old. */
static int
strmap_put (dx_strmap *m, const char *key, void *value, void **old)
{
  uint32_t h = hash_str (key);
  dx_strmap_node *n = strmap_find (m, key, h);
  if (old)
    *old = NULL;
  if (n) {
    if (old)
      *old = n->value;
    n->value = value;
    return 0;
  }
  if (m->count + 1 > m->nbuckets && !strmap_grow (m))
    return DX_ENOMEM;
  size_t klen = strlen (key);
  n = malloc (sizeof *n + klen + 1);
  if (!n)
    return DX_ENOMEM;
  n->hash = h;
  n->value = value;
  memcpy (n->key, key, klen + 1);
  n->next = m->buckets[h & (m->nbuckets - 1)];
  m->buckets[h & (m->nbuckets - 1)] = n;
  m->count++;
  return 0;
}

/* Removes key; returns its value (NULL if absent). */
static void *
strmap_remove (dx_strmap *m, const char *key)
{
  uint32_t h = hash_str (key);
  if (m->nbuckets == 0)
    return NULL;
  for (dx_strmap_node **pp = &m->buckets[h & (m->nbuckets - 1)]; *pp; pp = &(*pp)->next) {
    dx_strmap_node *n = *pp;
    if (n->hash == h && strcmp (n->key, key) == 0) {
      void *v = n->value;
      *pp = n->next;
      free (n);
      m->count--;
      return v;
    }
  }
  return NULL;
}

static void
strmap_clear (dx_strmap *m, void (*free_value) (void *))
{
  for (size_t i = 0; i < m->nbuckets; i++) {
    dx_strmap_node *n = m->buckets[i];
    while (n) {
      dx_strmap_node *next = n->next;
      if (free_value)
        free_value (n->value);
      free (n);
      n = next;
    }
  }
  free (m->buckets);
  m->buckets = NULL;
  m->nbuckets = 0;
  m->count = 0;
}

/* ---- types ---------------------------------------------------------------- */

typedef struct {
  uint32_t hash;
  uint64_t id;
  uint64_t ts;
  char cid[DX_STORE_NAME_MAX + 1];
} dx_dedup_entry;

/* One sender's recent cids in one room: a ring of at most DX_STORE_DEDUP_WINDOW. */
typedef struct {
  dx_dedup_entry *e;
  size_t cap, head, count;
  uint64_t newest_id; /* the newest id in the window (0 if empty) */
  uint64_t used;      /* the store's use clock when last appended to */
} dx_store_sender;

/* Most dedup windows kept per room. Beyond it the least recently used
 * window whose messages are all durable is dropped: sqlite reloads it from
 * the database if that sender comes back; the memory store forgets it. */
#define DX_STORE_SENDERS_PER_ROOM 1024

struct dx_store_room {
  char *name;
  uint64_t next_id; /* the id the next append gets */
  uint64_t last_id; /* the newest durable id */
  uint64_t last_ts; /* the ts given to the newest append */
  /* Durable messages last_id - ring_count + 1 .. last_id. */
  dx_store_entry **ring;
  size_t ring_cap, ring_head, ring_count; /* ring_cap grows up to ring_max */
  size_t ring_max;
  dx_strmap senders; /* sender_key -> dx_store_sender */
  /* Appends submitted and not yet settled, in id order. */
  dx_store_pending *inflight_head, *inflight_tail;
};

struct dx_store {
  dx_store_shared sh; /* first: backends reach it through dx_store_shared_of */
  const dx_store_backend *be;
  dx_strmap rooms;  /* name -> dx_store_room */
  dx_strmap tokens; /* token -> nick (malloc'd) */
  size_t ring_cap;
  bool failed;
  bool closing;
  dx_store_pending *deferred_head, *deferred_tail; /* answered duplicates */
  dx_store_stats stats;
  uint64_t use_clock; /* ticks once per dedup-window use (LRU order) */
  char token_nick[DX_STORE_NAME_MAX + 1];
};

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

/* ---- config --------------------------------------------------------------- */

void
dx_store_config_init (dx_store_config *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->kind = DX_STORE_MEMORY;
  cfg->sync = DX_STORE_SYNC_FULL;
}

bool
dx_store_sqlite_available (void)
{
#ifdef DX_HAVE_SQLITE
  return true;
#else
  return false;
#endif
}

bool
dx_store_kind_parse (const char *name, dx_store_kind *out)
{
  if (name && strcmp (name, "memory") == 0) {
    *out = DX_STORE_MEMORY;
    return true;
  }
  if (name && strcmp (name, "sqlite") == 0) {
    *out = DX_STORE_SQLITE;
    return true;
  }
  return false;
}

const char *
dx_store_kind_name (dx_store_kind kind)
{
  return kind == DX_STORE_SQLITE ? "sqlite" : "memory";
}

/* ---- epoch ---------------------------------------------------------------- */

static uint64_t
splitmix64 (uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void
dx_store_make_epoch (char *out)
{
  /* The epoch only has to differ between store lifetimes, not be secret.
   * The OS CSPRNG first, always mixed with clocks and addresses (ASLR)
   * so that two stores made in the same millisecond differ even if it
   * failed. */
  static unsigned counter;
  uint64_t seed = 0;
  if (dx_random_bytes (&seed, sizeof seed) != 0)
    seed = 0;
  uint64_t state = seed ^ dx_wall_ms ();
  splitmix64 (&state);
  state ^= dx_monotonic_us ();
  splitmix64 (&state);
  state ^= (uint64_t) (uintptr_t) &state ^ ((uint64_t) (uintptr_t) out << 16) ^ ++counter;
  uint64_t v = splitmix64 (&state);
  for (int i = 0; i < 12; i++)
    out[i] = dx_hex_digit ((unsigned) (v >> (i * 4)));
  out[12] = '\0';
}

/* ---- rooms, ring, senders ------------------------------------------------- */

static void
entry_free (dx_store_entry *e)
{
  free (e);
}

static dx_store_entry *
entry_new (const char *room, uint64_t id, uint64_t ts, const char *from, const char *text,
           size_t text_len, const char *cid)
{
  size_t flen = strlen (from), clen = cid ? strlen (cid) : 0;
  dx_store_entry *e = malloc (sizeof *e + flen + 1 + text_len + 1 + (cid ? clen + 1 : 0));
  if (!e)
    return NULL;
  char *p = (char *) (e + 1);
  e->room = room;
  e->id = id;
  e->ts = ts;
  e->from = p;
  memcpy (p, from, flen + 1);
  p += flen + 1;
  e->text = p;
  memcpy (p, text, text_len);
  p[text_len] = '\0';
  p += text_len + 1;
  e->text_len = text_len;
  e->cid = NULL;
  if (cid) {
    e->cid = p;
    memcpy (p, cid, clen + 1);
  }
  return e;
}

static dx_stored_msg
entry_msg (const dx_store_entry *e)
{
  dx_stored_msg m = { e->room, e->id, e->ts, e->from, e->text, e->text_len, e->cid };
  return m;
}

static void
sender_free (void *v)
{
  dx_store_sender *s = v;
  free (s->e);
  free (s);
}

static void
room_free (void *v)
{
  dx_store_room *r = v;
  for (size_t i = 0; i < r->ring_count; i++)
    entry_free (r->ring[(r->ring_head + i) % r->ring_cap]);
  free (r->ring);
  strmap_clear (&r->senders, sender_free);
  free (r->name);
  free (r);
}

static dx_store_room *
room_get (const dx_store *s, const char *name)
{
  if (!name || !*name || strlen (name) > DX_STORE_NAME_MAX)
    return NULL;
  return strmap_get (&s->rooms, name);
}

static dx_store_room *
room_get_or_create (dx_store *s, const char *name)
{
  dx_store_room *r = strmap_get (&s->rooms, name);
  if (r)
    return r;
  r = calloc (1, sizeof *r);
  if (!r)
    return NULL;
  r->name = strdup (name);
  /* The ring grows on demand: rooms are cheap until they hold messages. */
  r->ring_max = s->ring_cap;
  r->ring_cap = r->ring_max < 16 ? r->ring_max : 16;
  r->ring = calloc (r->ring_cap, sizeof *r->ring);
  r->next_id = 1;
  if (!r->name || !r->ring || strmap_put (&s->rooms, name, r, NULL) != 0) {
    free (r->name);
    free (r->ring);
    free (r);
    return NULL;
  }
  return r;
}

int
dx_store_room_loaded (dx_store *store, const char *room, uint64_t last_id, uint64_t last_ts)
{
  dx_store_room *r = room_get_or_create (store, room);
  if (!r)
    return DX_ENOMEM;
  r->last_id = last_id;
  r->next_id = last_id + 1;
  r->last_ts = last_ts;
  return 0;
}

static uint64_t
ring_first_id (const dx_store_room *r)
{
  return r->last_id - r->ring_count + 1;
}

static const dx_store_entry *
ring_get (const dx_store_room *r, uint64_t id)
{
  if (r->ring_count == 0 || id < ring_first_id (r) || id > r->last_id)
    return NULL;
  return r->ring[(r->ring_head + (id - ring_first_id (r))) % r->ring_cap];
}

/* Doubles the ring (up to ring_max), unwrapping it. False if it cannot grow. */
static bool
ring_grow (dx_store_room *r)
{
  if (r->ring_cap >= r->ring_max)
    return false;
  size_t ncap = r->ring_cap * 2 < r->ring_max ? r->ring_cap * 2 : r->ring_max;
  dx_store_entry **n = malloc (ncap * sizeof *n);
  if (!n)
    return false; /* keep the smaller ring: older messages are forgotten sooner */
  for (size_t i = 0; i < r->ring_count; i++)
    n[i] = r->ring[(r->ring_head + i) % r->ring_cap];
  free (r->ring);
  r->ring = n;
  r->ring_cap = ncap;
  r->ring_head = 0;
  return true;
}

static void
ring_push (dx_store_room *r, dx_store_entry *e)
{
  if (r->ring_count == r->ring_cap && !ring_grow (r)) {
    entry_free (r->ring[r->ring_head]);
    r->ring_head = (r->ring_head + 1) % r->ring_cap;
    r->ring_count--;
  }
  r->ring[(r->ring_head + r->ring_count) % r->ring_cap] = e;
  r->ring_count++;
}

static bool
sender_add (dx_store_sender *snd, const char *cid, uint64_t id, uint64_t ts)
{
  if (snd->count == snd->cap && snd->cap < DX_STORE_DEDUP_WINDOW) {
    /* Grow (only while not yet full, so head is 0: the ring has not wrapped). */
    size_t ncap = snd->cap ? snd->cap * 4 : 8;
    if (ncap > DX_STORE_DEDUP_WINDOW)
      ncap = DX_STORE_DEDUP_WINDOW;
    dx_dedup_entry *ne = realloc (snd->e, ncap * sizeof *ne);
    if (!ne)
      return false;
    snd->e = ne;
    snd->cap = ncap;
  }
  dx_dedup_entry *d;
  if (snd->count == snd->cap) { /* full window: forget the oldest */
    d = &snd->e[snd->head];
    snd->head = (snd->head + 1) % snd->cap;
  } else {
    d = &snd->e[(snd->head + snd->count) % snd->cap];
    snd->count++;
  }
  d->hash = hash_str (cid);
  if (id > snd->newest_id)
    snd->newest_id = id;
  d->id = id;
  d->ts = ts;
  snprintf (d->cid, sizeof d->cid, "%s", cid);
  return true;
}

static const dx_dedup_entry *
sender_find (const dx_store_sender *snd, const char *cid)
{
  uint32_t h = hash_str (cid);
  for (size_t i = 0; i < snd->count; i++) {
    const dx_dedup_entry *d = &snd->e[(snd->head + i) % snd->cap];
    if (d->hash == h && strcmp (d->cid, cid) == 0)
      return d;
  }
  return NULL;
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
/* Drops the least recently used window that has nothing in flight.
 * False if every window has something in flight. */
static bool
sender_evict (dx_store_room *r)
{
  const char *victim = NULL;
  uint64_t oldest = UINT64_MAX;
  for (size_t i = 0; i < r->senders.nbuckets; i++)
    for (dx_strmap_node *n = r->senders.buckets[i]; n; n = n->next) {
      dx_store_sender *snd = n->value;
      /* A window with a message in flight must stay: its repeats wait on it. */
      if (snd->newest_id <= r->last_id && snd->used < oldest) {
        oldest = snd->used;
        victim = n->key;
      }
    }
  if (!victim)
    return false;
  sender_free (strmap_remove (&r->senders, victim));
  return true;
}

static int
sender_get (dx_store *s, dx_store_room *r, const char *key, dx_store_sender **out)
{
  dx_store_sender *snd = strmap_get (&r->senders, key);
  if (snd) {
    snd->used = ++s->use_clock;
    *out = snd;
    return 0;
  }
  /* Windows of messages in flight cannot go, so the map may exceed the
   * bound for a while (by at most the appends in flight); it shrinks back
   * as new senders arrive. */
  while (r->senders.count >= DX_STORE_SENDERS_PER_ROOM && sender_evict (r))
    ;
  snd = calloc (1, sizeof *snd);
  if (!snd)
    return DX_ENOMEM;
  if (s->be->dedup_load) {
    dx_dedup_load *l = calloc (1, sizeof *l);
    int rc = l ? s->be->dedup_load (s, r->name, key, dedup_load_add, l) : DX_ENOMEM;
    for (size_t i = l ? l->n : 0; rc == 0 && i > 0; i--) /* oldest first */
      if (!sender_add (snd, l->cid[i - 1], l->id[i - 1], l->ts[i - 1]))
        rc = DX_ENOMEM;
    free (l);
    if (rc != 0) {
      sender_free (snd);
      return rc;
    }
  }
  if (strmap_put (&r->senders, key, snd, NULL) != 0) {
    sender_free (snd);
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
    ring_push (r, e);
    r->last_id = e->id;
    s->stats.appends++;
    record_latency (s, p->t0_us);
    dx_stored_msg m = entry_msg (e);
    p->cb (p->arg, 0, &m, false);
    run_waiters (s, p->waiters, 0, &m);
  } else {
    /* Ids must not leave gaps: after a failed commit nothing more is taken. */
    s->failed = true;
    s->stats.errors++;
    entry_free (p->entry);
    p->cb (p->arg, p->status, NULL, false);
    run_waiters (s, p->waiters, p->status, NULL);
  }
  free (p->sender_key);
  free (p);
}

static void
answer_duplicate (dx_store *s, dx_store_pending *p)
{
  dx_stored_msg m = entry_msg (p->dup_of);
  s->stats.duplicates++;
  p->cb (p->arg, 0, &m, true);
  entry_free (p->dup_of);
  free (p);
}

static void
process (dx_store *s)
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
  process (dx_handle_data (DX_HANDLE (async)));
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
    snprintf (err, errlen, "store sqlite is not built in (this duplexd has no SQLite); use --store memory");
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
    strmap_clear (&s->rooms, room_free);
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
    process (s);
  }
  s->be->close (s);
  strmap_clear (&s->rooms, room_free);
  strmap_clear (&s->tokens, free);
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
  const dx_store_room *r = room_get (s, room);
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
    c->copy = entry_new (c->room, m->id, m->ts, m->from, m->text, m->text_len, m->cid);
  return false;
}

/* A retry of a durable message: answer it (later, from the wake-up) with the
 * original message, as far as the store still has it. */
static int
defer_duplicate (dx_store *s, dx_store_room *r, const dx_dedup_entry *d, const char *from,
                 const char *text, size_t text_len, dx_store_append_cb cb, void *arg)
{
  dx_copy_ctx c = { NULL, r->name };
  const dx_store_entry *e = ring_get (r, d->id);
  if (e)
    c.copy = entry_new (r->name, e->id, e->ts, e->from, e->text, e->text_len, e->cid);
  else if (s->be->read_range)
    s->be->read_range (s, r->name, d->id - 1, d->id, 1, copy_visit, &c);
  if (!c.copy) /* forgotten (memory store): the original's id/ts/cid, the retry's text */
    c.copy = entry_new (r->name, d->id, d->ts, from, text, text_len, d->cid);
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

  dx_store_room *r = room_get_or_create (s, room);
  if (!r)
    return DX_ENOMEM;
  dx_store_sender *snd = NULL;
  if (cid && sender_key) {
    int rc = sender_get (s, r, sender_key, &snd);
    if (rc != 0)
      return rc;
    const dx_dedup_entry *d = sender_find (snd, cid);
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
  dx_store_entry *e = entry_new (r->name, r->next_id, ts, from, text, text_len, cid);
  char *key = sender_key ? strdup (sender_key) : NULL;
  if (!p || !e || (sender_key && !key)
      || (snd && !sender_add (snd, cid, r->next_id, ts))) {
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

/* ---- reads ---------------------------------------------------------------- */

static int
visit_ring (const dx_store_room *r, uint64_t from, uint64_t upto, dx_store_visit_fn visit,
            void *arg)
{
  int n = 0;
  for (uint64_t id = from; id <= upto; id++) {
    const dx_store_entry *e = ring_get (r, id);
    if (!e) /* callers pass ranges inside the ring */
      break;
    dx_stored_msg m = entry_msg (e);
    n++;
    if (!visit (arg, &m))
      break;
  }
  return n;
}

int
dx_store_read_since (dx_store *s, const char *room, uint64_t since, size_t limit,
                     dx_store_visit_fn visit, void *arg)
{
  if (limit > DX_STORE_READ_MAX)
    limit = DX_STORE_READ_MAX;
  const dx_store_room *r = room_get (s, room);
  if (!r || !visit || limit == 0 || r->last_id <= since)
    return 0;
  uint64_t first = ring_first_id (r);
  if (since + 1 < first && s->be->read_range)
    return s->be->read_range (s, r->name, since, r->last_id, limit, visit, arg);
  uint64_t from = since + 1 > first ? since + 1 : first;
  if (r->ring_count == 0 || from > r->last_id)
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
  if (limit > DX_STORE_READ_MAX)
    limit = DX_STORE_READ_MAX;
  const dx_store_room *r = room_get (s, room);
  if (!r || !visit || limit == 0 || before <= 1 || r->last_id == 0)
    return 0;
  uint64_t upto = before - 1 < r->last_id ? before - 1 : r->last_id;
  /* Ids are dense (1..last_id), so the range is known without a query. */
  uint64_t lower = upto >= limit ? upto - limit + 1 : 1;
  uint64_t first = ring_first_id (r);
  if (lower < first && s->be->read_range)
    return s->be->read_range (s, r->name, lower - 1, upto, limit, visit, arg);
  if (lower < first)
    lower = first;
  if (r->ring_count == 0 || lower > upto)
    return 0;
  return visit_ring (r, lower, upto, visit, arg);
}

static int
room_cmp (const void *a, const void *b)
{
  const dx_store_room *ra = *(dx_store_room *const *) a, *rb = *(dx_store_room *const *) b;
  return strcmp (ra->name, rb->name);
}

int
dx_store_rooms (dx_store *s, dx_store_room_fn visit, void *arg)
{
  if (!visit || s->rooms.count == 0)
    return 0;
  dx_store_room **v = malloc (s->rooms.count * sizeof *v);
  if (!v)
    return DX_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < s->rooms.nbuckets; i++)
    for (dx_strmap_node *nd = s->rooms.buckets[i]; nd; nd = nd->next) {
      dx_store_room *r = nd->value;
      if (r->last_id > 0)
        v[n++] = r;
    }
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

/* ---- tokens --------------------------------------------------------------- */

static int
token_cache (dx_store *s, const char *token, const char *nick)
{
  if (s->tokens.count >= s->sh.cfg.token_cap && !strmap_get (&s->tokens, token)) {
    if (!s->be->token_get)
      return DX_ENOMEM; /* memory store: the map is the only copy */
    strmap_clear (&s->tokens, free); /* a cache: the database has them all */
  }
  char *copy = strdup (nick);
  void *old = NULL;
  if (!copy || strmap_put (&s->tokens, token, copy, &old) != 0) {
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
  const char *nick = strmap_get (&s->tokens, token);
  if (nick)
    return nick;
  if (!s->be->token_get
      || s->be->token_get (s, token, s->token_nick, sizeof s->token_nick) != 1)
    return NULL;
  token_cache (s, token, s->token_nick); /* best effort */
  return s->token_nick;
}
