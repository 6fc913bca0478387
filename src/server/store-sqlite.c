/* The SQLite backend: WAL, one writer thread doing group commit, and a
 * read connection used synchronously on the loop thread.
 *
 * Group commit: the loop queues appends (and token puts) under a mutex and
 * signals the writer. The writer takes everything queued (at most
 * max_batch appends), writes it in ONE transaction (BEGIN IMMEDIATE ..
 * COMMIT), then hands the batch back and wakes the loop with dx_async_send.
 * While a commit (and its fsync) runs, new appends pile up and ride the
 * next transaction, so under load the cost of a commit is shared by many
 * messages, and under no load a message waits for one commit only.
 *
 * Durability: synchronous=FULL by default, so an acknowledged message is
 * in the WAL on disk (fsync) and survives a process crash and a power
 * loss. synchronous=NORMAL (DX_STORE_SYNC_NORMAL) still survives a crash
 * of the server process (COMMIT has written the WAL frames to the OS), not
 * a crash of the OS. Group commit makes FULL affordable: one fsync per
 * batch, not per message.
 *
 * Schema (version 1):
 *   meta(key PRIMARY KEY, value)            -- 'schema' = '1', 'epoch'
 *   messages(room, id, ts, nick, text, cid, sender_key) PRIMARY KEY(room, id)
 *   rooms(name PRIMARY KEY, last_id, last_ts) -- so open does not scan messages
 *   tokens(token PRIMARY KEY, nick, created)
 * sender_key (the token) is stored only for messages with a cid: it is what
 * the cid dedup window is keyed on after a restart.
 *
 * duplex.lock beside the database is held exclusively while the store is
 * open (see take_dir_lock): one duplexd per data dir.
 *
 * Checkpoints (copying the WAL into the database) run on a thread and a
 * connection of their own, not in a commit: see on_wal_commit. */
#include "server/store-private.h"

#include "platform/fs.h"
#include "platform/thread.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dx_token_job {
  struct dx_token_job *next;
  char *nick; /* points into the same allocation as token */
  char token[];
} dx_token_job;

typedef struct {
  sqlite3 *wdb;    /* writer thread only (after open) */
  sqlite3 *rdb;    /* loop thread only */
  sqlite3 *lockdb; /* holds duplex.lock exclusively while the store is open */
  sqlite3 *cdb;    /* checkpointer thread only (after open) */
  sqlite3_stmt *w_insert, *w_room, *w_token;
  sqlite3_stmt *r_range, *r_dedup, *r_token;
  bool reading; /* a read statement is being stepped (guards re-entry) */
  dx_async *wake;
  size_t max_batch;

  dx_thread *thread;
  dx_thread *checkpointer;
  dx_mutex *mu;
  dx_cond *work_cv;  /* loop -> writer: something queued, or stop */
  dx_cond *idle_cv;  /* writer -> loop: a batch is done (drain waits on it) */
  dx_cond *ckpt_cv;  /* writer -> checkpointer: the WAL is long, or stop */
  dx_mutex *ckpt_mu; /* held around every checkpoint, the writer's and the checkpointer's */
  /* Guarded by mu. */
  dx_store_pending *q_head, *q_tail; /* to write */
  dx_token_job *t_head, *t_tail;
  dx_store_pending *d_head, *d_tail; /* written (or failed), to collect */
  bool busy;                         /* the writer holds a batch */
  bool ckpt_wanted;
  bool stopping;
  bool failed;   /* a transaction failed: refuse everything after it */
  char err[200]; /* the writer's last error, copied to the store on collect */
} dx_sqlite_state;

static dx_sqlite_state *
state_of (dx_store *store)
{
  return dx_store_shared_of (store)->backend;
}

/* ---- writer thread -------------------------------------------------------- */

