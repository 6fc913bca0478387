/* Unit tests of the history store (src/server/store.h), on both backends,
 * driven by the real platform loop. Plain C, TAP output.
 *
 * Scratch databases go under $DX_TEST_TMP (the build dir, set by meson),
 * one fresh directory per test. */
#include "server/store-private.h"

#include "platform/fs.h"
#include "platform/loop.h"

#ifdef DX_HAVE_SQLITE
#include <sqlite3.h>
#endif

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/stat.h>
#endif

#include "../tap.h"

/* ---- fixture -------------------------------------------------------------- */

static const char *kind_name;

typedef struct {
  dx_loop *loop;
  dx_store *store;
  dx_store_config cfg;
  char dir[1024];
} fixture;

static void
make_dir_name (char *out, size_t len)
{
  const char *base = getenv ("DX_TEST_TMP");
  char rnd[16];
  dx_store_make_epoch (rnd);
  char leaf[64];
  snprintf (leaf, sizeof leaf, "store-test-%s", rnd);
  dx_fs_join (out, len, base && *base ? base : ".", leaf);
}

static void
remove_dir (const char *dir)
{
  static const char *files[] = { "duplex.db",   "duplex.db-wal",       "duplex.db-shm",
                                 "duplex.lock", "duplex.lock-journal", "file" };
  char p[1200];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    dx_fs_join (p, sizeof p, dir, files[i]);
    remove (p);
  }
  remove (dir);
}

static dx_store *
fx_open (fixture *f)
{
  char err[256] = "";
  f->store = dx_store_open (f->loop, &f->cfg, err, sizeof err);
  if (!f->store)
    printf ("# dx_store_open: %s\n", err);
  return f->store;
}

/* A fresh loop + store of the kind under test; ring and cap as given. */
static bool
fx_init (fixture *f, dx_store_kind kind, size_t ring, size_t cap)
{
  memset (f, 0, sizeof *f);
  int err = 0;
  f->loop = dx_loop_new (&err);
  if (!f->loop) {
    printf ("Bail out! dx_loop_new: %s\n", dx_strerror (err));
    exit (1);
  }
  make_dir_name (f->dir, sizeof f->dir);
  dx_store_config_init (&f->cfg);
  f->cfg.kind = kind;
  f->cfg.data_dir = f->dir;
  f->cfg.ring_size = ring;
  f->cfg.memory_cap = cap;
  /* Tests need not wait for the disk; durability is about COMMIT here. */
  f->cfg.sync = DX_STORE_SYNC_NORMAL;
  return fx_open (f) != NULL;
}

static void
run_loop_once (dx_loop *loop)
{
  /* Lets closed handles finish: with no open handle, run returns. */
  dx_loop_run (loop);
}

static void
fx_reopen (fixture *f)
{
  dx_store_close (f->store);
  f->store = NULL;
  run_loop_once (f->loop);
  fx_open (f);
}

static void
fx_done (fixture *f)
{
  dx_store_close (f->store);
  f->store = NULL;
  run_loop_once (f->loop);
  int rc = dx_loop_free (f->loop);
  if (rc != 0)
    printf ("# loop not freed: %s\n", dx_strerror (rc));
  remove_dir (f->dir);
}

/* Runs the loop until pred(arg) holds (checked every millisecond), at most
 * 10 s. Returns pred's final value. */
typedef bool (*pred_fn) (void *arg);
typedef struct {
  pred_fn pred;
  void *arg;
  uint64_t deadline;
} waiter;

static void
tick (dx_timer *t)
{
  waiter *w = dx_handle_data (DX_HANDLE (t));
  if (w->pred (w->arg) || dx_monotonic_ms () > w->deadline)
    dx_loop_stop (dx_handle_loop (DX_HANDLE (t)));
}

static bool
run_until (dx_loop *loop, pred_fn pred, void *arg)
{
  waiter w = { pred, arg, dx_monotonic_ms () + 10000 };
  dx_timer *t = dx_timer_new (loop);
  dx_handle_set_data (DX_HANDLE (t), &w);
  dx_timer_start (t, 1, 1, tick);
  dx_loop_run (loop);
  dx_close (DX_HANDLE (t), NULL);
  return pred (arg);
}

/* ---- append recorder ------------------------------------------------------ */

#define MAX_REC 4096

typedef struct {
  int status;
  uint64_t id, ts;
  bool dup;
  char room[40];
  char text[64];
  char cid[70];
  int tag;
} record;

typedef struct {
  record r[MAX_REC];
  size_t n;
  size_t expected;
  bool in_append;        /* set around dx_store_append calls */
  bool called_inside;    /* a callback ran inside dx_store_append */
  dx_store *check_store; /* if set: last_id must equal the id in the cb */
  bool last_id_wrong;
#ifdef DX_HAVE_SQLITE
  const char *db_path; /* if set: the row must be in the database file */
  int rows_missing;
#endif
} recorder;

typedef struct {
  recorder *rec;
  int tag;
} rec_arg;

static rec_arg tags[MAX_REC];

#ifdef DX_HAVE_SQLITE
static bool
row_in_db (const char *path, const char *room, uint64_t id)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  bool found = false;
  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
      && sqlite3_prepare_v2 (db, "SELECT 1 FROM messages WHERE room = ? AND id = ?", -1, &s, NULL)
             == SQLITE_OK) {
    sqlite3_bind_text (s, 1, room, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (s, 2, (sqlite3_int64) id);
    found = sqlite3_step (s) == SQLITE_ROW;
  }
  sqlite3_finalize (s);
  sqlite3_close (db);
  return found;
}
#endif

static void
on_append (void *arg, int status, const dx_stored_msg *msg, bool duplicate)
{
  rec_arg *a = arg;
  recorder *rc = a->rec;
  if (rc->in_append)
    rc->called_inside = true;
  if (rc->n >= MAX_REC)
    return;
  record *r = &rc->r[rc->n++];
  memset (r, 0, sizeof *r);
  r->status = status;
  r->dup = duplicate;
  r->tag = a->tag;
  if (msg) {
    r->id = msg->id;
    r->ts = msg->ts;
    snprintf (r->room, sizeof r->room, "%s", msg->room);
    snprintf (r->text, sizeof r->text, "%.*s", (int) msg->text_len, msg->text);
    snprintf (r->cid, sizeof r->cid, "%s", msg->cid ? msg->cid : "");
    if (rc->check_store && !duplicate && dx_store_last_id (rc->check_store, msg->room) != msg->id)
      rc->last_id_wrong = true;
#ifdef DX_HAVE_SQLITE
    if (rc->db_path && !duplicate && !row_in_db (rc->db_path, msg->room, msg->id))
      rc->rows_missing++;
#endif
  }
}

