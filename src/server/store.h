/* duplexd history store: one interface, two backends.
 *
 *  - DX_STORE_MEMORY: a bounded ring of messages per room, nothing on disk.
 *  - DX_STORE_SQLITE: an SQLite database in data_dir (WAL), written by one
 *    writer thread that commits many appends per transaction (group commit).
 *    Present only when the build has SQLite (dx_store_sqlite_available()).
 *
 * Threading: every function below is called on the loop thread only, and
 * every callback runs on the loop thread, never from inside the call that
 * asked for it (except dx_store_close, which runs what is still pending).
 *
 * Ids: the store numbers each room's messages 1, 2, 3, ... with no gaps.
 * The id is fixed when dx_store_append is called (appends of one room are
 * committed and acknowledged in call order), but a message becomes visible
 * (dx_store_last_id, dx_store_read_*, dx_store_rooms) only once it is
 * durable, right before its callback runs. So "everything <= last_id comes
 * from a read, everything > last_id comes from the append callbacks" holds
 * for a subscriber that reads and subscribes in the same loop callback.
 *
 * Errors: functions returning int give 0 / a count, or a negative DX_E*
 * code from platform/loop.h.
 */
#ifndef DX_SERVER_STORE_H
#define DX_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/loop.h"
#include "server/store-limits.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dx_store dx_store;

typedef enum {
  DX_STORE_MEMORY,
  DX_STORE_SQLITE,
} dx_store_kind;

/* When a commit counts as done (sqlite only). */
typedef enum {
  /* synchronous=FULL: an acknowledged message survives a process crash
   * AND an OS crash / power loss (one fsync per group commit). Default. */
  DX_STORE_SYNC_FULL = 0,
  /* synchronous=NORMAL: survives a crash of the server process (the WAL
   * frames are in the OS page cache once COMMIT returns), but the last
   * commits may roll back on power loss. */
  DX_STORE_SYNC_NORMAL,
} dx_store_sync;

typedef struct {
  dx_store_kind kind;
  /* sqlite: the directory of the database file "duplex.db"; created
   * (with parents) if missing. Unused by the memory store. */
  const char *data_dir;
  /* Recent committed messages kept in RAM per room to serve reads without
   * the database. 0 means 1024. (memory store: see memory_cap.) */
  size_t ring_size;
  /* memory store: messages kept per room (older ones are forgotten).
   * 0 means 10000. The memory store keeps max(ring_size, memory_cap). */
  size_t memory_cap;
  /* sqlite: durability of a commit (see dx_store_sync). */
  dx_store_sync sync;
  /* sqlite: most appends per transaction. 0 means 4096; 1 means one
   * transaction per message (what the benchmark compares against). */
  size_t max_batch;
  /* Most session tokens held in RAM. memory store: dx_store_token_put
   * fails with DX_ENOMEM beyond it; sqlite: the RAM cache is dropped and
   * refilled from the database. 0 means 100000. */
  size_t token_cap;
} dx_store_config;

/* One stored message. Every pointer is valid only during the callback
 * that receives it: copy what you keep. text is NUL-terminated too. */
typedef struct {
  const char *room;
  uint64_t id;
  uint64_t ts;      /* ms since the Unix epoch, never less than the room's previous ts */
  const char *from; /* nick */
  const char *text;
  size_t text_len;
  const char *cid; /* NULL if the sender gave none */
} dx_stored_msg;

/* Fills cfg with the defaults (memory store, data_dir NULL, 0 = default sizes). */
void dx_store_config_init (dx_store_config *cfg);

/* True when this build has the SQLite backend. */
bool dx_store_sqlite_available (void);

/* "memory" / "sqlite" -> kind; false if unknown. */
bool dx_store_kind_parse (const char *name, dx_store_kind *out);
const char *dx_store_kind_name (dx_store_kind kind);