static int
bind_opt_text (sqlite3_stmt *st, int i, const char *v)
{
  return v ? sqlite3_bind_text (st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null (st, i);
}

static bool
step_done (sqlite3_stmt *st)
{
  int rc = sqlite3_step (st);
  sqlite3_reset (st);
  sqlite3_clear_bindings (st);
  return rc == SQLITE_DONE;
}

static bool
write_message (dx_sqlite_state *st, const dx_store_pending *p)
{
  const dx_store_entry *e = p->entry;
  sqlite3_stmt *s = st->w_insert;
  sqlite3_bind_text (s, 1, e->room, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (s, 2, (sqlite3_int64) e->id);
  sqlite3_bind_int64 (s, 3, (sqlite3_int64) e->ts);
  sqlite3_bind_text (s, 4, e->from, -1, SQLITE_STATIC);
  sqlite3_bind_text (s, 5, e->text, (int) e->text_len, SQLITE_STATIC);
  bind_opt_text (s, 6, e->cid);
  bind_opt_text (s, 7, e->cid ? p->sender_key : NULL);
  return step_done (s);
}

static bool
write_room (dx_sqlite_state *st, const dx_store_entry *e)
{
  sqlite3_stmt *s = st->w_room;
  sqlite3_bind_text (s, 1, e->room, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (s, 2, (sqlite3_int64) e->id);
  sqlite3_bind_int64 (s, 3, (sqlite3_int64) e->ts);
  return step_done (s);
}

static bool
write_token (dx_sqlite_state *st, const dx_token_job *t)
{
  sqlite3_stmt *s = st->w_token;
  sqlite3_bind_text (s, 1, t->token, -1, SQLITE_STATIC);
  sqlite3_bind_text (s, 2, t->nick, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (s, 3, (sqlite3_int64) dx_wall_ms ());
  return step_done (s);
}

/* One transaction for the whole batch. The entries are immutable while
 * they are queued, and room names live as long as the store. */
static int
write_batch (dx_sqlite_state *st, dx_store_pending *batch, dx_token_job *tokens, char *err,
             size_t errlen)
{
  bool ok = sqlite3_exec (st->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
  for (dx_store_pending *p = batch; ok && p; p = p->next) {
    ok = write_message (st, p);
    /* The room row once per run of one room (ids only grow within a batch). */
    if (ok && (!p->next || p->next->room != p->room))
      ok = write_room (st, p->entry);
  }
  for (dx_token_job *t = tokens; ok && t; t = t->next)
    ok = write_token (st, t);
  if (ok && sqlite3_exec (st->wdb, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
    return 0;
  snprintf (err, errlen, "sqlite write failed: %s", sqlite3_errmsg (st->wdb));
  sqlite3_exec (st->wdb, "ROLLBACK", NULL, NULL, NULL);
  return DX_EIO;
}

static void
writer_main (void *arg)
{
  dx_sqlite_state *st = arg;
  dx_mutex_lock (st->mu);
  for (;;) {
    while (!st->q_head && !st->t_head && !st->stopping)
      dx_cond_wait (st->work_cv, st->mu);
    if (!st->q_head && !st->t_head)
      break; /* stopping, and nothing left to write */
    /* Take up to max_batch appends and every queued token. */
    dx_store_pending *batch = st->q_head, *last = NULL;
    size_t n = 0;
    for (dx_store_pending *p = batch; p && n < st->max_batch; p = p->next, n++)
      last = p;
    if (last) {
      st->q_head = last->next;
      if (!st->q_head)
        st->q_tail = NULL;
      last->next = NULL;
    }
    dx_token_job *tokens = st->t_head;
    st->t_head = st->t_tail = NULL;
    bool failed = st->failed;
    st->busy = true;
    dx_mutex_unlock (st->mu);

    char err[sizeof st->err] = "";
    int rc = failed ? DX_EIO : write_batch (st, batch, tokens, err, sizeof err);
    for (dx_store_pending *p = batch; p; p = p->next) {
      p->status = rc;
      p->batch_first = (p == batch) && rc == 0;
    }
    while (tokens) {
      dx_token_job *next = tokens->next;
      free (tokens);
      tokens = next;
    }

    dx_mutex_lock (st->mu);
    if (rc != 0 && !failed) {
      st->failed = true;
      memcpy (st->err, err, sizeof err);
    }
    if (batch) {
      if (st->d_tail)
        st->d_tail->next = batch;
      else
        st->d_head = batch;
      st->d_tail = last;
    }
    st->busy = false;
    dx_cond_broadcast (st->idle_cv);
    if (batch)
      dx_async_send (st->wake); /* thread-safe, never blocks */
  }
  dx_mutex_unlock (st->mu);
}

/* ---- checkpoints ---------------------------------------------------------- */

/* WAL pages after which the checkpointer is asked to run (SQLite's own
 * wal_autocheckpoint default), and after which the writer checkpoints
 * itself. A checkpoint beside the writer's commits copies what was
 * committed when it began, but under a steady stream of commits it never
 * finds the WAL copied whole, and only then may a commit start the WAL
 * over; the writer's own checkpoint, between two of its commits, copies
 * the little the checkpointer has not (and syncs the database) so that the
 * next commit does. The WAL stays near 16 MiB, and a commit pays for a
 * checkpoint a quarter as often as with SQLite's own. */
#define CHECKPOINT_PAGES 1000
#define CHECKPOINT_INLINE_PAGES (4 * CHECKPOINT_PAGES)

/* The writer's WAL hook, after every commit (writer thread, mu not held).
 * SQLite's automatic checkpoint runs here, in the commit that crosses the
 * threshold: that commit, and every send waiting for it, pays for copying
 * the WAL and an fsync of the database (tens of ms under load, seconds on
 * a busy disk). A PASSIVE checkpoint on another connection runs beside the
 * writer's commits instead. */
static int
on_wal_commit (void *arg, sqlite3 *db, const char *name, int pages)
{
  dx_sqlite_state *st = arg;
  if (pages >= CHECKPOINT_INLINE_PAGES) {
    /* After the checkpointer's, if one runs: a checkpoint that finds
     * another running does nothing (SQLITE_BUSY), and the checkpointer,
     * asked after every commit past CHECKPOINT_PAGES, nearly always is
     * (the WAL grew to 30 MB under Wine). */
    dx_mutex_lock (st->ckpt_mu);
    sqlite3_wal_checkpoint_v2 (db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    dx_mutex_unlock (st->ckpt_mu);
  } else if (pages >= CHECKPOINT_PAGES) {
    dx_mutex_lock (st->mu);
    st->ckpt_wanted = true;
    dx_cond_signal (st->ckpt_cv);
    dx_mutex_unlock (st->mu);
  }
  return SQLITE_OK;
}

static void
checkpointer_main (void *arg)
{
  dx_sqlite_state *st = arg;
  dx_mutex_lock (st->mu);
  for (;;) {
    while (!st->ckpt_wanted && !st->stopping)
      dx_cond_wait (st->ckpt_cv, st->mu);
    if (st->stopping)
      break; /* closing the last connection checkpoints what is left */
    st->ckpt_wanted = false;
    dx_mutex_unlock (st->mu);
    /* PASSIVE copies what no reader still needs and never blocks the
     * writer; a WAL it copied whole is reused from its start by the next
     * commit. */
    dx_mutex_lock (st->ckpt_mu);
    sqlite3_wal_checkpoint_v2 (st->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    dx_mutex_unlock (st->ckpt_mu);
    dx_mutex_lock (st->mu);
  }
  dx_mutex_unlock (st->mu);
}

/* ---- backend operations (loop thread) ------------------------------------- */

static void
sqlite_submit (dx_store *store, dx_store_pending *p)
{
  dx_sqlite_state *st = state_of (store);
  p->next = NULL;
  dx_mutex_lock (st->mu);
  if (st->q_tail)
    st->q_tail->next = p;
  else
    st->q_head = p;
  st->q_tail = p;
  dx_cond_signal (st->work_cv);
  dx_mutex_unlock (st->mu);
}

static dx_store_pending *
sqlite_collect (dx_store *store)
{
  dx_sqlite_state *st = state_of (store);
  dx_mutex_lock (st->mu);
  dx_store_pending *list = st->d_head;
  st->d_head = st->d_tail = NULL;
  if (st->failed && st->err[0]) {
    dx_store_set_error (store, "%s", st->err);
    st->err[0] = '\0';
  }
  dx_mutex_unlock (st->mu);
  return list;
}

static void
sqlite_drain (dx_store *store)
{
  dx_sqlite_state *st = state_of (store);
  dx_mutex_lock (st->mu);
  while (st->q_head || st->t_head || st->busy)
    dx_cond_wait (st->idle_cv, st->mu);
  dx_mutex_unlock (st->mu);
}

static void
state_free (dx_sqlite_state *st)
{
  if (st->thread || st->checkpointer) {
    dx_mutex_lock (st->mu);
    st->stopping = true;
    dx_cond_signal (st->work_cv);
    dx_cond_signal (st->ckpt_cv);
    dx_mutex_unlock (st->mu);
  }
  if (st->thread)
    dx_thread_join (st->thread); /* writes what is still queued first */
  if (st->checkpointer)
    dx_thread_join (st->checkpointer);
  sqlite3_stmt *stmts[] = { st->w_insert, st->w_room,  st->w_token,
                            st->r_range,  st->r_dedup, st->r_token };
  for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
    sqlite3_finalize (stmts[i]);
  sqlite3_close (st->rdb);
  sqlite3_close (st->cdb);
  if (st->lockdb)
    sqlite3_exec (st->lockdb, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close (st->lockdb);
  sqlite3_close (st->wdb);
  if (st->work_cv)
    dx_cond_free (st->work_cv);
  if (st->idle_cv)
    dx_cond_free (st->idle_cv);
  if (st->ckpt_cv)
    dx_cond_free (st->ckpt_cv);
  if (st->ckpt_mu)
    dx_mutex_free (st->ckpt_mu);
  if (st->mu)
    dx_mutex_free (st->mu);
  free (st);
}

static void
sqlite_close (dx_store *store)
{
  dx_store_shared *sh = dx_store_shared_of (store);
  state_free (sh->backend);
  sh->backend = NULL;
}

static int
sqlite_read_range (dx_store *store, const char *room, uint64_t after, uint64_t upto, size_t limit,
                   dx_store_visit_fn visit, void *arg)
{
  dx_sqlite_state *st = state_of (store);
  if (st->reading)
    return DX_EALREADY; /* a visit callback read again: statements are not re-entrant */
  sqlite3_stmt *s = st->r_range;
  sqlite3_bind_text (s, 1, room, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (s, 2, (sqlite3_int64) after);
  sqlite3_bind_int64 (s, 3, (sqlite3_int64) upto);
  sqlite3_bind_int64 (s, 4, (sqlite3_int64) limit);
  st->reading = true;
  int n = 0, rc;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW) {
    dx_stored_msg m;
    m.room = room;
    m.id = (uint64_t) sqlite3_column_int64 (s, 0);
    m.ts = (uint64_t) sqlite3_column_int64 (s, 1);
    m.from = (const char *) sqlite3_column_text (s, 2);
    m.text = (const char *) sqlite3_column_text (s, 3);
    m.text_len = (size_t) sqlite3_column_bytes (s, 3);
    m.cid = (const char *) sqlite3_column_text (s, 4);
    if (!m.from || !m.text)
      continue; /* NULL columns cannot be written by this store */
    n++;
    if (!visit (arg, &m)) {
      rc = SQLITE_DONE;
      break;
    }
  }
  if (rc != SQLITE_DONE)
    dx_store_set_error (store, "sqlite read failed: %s", sqlite3_errmsg (st->rdb));
  sqlite3_reset (s); /* ends the read transaction: checkpoints can proceed */
  sqlite3_clear_bindings (s);
  st->reading = false;
  return rc == SQLITE_DONE ? n : DX_EIO;
}

static int
sqlite_dedup_load (dx_store *store, const char *room, const char *sender_key,
                   void (*add) (void *ctx, uint64_t id, uint64_t ts, const char *cid), void *ctx)
{
  dx_sqlite_state *st = state_of (store);
  sqlite3_stmt *s = st->r_dedup;
  sqlite3_bind_text (s, 1, room, -1, SQLITE_STATIC);
  sqlite3_bind_text (s, 2, sender_key, -1, SQLITE_STATIC);
  sqlite3_bind_int (s, 3, DX_STORE_DEDUP_WINDOW);
  int rc;
  while ((rc = sqlite3_step (s)) == SQLITE_ROW)
    add (ctx, (uint64_t) sqlite3_column_int64 (s, 0), (uint64_t) sqlite3_column_int64 (s, 1),
         (const char *) sqlite3_column_text (s, 2));
  if (rc != SQLITE_DONE)
    dx_store_set_error (store, "sqlite read failed: %s", sqlite3_errmsg (st->rdb));
  sqlite3_reset (s);
  sqlite3_clear_bindings (s);
  return rc == SQLITE_DONE ? 0 : DX_EIO;
}

static int
sqlite_token_put (dx_store *store, const char *token, const char *nick)
{
  dx_sqlite_state *st = state_of (store);
  size_t tlen = strlen (token), nlen = strlen (nick);
  dx_token_job *t = malloc (sizeof *t + tlen + 1 + nlen + 1);
  if (!t)
    return DX_ENOMEM;
  t->next = NULL;
  memcpy (t->token, token, tlen + 1);
  t->nick = t->token + tlen + 1;
  memcpy (t->nick, nick, nlen + 1);
  dx_mutex_lock (st->mu);
  if (st->t_tail)
    st->t_tail->next = t;
  else
    st->t_head = t;
  st->t_tail = t;
  dx_cond_signal (st->work_cv);
  dx_mutex_unlock (st->mu);
  return 0;
}

static int
sqlite_token_get (dx_store *store, const char *token, char *buf, size_t len)
{
  dx_sqlite_state *st = state_of (store);
  sqlite3_stmt *s = st->r_token;
  sqlite3_bind_text (s, 1, token, -1, SQLITE_STATIC);
  int rc = sqlite3_step (s), found = 0;
  if (rc == SQLITE_ROW) {
    const char *nick = (const char *) sqlite3_column_text (s, 0);
    if (nick && strlen (nick) < len) {
      memcpy (buf, nick, strlen (nick) + 1);
      found = 1;
    }
  } else if (rc != SQLITE_DONE) {
    dx_store_set_error (store, "sqlite read failed: %s", sqlite3_errmsg (st->rdb));
    found = DX_EIO;
  }
  sqlite3_reset (s);
  sqlite3_clear_bindings (s);
  return found;
}

/* ---- open ----------------------------------------------------------------- */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS messages ("
    "  room TEXT NOT NULL, id INTEGER NOT NULL, ts INTEGER NOT NULL,"
    "  nick TEXT NOT NULL, text TEXT NOT NULL, cid TEXT, sender_key TEXT,"
    "  PRIMARY KEY (room, id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS messages_by_sender"
    "  ON messages (room, sender_key, id) WHERE cid IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS rooms ("
    "  name TEXT PRIMARY KEY, last_id INTEGER NOT NULL, last_ts INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS tokens ("
    "  token TEXT PRIMARY KEY, nick TEXT NOT NULL, created INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '1');";

static int
fail (char *err, size_t errlen, sqlite3 *db, const char *what, const char *path)
{
  snprintf (err, errlen, "%s %s: %s", what, path, db ? sqlite3_errmsg (db) : "out of memory");
  return DX_EIO;
}

static int
prepare (sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
  return sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) == SQLITE_OK
             ? 0
             : DX_EIO;
}

/* A single-value query; writes the first column as text into buf. */
static int
query_text (sqlite3 *db, const char *sql, const char *param, char *buf, size_t len)
{
  sqlite3_stmt *s = NULL;
  int rc = DX_EIO;
  if (sqlite3_prepare_v2 (db, sql, -1, &s, NULL) != SQLITE_OK)
    return DX_EIO;
  if (param)
    sqlite3_bind_text (s, 1, param, -1, SQLITE_STATIC);
  if (sqlite3_step (s) == SQLITE_ROW && sqlite3_column_text (s, 0)) {
    snprintf (buf, len, "%s", (const char *) sqlite3_column_text (s, 0));
    rc = 0;
  }
  sqlite3_finalize (s);
  return rc;
}

/* For the writer and the checkpointer alike: a checkpoint syncs as its
 * connection says. */
static const char *
sync_pragma (const dx_store_config *cfg)
{
  return cfg->sync == DX_STORE_SYNC_NORMAL ? "PRAGMA synchronous=NORMAL"
                                           : "PRAGMA synchronous=FULL";
}

static int
configure_writer (dx_sqlite_state *st, const dx_store_config *cfg, char *epoch_out, char *err,
                  size_t errlen, const char *path)
{
  char mode[16];
  sqlite3_busy_timeout (st->wdb, 5000);
  if (query_text (st->wdb, "PRAGMA journal_mode=WAL", NULL, mode, sizeof mode) != 0
      || strcmp (mode, "wal") != 0)
    return fail (err, errlen, st->wdb, "cannot switch to WAL mode on", path);
  if (sqlite3_exec (st->wdb, sync_pragma (cfg), NULL, NULL, NULL) != SQLITE_OK
      || sqlite3_exec (st->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return fail (err, errlen, st->wdb, "cannot use database", path);
  char version[16], fresh[16];
  dx_store_make_epoch (fresh);
  sqlite3_stmt *ins = NULL;
  bool ok =
      sqlite3_exec (st->wdb, schema_sql, NULL, NULL, NULL) == SQLITE_OK
      && sqlite3_prepare_v2 (st->wdb, "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?)",
                             -1, &ins, NULL)
             == SQLITE_OK
      && sqlite3_bind_text (ins, 1, fresh, -1, SQLITE_STATIC) == SQLITE_OK
      && sqlite3_step (ins) == SQLITE_DONE;
  sqlite3_finalize (ins);
  if (!ok || sqlite3_exec (st->wdb, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    fail (err, errlen, st->wdb, "cannot create the schema in", path);
    sqlite3_exec (st->wdb, "ROLLBACK", NULL, NULL, NULL);
    return DX_EIO;
  }
  if (query_text (st->wdb, "SELECT value FROM meta WHERE key = 'schema'", NULL, version,
                  sizeof version)
          != 0
      || strcmp (version, "1") != 0) {
    snprintf (err, errlen, "database %s has schema version %s; this duplexd knows 1", path,
              version);
    return DX_EIO;
  }
  if (query_text (st->wdb, "SELECT value FROM meta WHERE key = 'epoch'", NULL, epoch_out, 16) != 0)
    return fail (err, errlen, st->wdb, "cannot read the epoch of", path);
  return 0;
}

static int
load_rooms (dx_store *store, sqlite3 *db)
{
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2 (db, "SELECT name, last_id, last_ts FROM rooms", -1, &s, NULL)
      != SQLITE_OK)
    return DX_EIO;
  int rc, r = 0;
  while (r == 0 && (rc = sqlite3_step (s)) == SQLITE_ROW) {
    const char *name = (const char *) sqlite3_column_text (s, 0);
    if (name && *name && strlen (name) <= DX_STORE_NAME_MAX)
      r = dx_store_room_loaded (store, name, (uint64_t) sqlite3_column_int64 (s, 1),
                                (uint64_t) sqlite3_column_int64 (s, 2));
  }
  if (r == 0 && rc != SQLITE_DONE)
    r = DX_EIO;
  sqlite3_finalize (s);
  return r;
}

/* One duplexd per data dir: two would hand out the same ids. SQLite's own
 * file locking is the portable lock here (fcntl on POSIX, LockFileEx on
 * Windows, released by the OS if the process dies): a small side database
 * in exclusive locking mode, with a write transaction held open for the
 * store's lifetime. A second store on the same dir fails at once. */
static int
take_dir_lock (dx_sqlite_state *st, const char *dir, char *err, size_t errlen)
{
  char path[4096];
  if (dx_fs_join (path, sizeof path, dir, "duplex.lock") != 0) {
    snprintf (err, errlen, "data dir path too long: %s", dir);
    return DX_EINVAL;
  }
  if (sqlite3_open_v2 (path, &st->lockdb,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)
      != SQLITE_OK) {
    fail (err, errlen, st->lockdb, "cannot lock data dir: cannot open", path);
    return DX_EIO;
  }
  int rc = sqlite3_exec (st->lockdb,
                         "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=DELETE;"
                         "CREATE TABLE IF NOT EXISTS owner (since INTEGER);"
                         "BEGIN EXCLUSIVE; DELETE FROM owner",
                         NULL, NULL, NULL);
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
    snprintf (err, errlen, "data dir %s is in use by another duplexd", dir);
    return DX_EALREADY;
  }
  if (rc != SQLITE_OK) {
    fail (err, errlen, st->lockdb, "cannot lock data dir with", path);
    return DX_EIO;
  }
  return 0;
}

static int
sqlite_open (dx_store *store, char *err, size_t errlen)
{
  dx_store_shared *sh = dx_store_shared_of (store);
  const dx_store_config *cfg = &sh->cfg;
  const char *dir = cfg->data_dir;
  char path[4096];
  int rc;
  if (!dir || !*dir) {
    snprintf (err, errlen, "store sqlite needs a data dir");
    return DX_EINVAL;
  }
  if ((rc = dx_fs_mkdirs (dir)) != 0) {
    /* fs.h reports "exists but is not a directory" as DX_EALREADY. */
    snprintf (err, errlen, "cannot create data dir %s: %s", dir,
              rc == DX_EALREADY ? "a file is in the way (not a directory)" : dx_strerror (rc));
    return rc;
  }
  if ((rc = dx_fs_check_writable_dir (dir)) != 0) {
    snprintf (err, errlen, "data dir %s is not writable: %s", dir, dx_strerror (rc));
    return rc;
  }
  if (dx_fs_join (path, sizeof path, dir, "duplex.db") != 0) {
    snprintf (err, errlen, "data dir path too long: %s", dir);
    return DX_EINVAL;
  }
  dx_sqlite_state *st = calloc (1, sizeof *st);
  if (!st) {
    snprintf (err, errlen, "store sqlite: out of memory");
    return DX_ENOMEM;
  }
  st->wake = sh->wake;
  st->max_batch = cfg->max_batch;
  if ((rc = take_dir_lock (st, dir, err, errlen)) != 0)
    goto out;
  rc = DX_EIO;
  if (sqlite3_open_v2 (path, &st->wdb,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)
      != SQLITE_OK) {
    fail (err, errlen, st->wdb, "cannot open database", path);
    goto out;
  }
  if (configure_writer (st, cfg, sh->epoch, err, errlen, path) != 0)
    goto out;
  if (sqlite3_open_v2 (path, &st->rdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
          != SQLITE_OK
      || sqlite3_busy_timeout (st->rdb, 5000) != SQLITE_OK
      || sqlite3_exec (st->rdb, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK) {
    fail (err, errlen, st->rdb, "cannot open database (read connection)", path);
    goto out;
  }
  if (sqlite3_open_v2 (path, &st->cdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
          != SQLITE_OK
      || sqlite3_exec (st->cdb, sync_pragma (cfg), NULL, NULL, NULL) != SQLITE_OK) {
    fail (err, errlen, st->cdb, "cannot open database (checkpoint connection)", path);
    goto out;
  }
  if (prepare (st->wdb,
               "INSERT INTO messages (room, id, ts, nick, text, cid, sender_key)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)",
               &st->w_insert)
          != 0
      || prepare (st->wdb,
                  "INSERT INTO rooms (name, last_id, last_ts) VALUES (?, ?, ?)"
                  " ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id,"
                  " last_ts = excluded.last_ts",
                  &st->w_room)
             != 0
      || prepare (st->wdb, "INSERT OR REPLACE INTO tokens (token, nick, created) VALUES (?, ?, ?)",
                  &st->w_token)
             != 0) {
    fail (err, errlen, st->wdb, "cannot prepare statements on", path);
    goto out;
  }
  if (prepare (st->rdb,
               "SELECT id, ts, nick, text, cid FROM messages"
               " WHERE room = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?",
               &st->r_range)
          != 0
      || prepare (st->rdb,
                  "SELECT id, ts, cid FROM messages WHERE room = ? AND sender_key = ?"
                  " AND cid IS NOT NULL ORDER BY id DESC LIMIT ?",
                  &st->r_dedup)
             != 0
      || prepare (st->rdb, "SELECT nick FROM tokens WHERE token = ?", &st->r_token) != 0) {
    fail (err, errlen, st->rdb, "cannot prepare statements on", path);
    goto out;
  }
  if (load_rooms (store, st->rdb) != 0) {
    fail (err, errlen, st->rdb, "cannot load rooms from", path);
    goto out;
  }
  st->mu = dx_mutex_new ();
  st->work_cv = dx_cond_new ();
  st->idle_cv = dx_cond_new ();
  st->ckpt_cv = dx_cond_new ();
  st->ckpt_mu = dx_mutex_new ();
  if (!st->mu || !st->work_cv || !st->idle_cv || !st->ckpt_cv || !st->ckpt_mu
      || dx_thread_start (&st->checkpointer, checkpointer_main, st) != 0) {
    st->checkpointer = NULL;
    snprintf (err, errlen, "store sqlite: cannot start the checkpoint thread");
    goto out;
  }
  /* Replaces SQLite's automatic checkpoint (itself a WAL hook). */
  sqlite3_wal_hook (st->wdb, on_wal_commit, st);
  if (dx_thread_start (&st->thread, writer_main, st) != 0) {
    st->thread = NULL;
    snprintf (err, errlen, "store sqlite: cannot start the writer thread");
    goto out;
  }
  sh->backend = st;
  return 0;
out:
  state_free (st);
  return rc;
}

const dx_store_backend dx_store_sqlite_backend = {
  .name = "sqlite",
  .open = sqlite_open,
  .submit = sqlite_submit,
  .collect = sqlite_collect,
  .drain = sqlite_drain,
  .close = sqlite_close,
  .read_range = sqlite_read_range,
  .dedup_load = sqlite_dedup_load,
  .token_put = sqlite_token_put,
  .token_get = sqlite_token_get,
};