static bool
rec_complete (void *arg)
{
  recorder *rc = arg;
  return rc->n >= rc->expected;
}

static int
append (dx_store *s, recorder *rc, int tag, const char *room, const char *key, const char *text,
        const char *cid)
{
  tags[tag].rec = rc;
  tags[tag].tag = tag;
  rc->in_append = true;
  int r = dx_store_append (s, room, "alice", key, text, strlen (text), cid, on_append, &tags[tag]);
  rc->in_append = false;
  if (r == 0)
    rc->expected++;
  return r;
}

static recorder *
rec_new (void)
{
  return calloc (1, sizeof (recorder));
}

/* ---- read collector ------------------------------------------------------- */

typedef struct {
  uint64_t ids[DX_STORE_READ_MAX + 10];
  size_t n;
  bool texts_ok;
  size_t stop_after; /* 0: never stop */
} reads;

static bool
on_read (void *arg, const dx_stored_msg *m)
{
  reads *r = arg;
  char want[32];
  snprintf (want, sizeof want, "msg-%" PRIu64, m->id);
  if (m->text_len != strlen (want) || memcmp (m->text, want, m->text_len) != 0
      || strcmp (m->from, "alice") != 0 || m->text[m->text_len] != '\0')
    r->texts_ok = false;
  if (r->n < sizeof r->ids / sizeof r->ids[0])
    r->ids[r->n++] = m->id;
  return !(r->stop_after && r->n >= r->stop_after);
}

/* True if the read got exactly the ids first..last, in order. */
static bool
got_range (const reads *r, uint64_t first, uint64_t last)
{
  if (!r->texts_ok)
    return false;
  if (first > last)
    return r->n == 0;
  if (r->n != last - first + 1)
    return false;
  for (size_t i = 0; i < r->n; i++)
    if (r->ids[i] != first + i)
      return false;
  return true;
}

static bool
check_since (dx_store *s, const char *room, uint64_t since, size_t limit, uint64_t first,
             uint64_t last)
{
  reads r;
  memset (&r, 0, sizeof r);
  r.texts_ok = true;
  int n = dx_store_read_since (s, room, since, limit, on_read, &r);
  bool ok = got_range (&r, first, last) && n == (int) r.n;
  if (!ok)
    printf ("#   read_since(%" PRIu64 ", %zu): n=%d got %zu ids [%" PRIu64 "..%" PRIu64 "]\n",
            since, limit, n, r.n, r.n ? r.ids[0] : 0, r.n ? r.ids[r.n - 1] : 0);
  return ok;
}

static bool
check_before (dx_store *s, const char *room, uint64_t before, size_t limit, uint64_t first,
              uint64_t last)
{
  reads r;
  memset (&r, 0, sizeof r);
  r.texts_ok = true;
  int n = dx_store_read_before (s, room, before, limit, on_read, &r);
  bool ok = got_range (&r, first, last) && n == (int) r.n;
  if (!ok)
    printf ("#   read_before(%" PRIu64 ", %zu): n=%d got %zu ids [%" PRIu64 "..%" PRIu64 "]\n",
            before, limit, n, r.n, r.n ? r.ids[0] : 0, r.n ? r.ids[r.n - 1] : 0);
  return ok;
}

/* Appends count messages "msg-<id>" to room (ids expected from next_id). */
static void
fill (fixture *f, recorder *rc, const char *room, size_t count)
{
  uint64_t next = dx_store_last_id (f->store, room) + 1;
  for (size_t i = 0; i < count; i++) {
    char text[32];
    snprintf (text, sizeof text, "msg-%" PRIu64, next + i);
    append (f->store, rc, (int) (i % MAX_REC), room, NULL, text, NULL);
  }
  run_until (f->loop, rec_complete, rc);
}

/* ---- tests ---------------------------------------------------------------- */

typedef struct {
  char names[4][16];
  uint64_t ids[4];
  int n;
} room_list;

static bool
room_visit (void *arg, const char *room, uint64_t last_id)
{
  room_list *rs = arg;
  if (rs->n < 4) {
    snprintf (rs->names[rs->n], sizeof rs->names[0], "%s", room);
    rs->ids[rs->n++] = last_id;
  }
  return true;
}

static void
test_ids (dx_store_kind kind)
{
  fixture f;
  if (!OK (fx_init (&f, kind, 0, 0), "%s: open", kind_name))
    return;
  OK (strlen (dx_store_epoch (f.store)) == 12, "%s: epoch has 12 characters", kind_name);
  recorder *rc = rec_new ();
  rc->check_store = f.store;
  for (int i = 0; i < 60; i++) {
    char text[32];
    const char *room = i % 3 == 2 ? "beta" : "alpha";
    snprintf (text, sizeof text, "t%d", i);
    append (f.store, rc, i, room, NULL, text, NULL);
  }
  IS (dx_store_last_id (f.store, "alpha"), 0, "%s: nothing visible before the commit", kind_name);
  OK (run_until (f.loop, rec_complete, rc), "%s: 60 callbacks", kind_name);
  OK (!rc->called_inside, "%s: no callback from inside dx_store_append", kind_name);
  OK (!rc->last_id_wrong, "%s: last_id == msg id inside the callback", kind_name);
  uint64_t want_a = 1, want_b = 1;
  bool ids_ok = true, order_ok = true;
  for (size_t i = 0; i < rc->n; i++) {
    record *r = &rc->r[i];
    uint64_t *want = strcmp (r->room, "beta") == 0 ? &want_b : &want_a;
    if (r->status != 0 || r->dup || r->id != *want)
      ids_ok = false;
    (*want)++;
    if (i > 0 && r->tag < rc->r[i - 1].tag)
      order_ok = false;
    char text[32];
    snprintf (text, sizeof text, "t%d", r->tag);
    if (strcmp (r->text, text) != 0)
      ids_ok = false;
  }
  OK (ids_ok, "%s: ids 1..N per room, in id order, texts intact", kind_name);
  OK (order_ok, "%s: callbacks in append order", kind_name);
  IS (dx_store_last_id (f.store, "alpha"), 40, "%s: last_id alpha", kind_name);
  IS (dx_store_last_id (f.store, "beta"), 20, "%s: last_id beta", kind_name);
  IS (dx_store_last_id (f.store, "gamma"), 0, "%s: unknown room reads 0", kind_name);
  IS (dx_store_last_id (f.store, ""), 0, "%s: empty room name reads 0", kind_name);

  /* ts: wall clock, never decreasing within a room. */
  uint64_t now = dx_wall_ms ();
  bool ts_ok = true;
  for (size_t i = 1; i < rc->n; i++)
    if (rc->r[i].ts < rc->r[i - 1].ts && strcmp (rc->r[i].room, rc->r[i - 1].room) == 0)
      ts_ok = false;
  OK (ts_ok && rc->r[0].ts <= now && rc->r[0].ts + 60000 > now, "%s: ts is wall-clock ms",
      kind_name);

  /* rooms, by name; reading an unknown room creates nothing */
  room_list rs;
  memset (&rs, 0, sizeof rs);
  IS (dx_store_rooms (f.store, NULL, NULL), 0, "%s: rooms with no visitor", kind_name);
  reads dummy;
  memset (&dummy, 0, sizeof dummy);
  IS (dx_store_read_since (f.store, "gamma", 0, 10, on_read, &dummy), 0,
      "%s: unknown room reads empty", kind_name);
  int n = dx_store_rooms (f.store, room_visit, &rs);
  IS (n, 2, "%s: two rooms", kind_name);
  OK (rs.n == 2 && strcmp (rs.names[0], "alpha") == 0 && rs.ids[0] == 40
          && strcmp (rs.names[1], "beta") == 0 && rs.ids[1] == 20,
      "%s: rooms alpha:40, beta:20 in name order", kind_name);

  dx_store_stats st;
  dx_store_get_stats (f.store, &st);
  IS (st.appends, 60, "%s: stats.appends", kind_name);
  IS (st.latency_count, 60, "%s: stats.latency_count", kind_name);
  IS (st.pending, 0, "%s: stats.pending", kind_name);
  OK (st.latency_le[DX_STORE_LATENCY_BUCKETS - 1] <= 60 && st.transactions >= 1,
      "%s: histogram and transactions filled", kind_name);
  free (rc);
  fx_done (&f);
}

