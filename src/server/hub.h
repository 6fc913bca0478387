/* The hub: rooms by name (created on demand for any valid name, dropped
 * when their last subscriber leaves), membership, presence, and fan-out of
 * committed messages in id order.
 *
 * Re-entrancy: delivering to one subscriber may close its connection,
 * which unsubscribes it; presence caused by that is queued and sent after
 * the current fan-out, so no delivery ever touches another subscriber's
 * list links. */
#ifndef DX_SERVER_HUB_H
#define DX_SERVER_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/backlog.h"
#include "server/room.h"
#include "server/store.h"

typedef struct dx_hub dx_hub;

/* --redis: presence across nodes (cluster.c). A nick is in a room while
 * a socket client with it is a member on any node. */
typedef struct {
  /* This node's first member with nick joined room (joined), or its last
   * one left; online is the room's local online count now. */
  void (*changed) (void *arg, const char *room, const char *nick, bool joined, size_t online);
  /* Whether nick is in room on another node. */
  bool (*elsewhere) (void *arg, const char *room, const char *nick);
  /* The room's online count on the other nodes. */
  size_t (*online_elsewhere) (void *arg, const char *room);
  /* Every room with members on another node; visit returns false to stop. */
  void (*each_room_elsewhere) (void *arg, bool (*visit) (void *varg, const char *room), void *varg);
  /* room got its first local subscriber of any kind (active), or lost its
   * last one: the node follows the rooms it has members in. May be NULL. */
  void (*room_active) (void *arg, const char *room, bool active);
  void *arg;
} dx_hub_presence_hook;

dx_hub *dx_hub_new (void);
/* hook NULL: one node (the default). The hook must outlive the hub's use. */
void dx_hub_set_presence_hook (dx_hub *hub, const dx_hub_presence_hook *hook);
/* Another node says nick joined or left room: the local members get the
 * presence event (the caller decides it is news: see cluster.c). */
void dx_hub_presence (dx_hub *hub, const char *room, const char *nick, bool joined);
void dx_hub_free (dx_hub *hub);

/* The room if somebody is subscribed to it, else NULL. */
dx_room *dx_hub_find (dx_hub *hub, const char *name);
/* Adds sub (kind, ops, nick, next_id set by the caller) to room (valid
 * name). A socket client whose nick was not in the room yet makes a presence
 * "join" for the other members. false on out of memory. */
bool dx_hub_subscribe (dx_hub *hub, dx_sub *sub, const char *room);
/* Removes sub from its room (no-op if not subscribed); a socket client
 * whose nick is now gone from the room makes a presence "leave". */
void dx_hub_unsubscribe (dx_hub *hub, dx_sub *sub);
/* Fan-out of a committed message to the room's subscribers. */
void dx_hub_publish (dx_hub *hub, const dx_stored_msg *msg);
/* The same for a message this node accepted at accepted_us
 * (dx_monotonic_us, when the send arrived): the delivery backlog counts
 * from then (dx_hub_publish counts from now). */
void dx_hub_publish_accepted (dx_hub *hub, const dx_stored_msg *msg, uint64_t accepted_us);
/* The delivery backlog of the fan-outs (backlog.h); NULL when out of
 * memory at dx_hub_new (nothing is tracked then). */
dx_backlog *dx_hub_backlog (dx_hub *hub);
/* --redis: the epoch changed; every subscriber's epoch op runs. */
void dx_hub_epoch_changed (dx_hub *hub);
/* Online count (socket clients + SSE streams) of a room, on every node
 * with a presence hook; 0 if none. */
size_t dx_hub_online (dx_hub *hub, const char *room);

/* --redis: the rooms with members on other nodes, any order (none
 * without a presence hook). visit returns false to stop. */
void dx_hub_each_room_elsewhere (dx_hub *hub, bool (*visit) (void *arg, const char *room),
                                 void *arg);
/* Rooms with subscribers, any order. visit returns false to stop. */
typedef bool (*dx_hub_room_fn) (void *arg, const dx_room *room);
void dx_hub_each_room (dx_hub *hub, dx_hub_room_fn visit, void *arg);

#endif
