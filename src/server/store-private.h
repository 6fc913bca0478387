/* Internals shared by store.c and its backends (store-memory.c,
 * store-sqlite.c). Not for the rest of the server: use store.h. */
#ifndef DX_SERVER_STORE_PRIVATE_H
#define DX_SERVER_STORE_PRIVATE_H

#include "protocol/compiler.h"
#include "server/msg-ring.h"
#include "server/store-entry.h"
#include "server/store.h"
#include "server/strmap.h"

typedef struct dx_store_room dx_store_room;
typedef struct dx_store_pending dx_store_pending;

/* A waiting duplicate: its callback runs once its original is settled. */
typedef struct dx_store_waiter {
  struct dx_store_waiter *next;
  dx_store_append_cb cb;
  void *arg;
} dx_store_waiter;

/* One append on its way to durability. The backend links pendings through
 * next (its queue), the room through room_next (its in-flight list). */
struct dx_store_pending {
  dx_store_pending *next;
  dx_store_pending *room_next;
  dx_store_room *room;
  dx_store_entry *entry; /* the message; NULL for a settled duplicate */
  char *sender_key;      /* NULL if none (kept for the database row) */
  dx_store_append_cb cb;
  void *arg;
  uint64_t t0_us;         /* dx_monotonic_us() at append, for the latency histogram */
  int status;             /* set by the backend before it hands the pending back */
  bool duplicate;         /* a duplicate of a durable message, answered later */
  bool batch_first;       /* set by the backend: first append of a transaction */
  dx_store_entry *dup_of; /* duplicate: a private copy of the original */
  dx_store_waiter *waiters;
};

/* Backend operations. All run on the loop thread unless noted. */
typedef struct {
  const char *name;
  /* Opens storage: sets store->epoch, calls dx_store_room_loaded for each
   * room that has messages. 0, or <0 with a one-line reason in err. */
  int (*open) (dx_store *store, char *err, size_t errlen);
  /* Takes ownership of p (appended to the backend queue, in call order).
   * Later the backend hands it back (with p->status set) through collect. */
  void (*submit) (dx_store *store, dx_store_pending *p);
  /* Takes every settled pending, oldest first, as a list linked by next. */
  dx_store_pending *(*collect) (dx_store *store);
  /* Blocks until every submitted pending is settled (dx_store_close). */
  void (*drain) (dx_store *store);
  /* Frees the backend (after drain and the last collect). */
  void (*close) (dx_store *store);
  /* Optional (sqlite): messages of room with after < id <= upto, ascending,
   * at most limit. Returns the count visited or DX_EIO. */
  int (*read_range) (dx_store *store, const char *room, uint64_t after, uint64_t upto, size_t limit,
                     dx_store_visit_fn visit, void *arg);
  /* Optional (sqlite): the sender's last DX_STORE_DEDUP_WINDOW messages with a
   * cid in room, newest first, through add. 0 or DX_EIO. */
  int (*dedup_load) (dx_store *store, const char *room, const char *sender_key,
                     void (*add) (void *ctx, uint64_t id, uint64_t ts, const char *cid), void *ctx);
  /* Optional (sqlite): persist a token (queued with the next commit). */
  int (*token_put) (dx_store *store, const char *token, const char *nick);
  /* Optional (sqlite): look a token up in the database; writes the nick
   * into buf. 1 found, 0 unknown, DX_EIO. */
  int (*token_get) (dx_store *store, const char *token, char *buf, size_t len);
} dx_store_backend;

extern const dx_store_backend dx_store_memory_backend;
#ifdef DX_HAVE_SQLITE
extern const dx_store_backend dx_store_sqlite_backend;
#endif

/* Fields of dx_store the backends use. */
typedef struct {
  dx_loop *loop;
  dx_async *wake; /* the store's only handle: completions and deferred answers */
  dx_store_config cfg;
  char epoch[16];
  void *backend; /* the backend's own state */
  char last_error[256];
} dx_store_shared;

dx_store_shared *dx_store_shared_of (dx_store *store);

/* For backend open: a room found in storage with its newest id and ts. */
int dx_store_room_loaded (dx_store *store, const char *room, uint64_t last_id, uint64_t last_ts);

/* Writes 12 lowercase hex characters + NUL into out (at least 13 bytes). */
void dx_store_make_epoch (char *out);

/* snprintf into the store's last_error (for dx_store_last_error). */
void dx_store_set_error (dx_store *store, const char *fmt, ...) DX_PRINTF_FORMAT (2, 3);

/* ---- the store's own state: store.c and store-read.c only (a backend
 * sees dx_store_shared) ---- */

struct dx_store_room {
  char *name;
  uint64_t next_id;  /* the id the next append gets */
  uint64_t last_id;  /* the newest durable id */
  uint64_t last_ts;  /* the ts given to the newest append */
  dx_msg_ring ring;  /* durable messages last_id - ring.count + 1 .. last_id */
  dx_strmap senders; /* sender_key -> dx_dedup_window */
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

/* The room of this name, or NULL (none yet, or not a valid name). */
dx_store_room *dx_store_room_find (const dx_store *s, const char *name);
/* The oldest id r's ring keeps; last_id + 1 when it keeps none. */
uint64_t dx_store_room_first_kept (const dx_store_room *r);
/* The public view of an entry (pointers into it). */
dx_stored_msg dx_store_entry_msg (const dx_store_entry *e);

#endif
