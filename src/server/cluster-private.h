/* What cluster.c (the view, publishes, the epoch, the two connections),
 * cluster-follow.c (which rooms the node follows: batched subscriptions,
 * reads waiting for a room's view) and cluster-presence.c (presence across
 * nodes) share (docs/protocol.md §7). */
#ifndef DX_SERVER_CLUSTER_PRIVATE_H
#define DX_SERVER_CLUSTER_PRIVATE_H

#include "protocol/names.h"
#include "server/cluster.h"
#include "server/hub.h"
#include "server/presence.h"
#include "server/redis-conn.h"
#include "server/strmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The data set's keys, outside every room's slot but in one slot
 * together (the tag "@" is no room name), and the presence channel. */
#define KEY_CLUSTER "dx:{@}:cluster"
#define KEY_ROOMS "dx:{@}:rooms"
#define CH_PRESENCE "dx:{@}:presence"


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

typedef struct pub_ctx pub_ctx; /* a publish in flight (cluster.c) */

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

/* cluster.c */
/* "dx:{ROOM}:WHAT" into out. */
void dx_cluster_room_key (char *out, size_t len, const char *room, const char *what);
/* The room's state, made if new (valid names only); NULL otherwise. */
cl_room *dx_cluster_room_get (dx_cluster *c, const char *name);
/* One XRANGE of the room's stream after what the view holds (or once more
 * after the one in flight). */
void dx_cluster_catch_up (dx_cluster *c, cl_room *r);
bool dx_cluster_parse_u64 (const char *s, size_t len, uint64_t *out);

/* cluster-follow.c */
/* The flush timer and the command buffer; false when out of memory. */
bool dx_cluster_follow_init (dx_cluster *c);
void dx_cluster_follow_free (dx_cluster *c);
/* The room's subscription may have to change: sent at the end of this loop
 * iteration, with the other rooms' changes. */
void dx_cluster_queue_room (dx_cluster *c, cl_room *r);
/* Sends the queued changes now. */
void dx_cluster_flush_subscriptions (dx_cluster *c);
/* The subscriber connection is new or lost: no room is subscribed; those
 * still wanted are queued (sent once it is up). */
void dx_cluster_resubscribe_all (dx_cluster *c);
/* Unsubscribes the rooms past their grace; answers the reads that waited
 * too long (all: every waiting read). */
void dx_cluster_follow_check (dx_cluster *c, bool all);
/* A "subscribe" / "unsubscribe" confirmation of a room's channel. */
void dx_cluster_room_confirmed (dx_cluster *c, const char *room, bool subscribed);
/* The readers of r are answered now (from the view, current or not). */
void dx_cluster_wake_readers (dx_cluster *c, cl_room *r);
/* The hub's room_active hook. */
void dx_cluster_hook_room_active (void *arg, const char *room, bool active);

/* cluster-presence.c */
/* c->hook: the hub's presence hook (room_active included). */
void dx_cluster_presence_hook_init (dx_cluster *c);
/* A payload on CH_PRESENCE; ignored if malformed or this node's. */
void dx_cluster_presence_payload (dx_cluster *c, const char *p, size_t len);
/* This node's whole state of every room it has members in. */
void dx_cluster_heartbeat (dx_cluster *c);
/* dx_presence's notify: another node changed what the local members see. */
void dx_cluster_on_remote_presence (void *arg, const char *room, const char *nick, bool joined);

#endif