/* Opens the store (sqlite: creates data_dir and the database if missing,
 * loads every room's last id, creates or loads the epoch). On failure
 * returns NULL and writes a one-line reason (no trailing newline) into
 * err, e.g. "data dir /x is not writable: permission denied" or
 * "store sqlite is not built in"; the caller prints it and exits 1.
 * The store owns one dx_async on loop (so dx_loop_run keeps running
 * while the store is open). */
dx_store *dx_store_open (dx_loop *loop, const dx_store_config *cfg, char *err, size_t errlen);

dx_store_kind dx_store_get_kind (const dx_store *store);

/* The store's lifetime name: 12 lowercase hex characters, made once when
 * the store is created. sqlite: kept in the database, the same after a
 * restart; memory: new at each open. Valid until dx_store_close. */
const char *dx_store_epoch (const dx_store *store);

/* The room's newest durable id; 0 if nobody posted (also for any unknown
 * or invalid room: asking never creates anything). */
uint64_t dx_store_last_id (const dx_store *store, const char *room);

/* Called once per append, on the loop thread, after the message is durable
 * (sqlite: its transaction committed; memory: on a later loop iteration).
 *  - status 0: msg is the stored message; duplicate false: it is new (fan it
 *    out); duplicate true: (sender_key, room, cid) repeated an earlier
 *    message: msg is that ORIGINAL message (its id, ts, from, cid; its text
 *    if still kept, else the retry's text), nothing was stored, do not fan
 *    out again, just answer the sender with msg->id / msg->ts.
 *  - status < 0 (DX_EIO): a storage error; nothing was stored; msg is NULL.
 *    A storage error is sticky: every later append fails too (ids must not
 *    leave gaps); restart the server.
 *  - DX_ECANCELED is never used: dx_store_close completes every append.
 * Per room, callbacks of new messages run in id order. A duplicate sent
 * while its original is still in flight gets its callback right after the
 * original's (and the original's error status if that one fails). */
typedef void (*dx_store_append_cb) (void *arg, int status, const dx_stored_msg *msg,
                                    bool duplicate);

/* Appends a message to room: assigns the room's next id, ts = wall clock
 * (never below the room's previous ts), and queues the commit.
 * room/from/text/cid/sender_key are copied; they need not outlive the call.
 *  - sender_key: the sender's token; used only for cid dedup (NULL: no dedup).
 *  - cid: NULL or "" for none.
 * Returns 0 (cb will run exactly once) or a negative DX_E* and cb never runs:
 * DX_EINVAL for an empty/oversized room, from, text (text_len 0 or >
 * DX_STORE_TEXT_MAX, or an embedded NUL), cid, sender_key; DX_EIO after a
 * storage error; DX_ECANCELED once dx_store_close has begun (e.g. from a
 * callback it runs); DX_ENOMEM. The store does not check nick/room syntax:
 * the caller validates against docs/protocol.md §2 first. */
int dx_store_append (dx_store *store, const char *room, const char *from, const char *sender_key,
                     const char *text, size_t text_len, const char *cid, dx_store_append_cb cb,
                     void *arg);

/* Return false to stop the walk. msg is valid only during the call. A visit
 * function must not call dx_store_read_* again (sqlite answers DX_EALREADY). */
typedef bool (*dx_store_visit_fn) (void *arg, const dx_stored_msg *msg);

/* The durable messages of room with id > since, oldest first, at most
 * limit (clamped to DX_STORE_READ_MAX; 0 reads nothing). Served from the
 * room's RAM ring when it covers the range, else (sqlite) synchronously
 * from the database on the loop thread's read connection. The memory store
 * starts at its oldest kept message if since is older.
 * Returns the number of messages visited, or DX_EIO. */
int dx_store_read_since (dx_store *store, const char *room, uint64_t since, size_t limit,
                         dx_store_visit_fn visit, void *arg);

/* Every message with since < id <= upto, oldest first, read in chunks of
 * DX_STORE_READ_MAX (replaying a long history to a socket or an SSE
 * stream). Stops early when visit returns false or when nothing older is
 * kept (memory ring). Returns the id of the last message visit accepted
 * (since if none). */
