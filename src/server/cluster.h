/* Several nodes, one chat (duplexd --redis, docs/protocol.md §7).
 *
 * Redis is the history of record. Keys (a hash tag per room, so a room's
 * keys share a Redis Cluster slot):
 *   dx:{@}:cluster    "EPOCH:SECRET" -- the data set's name and the key
 *                     that signs session tokens; the first node's random
 *                     value wins (SET NX); a new one means Redis lost its data
 *   dx:{@}:rooms      hash: room -> the epoch it was last written under
 *   dx:{@}:presence   pub/sub channel: every node's presence
 *   dx:{ROOM}:meta    hash: id (the last id), ts (the last ts), e (the epoch
 *                     its ids count under: the data set's, copied)
 *   dx:{ROOM}:log     stream; entry id "ID-0" is the message id; fields
 *                     f (from), t (text), s (ts), c (cid, if any); MAXLEN --history
 *   dx:{ROOM}:cid     hash "TOKEN\nCID" -> "ID TS" (retries), bounded by dx:{ROOM}:cidq
 *   dx:{ROOM}:ch      pub/sub channel: "EPOCH\nID\nTS\nFROM\nCID\nTEXT"
 * One Lua script does a publish atomically, on one room's keys (one slot):
 * the room's epoch check, cid dedup, next id, XADD, PUBLISH (EVALSHA; EVAL
 * again after NOSCRIPT). A room whose state is missing or counts under
 * another epoch is adopted only after a check of the data set's keys.
 *
 * The node's view of every room is a memory store (store.h, "a view of a
 * history kept elsewhere") that this module fills, in id order, from
 * three sources: the answers to its own publishes, the pub/sub channels of
 * the rooms it follows (one subscriber connection; SUBSCRIBE, many
 * channels per command, for the rooms with local members or a waiting
 * read; UNSUBSCRIBE GRACE_MS after the last one left), and catch-up reads
 * of the stream (XRANGE) -- one per room per node at a time, when a room's
 * subscription is confirmed, when a message arrives after a gap, when the
 * periodic position check finds the view behind. Every message the view
 * learns is fanned out through the hub, so every transport reads and
 * receives the view.
 *
 * The sender's answer comes first: a message that arrives on the
 * subscriber connection while this node's earlier publishes are still
 * unanswered waits until they are (its own publish among them). */
#ifndef DX_SERVER_CLUSTER_H
#define DX_SERVER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/loop.h"
#include "server/store.h"

typedef struct dx_cluster dx_cluster;
typedef struct dx_hub dx_hub;

typedef struct {
  bool up;           /* the command connection is up and the epoch known */
  bool subscribed;   /* the subscriber connection is up */
  uint64_t channels; /* room channels subscribed (rooms with local members or reads) */
  uint64_t subscribe_commands, unsubscribe_commands; /* each names up to 500 channels */
  uint64_t connects;                                 /* times a connection (either) came up */
  uint64_t failures; /* connection attempts failed or connections lost */
  uint64_t catchup_reads;
  uint64_t gaps_healed; /* catch-up reads that found messages the view missed */
  uint64_t epoch_changes;
  uint64_t publishes;        /* messages stored (new) */
  uint64_t publish_failures; /* publishes not known to be stored */
  uint64_t latency_count, latency_sum_us;
  uint64_t latency_le[DX_STORE_LATENCY_BUCKETS]; /* cumulative, dx_store_latency_bounds_us */
} dx_cluster_stats;

/* The epoch changed (Redis lost its data): every view is empty again. */
typedef void (*dx_cluster_epoch_fn) (void *arg, const char *epoch);

typedef struct {
  const char *url;     /* redis://... (already checked by the config) */
  const char *node_id; /* for the log and /api/v1/info */
  size_t history;      /* messages kept per room */
  dx_store *view;      /* a memory store, owned by the caller */
  dx_hub *hub;
  dx_cluster_epoch_fn on_epoch;
  void *on_epoch_arg;
} dx_cluster_config;

/* Starts connecting. NULL with a reason in err (bad URL, out of memory). */
dx_cluster *dx_cluster_new (dx_loop *loop, const dx_cluster_config *cfg, char *err, size_t errlen);
/* Pending publishes are answered DX_ECANCELED from inside this call. */
void dx_cluster_free (dx_cluster *c);

/* True when a publish can be tried now (Redis up, epoch known). */
bool dx_cluster_ready (const dx_cluster *c);

/* Called once per publish: status 0 with the stored message (duplicate:
 * the original's id and ts, nothing stored again), or DX_ETIMEDOUT (the
 * connection was lost first: it may have been stored, a retry with the
 * same cid tells), DX_ENOTCONN (the data set changed: not stored),
 * DX_ECANCELED (shutdown), DX_EIO (Redis refused it). */
typedef void (*dx_cluster_publish_cb) (void *arg, int status, const dx_stored_msg *msg,
                                       bool duplicate);
/* 0 (cb runs later, exactly once), DX_ENOTCONN (Redis unreachable now:
 * not stored), DX_EINVAL, DX_ENOMEM. After cb, a new message is learned by
 * the view and fanned out. */
int dx_cluster_publish (dx_cluster *c, const char *room, const char *from, const char *token,
                        const char *text, size_t text_len, const char *cid,
                        dx_cluster_publish_cb cb, void *arg);

/* Session tokens valid on every node: "NICK:NONCE:MAC", MAC an HMAC-SHA1
 * of "NICK:NONCE" with the data set's secret. 0, DX_ENOTCONN (secret not
 * known yet), DX_EINVAL, or the random source's error. */
int dx_cluster_new_token (dx_cluster *c, const char *nick, char *out, size_t outlen);
/* The nick of a valid token (valid until the next call), else NULL. */
const char *dx_cluster_token_nick (dx_cluster *c, const char *token);

/* Reads of a room (docs/protocol.md §7). The node follows only the rooms
 * it has members in, so its view of another room may be behind Redis.
 * true: the view of room is current (or Redis is unreachable and the view
 * is all there is): answer the read from it now. false: the node follows
 * the room from now on, and cb(arg) runs once, later, when the view is
 * current -- or, if Redis does not answer, within 3 s, to answer from the
 * view as it is -- unless dx_cluster_read_cancel (room, arg) comes first. */
typedef void (*dx_cluster_read_fn) (void *arg);
bool dx_cluster_read_room (dx_cluster *c, const char *room, dx_cluster_read_fn cb, void *arg);
void dx_cluster_read_cancel (dx_cluster *c, const char *room, void *arg);
/* The room's last id as far as the node knows: its view's, or Redis's at
 * the last position check (at most a second old) if that is newer. */
uint64_t dx_cluster_room_last_id (dx_cluster *c, const char *room);
/* Every room with messages the node knows of (from KEY_ROOMS, its view,
 * the position checks), with dx_cluster_room_last_id; for /api/v1/rooms. */
void dx_cluster_rooms (dx_cluster *c, dx_store_room_fn visit, void *arg);

const char *dx_cluster_node_id (const dx_cluster *c);
void dx_cluster_get_stats (const dx_cluster *c, dx_cluster_stats *out);

#endif