static void
test_invalid (dx_store_kind kind)
{
  fixture f;
  if (!OK (fx_init (&f, kind, 0, 0), "%s: open", kind_name))
    return;
  recorder *rc = rec_new ();
  char big[DX_STORE_TEXT_MAX + 2];
  memset (big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  char longname[DX_STORE_NAME_MAX + 2];
  memset (longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  dx_store *s = f.store;
  IS (dx_store_append (s, "", "alice", NULL, "hi", 2, NULL, on_append, &tags[0]), DX_EINVAL,
      "%s: empty room refused", kind_name);
  IS (dx_store_append (s, longname, "alice", NULL, "hi", 2, NULL, on_append, &tags[0]), DX_EINVAL,
      "%s: long room refused", kind_name);
  IS (dx_store_append (s, "r", "", NULL, "hi", 2, NULL, on_append, &tags[0]), DX_EINVAL,
      "%s: empty nick refused", kind_name);
  IS (dx_store_append (s, "r", "alice", NULL, "hi", 0, NULL, on_append, &tags[0]), DX_EINVAL,
      "%s: empty text refused", kind_name);
  IS (dx_store_append (s, "r", "alice", NULL, big, DX_STORE_TEXT_MAX + 1, NULL, on_append,
                       &tags[0]),
      DX_EINVAL, "%s: text over 4096 bytes refused", kind_name);
  IS (dx_store_append (s, "r", "alice", NULL, "a\0b", 3, NULL, on_append, &tags[0]), DX_EINVAL,
      "%s: text with NUL refused", kind_name);
  IS (dx_store_append (s, "r", "alice", "k", "hi", 2, longname, on_append, &tags[0]), DX_EINVAL,
      "%s: cid over 64 refused", kind_name);
  IS (dx_store_append (s, "r", "alice", NULL, "hi", 2, NULL, NULL, NULL), DX_EINVAL,
      "%s: no callback refused", kind_name);
  IS (dx_store_last_id (s, "r"), 0, "%s: nothing stored", kind_name);
  IS (append (s, rc, 1, "r", NULL, big + 1, NULL), 0, "%s: 4096 bytes accepted", kind_name);
  run_until (f.loop, rec_complete, rc);
  OK (rc->n == 1 && rc->r[0].id == 1, "%s: the refused appends took no id", kind_name);
  IS (dx_store_read_since (s, "r", 0, 0, on_read, NULL), 0, "%s: limit 0 reads nothing", kind_name);
  IS (dx_store_read_before (s, "r", 0, 10, on_read, NULL), 0, "%s: before 0 reads nothing",
      kind_name);
  free (rc);
  fx_done (&f);
}

static void
test_ring (dx_store_kind kind)
{
  fixture f;
  /* ring 16; memory keeps 16 too, so both have a boundary at id 85. */
  if (!OK (fx_init (&f, kind, 16, 16), "%s: open with a ring of 16", kind_name))
    return;
  recorder *rc = rec_new ();
  fill (&f, rc, "r", 100);
  IS (dx_store_last_id (f.store, "r"), 100, "%s: 100 stored", kind_name);
  dx_store *s = f.store;
  bool mem = kind == DX_STORE_MEMORY;
  OK (check_since (s, "r", 90, 100, 91, 100), "%s: since 90 (in the ring)", kind_name);
  OK (check_since (s, "r", 84, 100, 85, 100), "%s: since 84 (exactly the ring)", kind_name);
  OK (check_since (s, "r", 100, 100, 1, 0), "%s: since last id: nothing", kind_name);
  OK (check_since (s, "r", 500, 100, 1, 0), "%s: since beyond last id: nothing", kind_name);
  OK (check_since (s, "r", 90, 3, 91, 93), "%s: since 90 limit 3", kind_name);
  if (mem) {
    OK (check_since (s, "r", 0, 100, 85, 100), "%s: since 0 starts at the oldest kept", kind_name);
    OK (check_since (s, "r", 83, 5, 85, 89), "%s: since 83 limit 5 starts at the oldest kept",
        kind_name);
    OK (check_before (s, "r", 50, 10, 1, 0), "%s: before 50: forgotten", kind_name);
    OK (check_before (s, "r", 90, 10, 85, 89), "%s: before 90 limit 10: what is kept", kind_name);
  } else {
    OK (check_since (s, "r", 0, 1000, 1, 100), "%s: since 0 (database)", kind_name);
    OK (check_since (s, "r", 83, 10, 84, 93), "%s: since 83 limit 10 (across the boundary)",
        kind_name);
    OK (check_since (s, "r", 10, 5, 11, 15), "%s: since 10 limit 5 (database)", kind_name);
    OK (check_before (s, "r", 50, 10, 40, 49), "%s: before 50 limit 10 (database)", kind_name);
    OK (check_before (s, "r", 90, 10, 80, 89), "%s: before 90 limit 10 (across)", kind_name);
    OK (check_before (s, "r", 3, 10, 1, 2), "%s: before 3: ids 1..2", kind_name);
  }
  OK (check_before (s, "r", 101, 10, 91, 100), "%s: before 101 limit 10 (ring)", kind_name);
  OK (check_before (s, "r", 1000, 5, 96, 100), "%s: before past the end: the newest", kind_name);
  OK (check_before (s, "r", 1, 10, 1, 0), "%s: before 1: nothing", kind_name);
  /* stopping the walk */
  reads r;
  memset (&r, 0, sizeof r);
  r.texts_ok = true;
  r.stop_after = 3;
  IS (dx_store_read_since (s, "r", mem ? 85 : 0, 50, on_read, &r), 3,
      "%s: visit returning false stops the read", kind_name);
  free (rc);
  fx_done (&f);
}

/* A ring that grows (16 -> 32 -> 64 -> 100) and then wraps. */
static void
test_ring_growth (dx_store_kind kind)
{
  fixture f;
  if (!OK (fx_init (&f, kind, 100, 100), "%s: open with a ring of 100", kind_name))
    return;
  recorder *rc = rec_new ();
  fill (&f, rc, "g", 40);
  OK (check_since (f.store, "g", 0, 1000, 1, 40), "%s: 40 in a grown ring", kind_name);
  rc->n = rc->expected = 0;
  fill (&f, rc, "g", 210);
  OK (check_since (f.store, "g", 150, 1000, 151, 250), "%s: the ring holds the last 100",
      kind_name);
  OK (check_before (f.store, "g", 200, 30, 170, 199), "%s: before 200 in the wrapped ring",
      kind_name);
  if (kind == DX_STORE_SQLITE)
    OK (check_since (f.store, "g", 120, 1000, 121, 250), "%s: since 120 from the database",
        kind_name);
  else
    OK (check_since (f.store, "g", 120, 1000, 151, 250), "%s: since 120: from the oldest kept",
        kind_name);
  free (rc);
  fx_done (&f);
}

typedef struct {
  uint64_t last;
  size_t n;
  bool in_order;
  uint64_t refuse; /* 0: accept every id; else refuse this one */
} range_seen;

static bool
on_range (void *arg, const dx_stored_msg *m)
{
  range_seen *r = arg;
  if (r->refuse && m->id == r->refuse)
    return false;
  if (r->last && m->id != r->last + 1)
    r->in_order = false;
  r->last = m->id;
  r->n++;
  return true;
}

static void
test_limit (dx_store_kind kind)
{
  fixture f;
  if (!OK (fx_init (&f, kind, 16, 2000), "%s: open", kind_name))
    return;
  recorder *rc = rec_new ();
  fill (&f, rc, "big", 1500);
  IS (dx_store_last_id (f.store, "big"), 1500, "%s: 1500 stored", kind_name);
  OK (check_since (f.store, "big", 0, 5000, 1, 1000), "%s: since 0 limit 5000 -> 1000", kind_name);
  OK (check_since (f.store, "big", 0, SIZE_MAX, 1, 1000), "%s: limit SIZE_MAX -> 1000", kind_name);
  OK (check_before (f.store, "big", 1501, 5000, 501, 1500),
      "%s: before 1501 limit 5000 -> the newest 1000", kind_name);

  /* A range longer than one read is walked in chunks, in order. */
  range_seen rs = { 0, 0, true, 0 };
  IS (dx_store_read_range (f.store, "big", 100, 1400, on_range, &rs), 1400,
      "%s: read_range 100..1400 ends at 1400", kind_name);
  OK (rs.n == 1300 && rs.in_order, "%s: read_range visits 101..1400 once, in order", kind_name);
  range_seen stop = { 0, 0, true, 1200 };
  IS (dx_store_read_range (f.store, "big", 0, 1500, on_range, &stop), 1199,
      "%s: read_range stopped by its visitor returns the last accepted id", kind_name);
  free (rc);
  fx_done (&f);
}

static void
test_dedup (dx_store_kind kind)
{
  fixture f;
  if (!OK (fx_init (&f, kind, 0, 0), "%s: open", kind_name))
    return;
  dx_store *s = f.store;
  recorder *rc = rec_new ();
  append (s, rc, 0, "r", "key1", "first", "c-1");
  run_until (f.loop, rec_complete, rc);
  append (s, rc, 1, "r", "key1", "first again", "c-1");
  run_until (f.loop, rec_complete, rc);
  OK (rc->n == 2 && rc->r[1].dup && rc->r[1].id == 1 && rc->r[1].status == 0
          && strcmp (rc->r[1].text, "first") == 0 && strcmp (rc->r[1].cid, "c-1") == 0
          && rc->r[1].ts == rc->r[0].ts,
      "%s: same key+room+cid -> the original message, duplicate", kind_name);
  IS (dx_store_last_id (s, "r"), 1, "%s: stored once", kind_name);
  append (s, rc, 2, "r", "key2", "other sender", "c-1");
  append (s, rc, 3, "r2", "key1", "other room", "c-1");
  append (s, rc, 4, "r", "key1", "no cid", NULL);
  append (s, rc, 5, "r", NULL, "no key", "c-1");
  run_until (f.loop, rec_complete, rc);
  OK (rc->n == 6 && !rc->r[2].dup && rc->r[2].id == 2, "%s: other key -> new message", kind_name);
  OK (rc->n == 6 && !rc->r[3].dup && rc->r[3].id == 1, "%s: other room -> new message", kind_name);
  OK (rc->n == 6 && !rc->r[4].dup && rc->r[4].id == 3, "%s: no cid -> new message", kind_name);
  OK (rc->n == 6 && !rc->r[5].dup && rc->r[5].id == 4, "%s: no key -> new message", kind_name);

  /* In flight: the repeat comes before the loop ran once. */
  size_t base = rc->n;
  append (s, rc, 6, "r", "key1", "in flight", "c-2");
  append (s, rc, 7, "r", "key1", "in flight retry", "c-2");
  append (s, rc, 8, "r", "key1", "in flight retry 2", "c-2");
  run_until (f.loop, rec_complete, rc);
  OK (rc->n == base + 3 && rc->r[base].tag == 6 && !rc->r[base].dup && rc->r[base].id == 5
          && rc->r[base + 1].tag == 7 && rc->r[base + 1].dup && rc->r[base + 1].id == 5
          && strcmp (rc->r[base + 1].text, "in flight") == 0 && rc->r[base + 2].tag == 8
          && rc->r[base + 2].dup && rc->r[base + 2].id == 5,
      "%s: repeats in flight answered after the original, with its id", kind_name);
  IS (dx_store_last_id (s, "r"), 5, "%s: in-flight repeat stored once", kind_name);

  /* The window: 1000 newer cid messages push c-1 out. */
  base = rc->n;
  for (int i = 0; i < DX_STORE_DEDUP_WINDOW; i++) {
    char cid[16];
    snprintf (cid, sizeof cid, "w-%d", i);
    append (s, rc, i % MAX_REC, "win", "key9", "w", cid);
    if (i == 0) {
      run_until (f.loop, rec_complete, rc);
      append (s, rc, 0, "win", "key9", "w", "w-0"); /* still deduped */
    }
  }
  run_until (f.loop, rec_complete, rc);
  IS (dx_store_last_id (s, "win"), DX_STORE_DEDUP_WINDOW, "%s: 1000 stored in win", kind_name);
  append (s, rc, 0, "win", "key9", "w", "w-1"); /* 999 newer: still inside the window */
  run_until (f.loop, rec_complete, rc);
  OK (rc->r[rc->n - 1].dup && rc->r[rc->n - 1].id == 2, "%s: inside the window: duplicate",
      kind_name);
  append (s, rc, 0, "win", "key9", "w", "w-new");
  run_until (f.loop, rec_complete, rc);
  append (s, rc, 0, "win", "key9", "w", "w-0"); /* now 1000 newer ones: forgotten */
  run_until (f.loop, rec_complete, rc);
  OK (!rc->r[rc->n - 1].dup && rc->r[rc->n - 1].id == DX_STORE_DEDUP_WINDOW + 2,
      "%s: past the window of 1000: a new message", kind_name);

  dx_store_stats st;
  dx_store_get_stats (s, &st);
  IS (st.duplicates, 5, "%s: stats.duplicates (c-1, two in flight, w-0, w-1)", kind_name);

  if (kind == DX_STORE_SQLITE) {
    fx_reopen (&f);
    s = f.store;
    append (s, rc, 0, "r", "key1", "after restart", "c-2");
    run_until (f.loop, rec_complete, rc);
    OK (rc->r[rc->n - 1].dup && rc->r[rc->n - 1].id == 5
            && strcmp (rc->r[rc->n - 1].text, "in flight") == 0,
        "%s: dedup survives a restart (original id and text)", kind_name);
  }
  free (rc);
  fx_done (&f);
}

/* More senders in one room than dedup windows kept (1024): the least
 * recently used window goes; sqlite reloads it from the database. */
static void
test_sender_windows (dx_store_kind kind)
{
  fixture f;
  if (!OK (fx_init (&f, kind, 0, 0), "%s: open", kind_name))
    return;
  recorder *rc = rec_new ();
  for (int i = 0; i < 1100; i++) {
    char key[32];
    snprintf (key, sizeof key, "key-%d", i);
    append (f.store, rc, i, "crowd", key, "hello", "c-1");
  }
  run_until (f.loop, rec_complete, rc);
  IS (dx_store_last_id (f.store, "crowd"), 1100, "%s: 1100 senders stored", kind_name);
  append (f.store, rc, 0, "crowd", "key-1099", "hello", "c-1");
  run_until (f.loop, rec_complete, rc);
  OK (rc->r[rc->n - 1].dup && rc->r[rc->n - 1].id == 1100,
      "%s: a recent sender's retry is a duplicate", kind_name);
  /* All durable now: a new sender makes room by dropping the oldest windows. */
  append (f.store, rc, 0, "crowd", "key-new", "hello", "c-1");
  run_until (f.loop, rec_complete, rc);
  append (f.store, rc, 0, "crowd", "key-0", "hello", "c-1");
  run_until (f.loop, rec_complete, rc);
  if (kind == DX_STORE_SQLITE)
    OK (rc->r[rc->n - 1].dup && rc->r[rc->n - 1].id == 1,
        "%s: an evicted window is reloaded from the database", kind_name);
  else
    OK (!rc->r[rc->n - 1].dup && rc->r[rc->n - 1].id == 1102,
        "%s: an evicted window is forgotten (bounded memory)", kind_name);
  free (rc);
  fx_done (&f);
}

static void
test_memory_evicted_dedup (void)
{
  fixture f;
  if (!OK (fx_init (&f, DX_STORE_MEMORY, 4, 4), "memory: open with cap 4"))
    return;
  recorder *rc = rec_new ();
  append (f.store, rc, 0, "r", "k", "original", "c");
  for (int i = 1; i <= 10; i++)
    append (f.store, rc, i, "r", NULL, "filler", NULL);
  run_until (f.loop, rec_complete, rc);
  append (f.store, rc, 11, "r", "k", "retry", "c");
  run_until (f.loop, rec_complete, rc);
  record *r = &rc->r[rc->n - 1];
  OK (r->dup && r->id == 1 && r->ts == rc->r[0].ts && strcmp (r->cid, "c") == 0,
      "memory: a retry of a forgotten message still gets the original id and ts");
  free (rc);
  fx_done (&f);
}

static bool
collect_ids (void *arg, const dx_stored_msg *m)
{
  uint64_t *v = arg;
  v[++v[0]] = m->id;
  return v[0] < 15;
}

/* A memory store as a view of a history kept elsewhere (duplexd --redis):
 * messages learned in id order, a jump over ids gone for good, a reset. */
static void
test_view (void)
{
  fixture f;
  if (!OK (fx_init (&f, DX_STORE_MEMORY, 8, 8), "view: open a memory store"))
    return;
  dx_stored_msg m = { "lobby", 5, 1000, "alice", "hi", 2, NULL };
  OK (dx_store_learn (f.store, &m, false) == DX_EINVAL, "view: a gap is refused without jump");
  OK (dx_store_learn (f.store, &m, true) == 0 && dx_store_last_id (f.store, "lobby") == 5,
      "view: the first message may start anywhere with jump");
  m.id = 6;
  m.cid = "c-6";
  OK (dx_store_learn (f.store, &m, false) == 0, "view: the next id is learned");
  OK (dx_store_learn (f.store, &m, false) == DX_EALREADY,
      "view: a message already held changes nothing");
  m.id = 9;
  OK (dx_store_learn (f.store, &m, true) == 0 && dx_store_last_id (f.store, "lobby") == 9,
      "view: a jump over trimmed ids");
  uint64_t ids[16] = { 0 };
  dx_store_read_since (f.store, "lobby", 0, 10, collect_ids, ids);
  OK (ids[0] == 1 && ids[1] == 9, "view: after a jump the ring restarts at it (%llu held)",
      (unsigned long long) ids[0]);
  m.from = "";
  m.id = 10;
  OK (dx_store_learn (f.store, &m, false) == DX_EINVAL, "view: a bad field is refused");
  dx_store_reset (f.store, "0123abcd");
  OK (strcmp (dx_store_epoch (f.store), "0123abcd") == 0
          && dx_store_last_id (f.store, "lobby") == 0,
      "view: a reset forgets every room and takes the new epoch");
  fx_done (&f);
}

static void
test_close_waits (dx_store_kind kind)
{
  fixture f;
  if (!OK (fx_init (&f, kind, 0, 0), "%s: open", kind_name))
    return;
  recorder *rc = rec_new ();
  for (int i = 0; i < 300; i++) {
    char text[32];
    snprintf (text, sizeof text, "msg-%d", i + 1);
    append (f.store, rc, i, "r", NULL, text, NULL);
  }
  append (f.store, rc, 300, "r", "k", "msg-301", "c1");
  append (f.store, rc, 301, "r", "k", "retry", "c1");
  dx_store_close (f.store);
  f.store = NULL;
  bool all_ok = rc->n == 302;
  for (size_t i = 0; all_ok && i < rc->n; i++)
    all_ok = rc->r[i].status == 0 && rc->r[i].id == (i < 301 ? i + 1 : 301);
  OK (all_ok, "%s: dx_store_close ran all 302 callbacks (status 0, ids in order)", kind_name);
  OK (rc->r[301].dup, "%s: the in-flight duplicate was answered too", kind_name);
  run_loop_once (f.loop);
  if (kind == DX_STORE_SQLITE) {
    fx_open (&f);
    IS (f.store ? dx_store_last_id (f.store, "r") : 0, 301,
        "%s: all 301 are in the database after close", kind_name);
  }
  free (rc);
  fx_done (&f);
}

static void
test_reopen (dx_store_kind kind)
{
  fixture f;
  if (!OK (fx_init (&f, kind, 0, 0), "%s: open", kind_name))
    return;
  recorder *rc = rec_new ();
  fill (&f, rc, "r", 5);
  char epoch[16];
  snprintf (epoch, sizeof epoch, "%s", dx_store_epoch (f.store));
  IS (dx_store_token_put (f.store, "tok-1", "alice"), 0, "%s: token put", kind_name);
  IS (dx_store_token_put (f.store, "tok-2", "bob"), 0, "%s: token put 2", kind_name);
  IS (dx_store_token_put (f.store, "tok-2", "bobby"), 0, "%s: token replaced", kind_name);
  IS (dx_store_token_put (f.store, "", "bob"), DX_EINVAL, "%s: empty token refused", kind_name);
  IS (dx_store_token_put (f.store, "t", ""), DX_EINVAL, "%s: empty nick refused", kind_name);
  const char *n1 = dx_store_token_nick (f.store, "tok-1");
  OK (n1 && strcmp (n1, "alice") == 0, "%s: token -> nick", kind_name);
  const char *n2 = dx_store_token_nick (f.store, "tok-2");
  OK (n2 && strcmp (n2, "bobby") == 0, "%s: replaced token -> new nick", kind_name);
  OK (dx_store_token_nick (f.store, "nope") == NULL, "%s: unknown token -> NULL", kind_name);

  if (kind == DX_STORE_SQLITE) {
    char errbuf[256] = "";
    dx_store *second = dx_store_open (f.loop, &f.cfg, errbuf, sizeof errbuf);
    OK (second == NULL && strstr (errbuf, "in use"),
        "%s: a second store on the same data dir is refused: %s", kind_name, errbuf);
    dx_store_close (second);
  }
  fx_reopen (&f);
  if (!OK (f.store != NULL, "%s: reopen", kind_name)) {
    free (rc);
    return;
  }
  if (kind == DX_STORE_SQLITE) {
    OK (strcmp (epoch, dx_store_epoch (f.store)) == 0, "%s: epoch survives a restart", kind_name);
    IS (dx_store_last_id (f.store, "r"), 5, "%s: last id loaded at open", kind_name);
    const char *n = dx_store_token_nick (f.store, "tok-2");
    OK (n && strcmp (n, "bobby") == 0, "%s: token survives a restart", kind_name);
    OK (dx_store_token_nick (f.store, "nope") == NULL, "%s: unknown token still NULL", kind_name);
    rc->n = rc->expected = 0;
    fill (&f, rc, "r", 3);
    OK (rc->n == 3 && rc->r[0].id == 6 && rc->r[2].id == 8, "%s: ids continue at 6", kind_name);
    OK (check_since (f.store, "r", 0, 100, 1, 8), "%s: all 8 readable after restart", kind_name);
    OK (check_before (f.store, "r", 7, 3, 4, 6), "%s: scrollback across the restart", kind_name);
  } else {
    OK (strcmp (epoch, dx_store_epoch (f.store)) != 0, "%s: a new epoch at each open", kind_name);
    IS (dx_store_last_id (f.store, "r"), 0, "%s: history gone after reopen", kind_name);
    OK (dx_store_token_nick (f.store, "tok-1") == NULL, "%s: tokens gone after reopen", kind_name);
  }
  free (rc);
  fx_done (&f);
}

static void
test_token_cap (void)
{
  fixture f;
  if (!fx_init (&f, DX_STORE_MEMORY, 0, 0))
    return;
  dx_store_close (f.store);
  run_loop_once (f.loop);
  f.cfg.token_cap = 3;
  fx_open (&f);
  IS (dx_store_token_put (f.store, "a", "n"), 0, "memory: token 1 of cap 3");
  IS (dx_store_token_put (f.store, "b", "n"), 0, "memory: token 2 of cap 3");
  IS (dx_store_token_put (f.store, "c", "n"), 0, "memory: token 3 of cap 3");
  IS (dx_store_token_put (f.store, "d", "n"), DX_ENOMEM, "memory: token 4 refused (cap)");
  IS (dx_store_token_put (f.store, "a", "m"), 0, "memory: replacing under the cap is fine");
  fx_done (&f);
}

#ifdef DX_HAVE_SQLITE
static void
test_sqlite_durable_ack (void)
{
  fixture f;
  if (!OK (fx_init (&f, DX_STORE_SQLITE, 0, 0), "sqlite: open"))
    return;
  dx_store_close (f.store);
  run_loop_once (f.loop);
  f.cfg.sync = DX_STORE_SYNC_FULL; /* the default: one fsync per commit */
  if (!OK (fx_open (&f), "sqlite: reopen with synchronous=FULL"))
    return;
  char path[1200];
  dx_fs_join (path, sizeof path, f.dir, "duplex.db");
  recorder *rc = rec_new ();
  rc->db_path = path;
  for (int i = 0; i < 20; i++)
    append (f.store, rc, i, i % 2 ? "odd" : "even", NULL, "x", NULL);
  run_until (f.loop, rec_complete, rc);
  OK (rc->n == 20 && rc->rows_missing == 0,
      "sqlite: in every callback, a separate connection finds the row");
  free (rc);
  fx_done (&f);
}

static void
test_sqlite_group_commit (void)
{
  fixture f;
  if (!OK (fx_init (&f, DX_STORE_SQLITE, 0, 0), "sqlite: open"))
    return;
  recorder *rc = rec_new ();
  for (int i = 0; i < 1000; i++)
    append (f.store, rc, i, "r", NULL, "x", NULL);
  run_until (f.loop, rec_complete, rc);
  dx_store_stats st;
  dx_store_get_stats (f.store, &st);
  IS (st.appends, 1000, "sqlite: 1000 appends acknowledged");
  OK (st.transactions >= 1 && st.transactions < 1000,
      "sqlite: group commit: %" PRIu64 " transactions for 1000 messages", st.transactions);
  fx_done (&f);

  if (!OK (fx_init (&f, DX_STORE_SQLITE, 0, 0), "sqlite: open with max_batch 1"))
    return;
  dx_store_close (f.store);
  run_loop_once (f.loop);
  f.cfg.max_batch = 1;
  fx_open (&f);
  memset (rc, 0, sizeof *rc);
  for (int i = 0; i < 100; i++)
    append (f.store, rc, i, "r", NULL, "x", NULL);
  run_until (f.loop, rec_complete, rc);
  dx_store_get_stats (f.store, &st);
  IS (st.transactions, 100, "sqlite: max_batch 1: one transaction per message");
  free (rc);
  fx_done (&f);
}

static long
file_size (const char *dir, const char *name)
{
  char path[1200];
  dx_fs_join (path, sizeof path, dir, name);
  FILE *f = fopen (path, "rb");
  if (!f)
    return -1;
  long n = fseek (f, 0, SEEK_END) == 0 ? ftell (f) : -1;
  fclose (f);
  return n;
}

static bool
db_holds_24mib (void *arg)
{
  return file_size (arg, "duplex.db") >= 24L << 20;
}

typedef struct {
  size_t n;
  uint64_t last;
} big_reads;

static bool
on_big_read (void *arg, const dx_stored_msg *m)
{
  big_reads *r = arg;
  if (m->text_len == 4000 && m->text[0] == 'c' && m->text[3999] == 'c') {
    r->n++;
    r->last = m->id;
  }
  return true;
}

/* Checkpoints run beside the writer (store-sqlite.c, on_wal_commit), not
 * in a commit: while the store is open, 32 MB of messages reach the
 * database file and the WAL is started over instead of growing with them. */
static void
test_sqlite_checkpoint (void)
{
  fixture f;
  if (!OK (fx_init (&f, DX_STORE_SQLITE, 0, 0), "sqlite: open"))
    return;
  /* Commits of at most 256 KiB, as under a steady load, so that the WAL's
   * size is the checkpoints' doing, not one commit's. */
  f.cfg.max_batch = 64;
  fx_reopen (&f);
  char *text = malloc (4001);
  memset (text, 'c', 4000);
  text[4000] = '\0';
  size_t acked = 0;
  for (int round = 0; round < 2; round++) {
    recorder *rc = rec_new ();
    for (int i = 0; i < 4000; i++)
      append (f.store, rc, i, "big", NULL, text, NULL);
    run_until (f.loop, rec_complete, rc);
    acked += rc->n;
    free (rc);
  }
  IS ((long long) acked, 8000LL, "sqlite: 8000 messages of 4000 bytes acknowledged");
  OK (run_until (f.loop, db_holds_24mib, f.dir),
      "sqlite: checkpointed into the database while open (%ld bytes)",
      file_size (f.dir, "duplex.db"));
  long wal = file_size (f.dir, "duplex.db-wal");
  OK (wal >= 0 && wal < 20L << 20, "sqlite: the WAL started over, not grown (%ld bytes)", wal);
  fx_reopen (&f);
  big_reads r = { 0, 0 };
  OK (f.store && dx_store_read_since (f.store, "big", 7990, 100, on_big_read, &r) == 10 && r.n == 10
          && r.last == 8000,
      "sqlite: after a reopen the last messages read back whole");
  free (text);
  fx_done (&f);
}

/* A commit that fails: another process put a row where the store's next
 * id goes (the rooms table does not know it), so the INSERT violates the
 * primary key. */
static void
test_sqlite_storage_error (void)
{
  fixture f;
  if (!OK (fx_init (&f, DX_STORE_SQLITE, 0, 0), "sqlite: open"))
    return;
  char path[1200];
  dx_fs_join (path, sizeof path, f.dir, "duplex.db");
  sqlite3 *db = NULL;
  bool planted = sqlite3_open (path, &db) == SQLITE_OK
                 && sqlite3_exec (db,
                                  "INSERT INTO messages (room, id, ts, nick, text)"
                                  " VALUES ('r', 2, 1, 'mallory', 'in the way')",
                                  NULL, NULL, NULL)
                        == SQLITE_OK;
  sqlite3_close (db);
  OK (planted, "sqlite: a conflicting row planted");
  recorder *rc = rec_new ();
  append (f.store, rc, 0, "r", NULL, "msg-1", NULL);
  run_until (f.loop, rec_complete, rc);
  OK (rc->n == 1 && rc->r[0].status == 0 && rc->r[0].id == 1, "sqlite: id 1 stored");
  append (f.store, rc, 1, "r", NULL, "two", NULL);
  append (f.store, rc, 2, "r", NULL, "three", NULL);
  run_until (f.loop, rec_complete, rc);
  OK (rc->n == 3 && rc->r[1].status == DX_EIO && rc->r[2].status == DX_EIO,
      "sqlite: the failed commit answers DX_EIO, nothing acknowledged");
  IS (dx_store_last_id (f.store, "r"), 1, "sqlite: last_id unchanged by the failure");
  OK (dx_store_last_error (f.store) != NULL, "sqlite: last_error says why");
  printf ("#   last_error: %s\n",
          dx_store_last_error (f.store) ? dx_store_last_error (f.store) : "");
  IS (append (f.store, rc, 3, "other", NULL, "four", NULL), DX_EIO,
      "sqlite: the error is sticky: later appends refused at once");
  dx_store_stats st;
  dx_store_get_stats (f.store, &st);
  IS (st.errors, 2, "sqlite: stats.errors");
  OK (check_since (f.store, "r", 0, 10, 1, 1), "sqlite: reads still work (id 1 only)");
  free (rc);
  fx_done (&f);
}

static void
test_sqlite_bad_dir (void)
{
  int err = 0;
  dx_loop *loop = dx_loop_new (&err);
  dx_store_config cfg;
  dx_store_config_init (&cfg);
  cfg.kind = DX_STORE_SQLITE;
  char dir[1024], file[1200], sub[1300], errbuf[256];

  /* A data dir below a regular file cannot be created. */
  make_dir_name (dir, sizeof dir);
  dx_fs_mkdirs (dir);
  dx_fs_join (file, sizeof file, dir, "file");
  FILE *fp = fopen (file, "w");
  if (fp)
    fclose (fp);
  dx_fs_join (sub, sizeof sub, file, "db");
  cfg.data_dir = sub;
  errbuf[0] = '\0';
  dx_store *s = dx_store_open (loop, &cfg, errbuf, sizeof errbuf);
  OK (s == NULL, "sqlite: a data dir below a file -> NULL");
  OK (strstr (errbuf, sub) && !strchr (errbuf, '\n'), "sqlite: one-line reason naming the dir");
  printf ("#   reason: %s\n", errbuf);
  dx_store_close (s);

  cfg.data_dir = file; /* a file, not a directory */
  errbuf[0] = '\0';
  s = dx_store_open (loop, &cfg, errbuf, sizeof errbuf);
  OK (s == NULL && errbuf[0], "sqlite: a data dir that is a file -> NULL with a reason");
  printf ("#   reason: %s\n", errbuf);
  dx_store_close (s);

  cfg.data_dir = NULL;
  errbuf[0] = '\0';
  s = dx_store_open (loop, &cfg, errbuf, sizeof errbuf);
  OK (s == NULL && errbuf[0], "sqlite: no data dir -> NULL with a reason");
  dx_store_close (s);

#ifndef _WIN32
  /* A directory without write permission (meaningless for root). */
  char ro[1200];
  dx_fs_join (ro, sizeof ro, dir, "ro");
  dx_fs_mkdirs (ro);
  chmod (ro, 0555);
  if (dx_fs_check_writable_dir (ro) == 0) {
    printf ("ok %d # SKIP read-only dir: running as root, permissions do not apply\n", ++tap_count);
  } else {
    cfg.data_dir = ro;
    errbuf[0] = '\0';
    s = dx_store_open (loop, &cfg, errbuf, sizeof errbuf);
    OK (s == NULL && strstr (errbuf, "not writable"), "sqlite: a read-only dir -> NULL: %s",
        errbuf);
    dx_store_close (s);
  }
  chmod (ro, 0755);
  remove (ro);
#endif

  /* Not a database. */
  cfg.data_dir = dir;
  char dbp[1200];
  dx_fs_join (dbp, sizeof dbp, dir, "duplex.db");
  fp = fopen (dbp, "w");
  if (fp) {
    fputs ("this is not an sqlite database, not at all, it is plain text...........\n", fp);
    fclose (fp);
  }
  errbuf[0] = '\0';
  s = dx_store_open (loop, &cfg, errbuf, sizeof errbuf);
  OK (s == NULL && errbuf[0], "sqlite: a corrupt database -> NULL with a reason");
  printf ("#   reason: %s\n", errbuf);
  dx_store_close (s);
  dx_loop_run (loop);
  IS (dx_loop_free (loop), 0, "sqlite: failed opens leave no handle behind");
  remove_dir (dir);
}
#endif

int
main (void)
{
  dx_store_kind kinds[2] = { DX_STORE_MEMORY, DX_STORE_SQLITE };
  dx_store_kind k;
  OK (dx_store_kind_parse ("sqlite", &k) && k == DX_STORE_SQLITE, "kind_parse sqlite");
  OK (dx_store_kind_parse ("memory", &k) && k == DX_STORE_MEMORY, "kind_parse memory");
  OK (!dx_store_kind_parse ("disk", &k), "kind_parse rejects unknown");
  char e1[16], e2[16];
  dx_store_make_epoch (e1);
  dx_store_make_epoch (e2);
  OK (strlen (e1) == 12 && strspn (e1, "0123456789abcdef") == 12 && strcmp (e1, e2) != 0,
      "epochs: 12 hex characters, two in a row differ");

  for (int i = 0; i < 2; i++) {
    dx_store_kind kind = kinds[i];
    kind_name = dx_store_kind_name (kind);
    if (kind == DX_STORE_SQLITE && !dx_store_sqlite_available ()) {
      int err = 0;
      dx_loop *loop = dx_loop_new (&err);
      dx_store_config cfg;
      dx_store_config_init (&cfg);
      cfg.kind = DX_STORE_SQLITE;
      cfg.data_dir = ".";
      char errbuf[256] = "";
      dx_store *s = dx_store_open (loop, &cfg, errbuf, sizeof errbuf);
      OK (s == NULL && strstr (errbuf, "not built in"), "sqlite not built: clear error: %s",
          errbuf);
      dx_loop_free (loop);
      continue;
    }
    test_ids (kind);
    test_invalid (kind);
    test_ring (kind);
    test_ring_growth (kind);
    test_limit (kind);
    test_dedup (kind);
    test_sender_windows (kind);
    test_close_waits (kind);
    test_reopen (kind);
  }
  kind_name = "memory";
  test_memory_evicted_dedup ();
  test_token_cap ();
  test_view ();
#ifdef DX_HAVE_SQLITE
  test_sqlite_durable_ack ();
  test_sqlite_group_commit ();
  test_sqlite_checkpoint ();
  test_sqlite_storage_error ();
  test_sqlite_bad_dir ();
#endif
  printf ("1..%d\n", tap_count);
  return tap_failed ? 1 : 0;
}