uint64_t dx_store_read_range (dx_store *store, const char *room, uint64_t since, uint64_t upto,
                              dx_store_visit_fn visit, void *arg);

/* Scrollback: the (at most) limit durable messages with id < before,
 * the newest such ones, visited oldest first. before 0 reads nothing.
 * Returns the number visited, or DX_EIO. */
int dx_store_read_before (dx_store *store, const char *room, uint64_t before, size_t limit,
                          dx_store_visit_fn visit, void *arg);

/* Every room with at least one durable message, by name (strcmp order),
 * with its last id. visit returns false to stop. Returns the number
 * visited. */
typedef bool (*dx_store_room_fn) (void *arg, const char *room, uint64_t last_id);
int dx_store_rooms (dx_store *store, dx_store_room_fn visit, void *arg);

/* Session tokens (token -> nick). sqlite: written to the database with
 * the next group commit (so a token survives a restart; the put itself
 * returns at once; a put is durable once an append queued after it has
 * been acknowledged, or after dx_store_close). memory: RAM only.
 * Putting an existing token replaces its nick.
 * Returns 0, DX_EINVAL (empty or oversized token/nick), DX_ENOMEM. */
int dx_store_token_put (dx_store *store, const char *token, const char *nick);
/* The nick bound to token, or NULL if unknown. The pointer is valid until
 * the next call into the store. */
const char *dx_store_token_nick (dx_store *store, const char *token);

/* ---- a view of a history kept elsewhere (duplexd --redis) ----
 * A memory store can be a node's view of a room history whose record is
 * elsewhere: its owner feeds it the messages it learns, in id order, and
 * never appends. Every read above then serves the view. */

/* Adds msg as a durable message of its room (text, from, cid copied). Its
 * id must be the room's last_id + 1, or, with jump, anything above it (the
 * ids in between are gone for good: the room's ring restarts at msg).
 * Returns 0; DX_EALREADY when id <= last_id (nothing changes); DX_EINVAL
 * for a gap without jump or a bad field; DX_ENOMEM. */
int dx_store_learn (dx_store *store, const dx_stored_msg *msg, bool jump);
/* Forgets every room and message and takes epoch (1..15 characters) as the
 * store's epoch: the history of record was lost and started again. */
void dx_store_reset (dx_store *store, const char *epoch);

/* Write-latency statistics for /metrics. Latency is measured from
 * dx_store_append to the moment its commit is reported on the loop thread
 * (duplicates are not counted). */
#define DX_STORE_LATENCY_BUCKETS 12
/* Upper bounds (microseconds) of the histogram buckets, ascending:
 * 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000. */
extern const uint64_t dx_store_latency_bounds_us[DX_STORE_LATENCY_BUCKETS];

typedef struct {
  uint64_t appends;       /* messages stored (acknowledged, new) */
  uint64_t duplicates;    /* appends answered as duplicates */
  uint64_t errors;        /* appends failed with a storage error */
  uint64_t transactions;  /* sqlite: COMMITs done (group commit: <= appends); memory: batches */
  uint64_t latency_count; /* == appends */
  uint64_t latency_sum_us;
  /* Cumulative (Prometheus "le") counts: latency_le[i] = appends with
   * latency <= dx_store_latency_bounds_us[i]; +Inf is latency_count. */
  uint64_t latency_le[DX_STORE_LATENCY_BUCKETS];
  uint64_t pending; /* appends queued, not yet acknowledged */
} dx_store_stats;

void dx_store_get_stats (const dx_store *store, dx_store_stats *out);

/* The text of the last storage error (for the log), or NULL if none. */
const char *dx_store_last_error (const dx_store *store);

/* Waits until every pending append is durable and runs its callback (from
 * inside this call), stops the writer thread, closes the database and frees
 * the store. The store's dx_async is closed with dx_close: run the loop
 * once more (or let dx_loop_run return) before dx_loop_free. NULL is ok.
 * Not from inside a store callback. */
void dx_store_close (dx_store *store);

#ifdef __cplusplus
}
#endif

#endif
