/* A room's live side: its subscribers (socket clients, SSE streams and
 * waiting long polls). History lives in the store; a room object exists
 * only while somebody is subscribed (see hub.h). */
#ifndef DX_SERVER_ROOM_H
#define DX_SERVER_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/names.h"
#include "server/shared-event.h"

typedef struct dx_room dx_room;
typedef struct dx_sub dx_sub;

typedef enum {
  DX_SUB_SOCKET,   /* WebSocket / raw TCP client: counted online, presence */
  DX_SUB_SSE,      /* SSE stream: counted online, receives presence */
  DX_SUB_LONGPOLL, /* waiting long poll: first message only */
} dx_sub_kind;

typedef struct {
  /* A committed chat message of the room; called in id order. The sub may
   * unsubscribe itself (or close its connection) from here, but must not
   * touch other subscribers. */
  void (*message) (dx_sub *sub, dx_shared_event *msg);
  /* A presence event (NULL for kinds that do not want presence). */
  void (*presence) (dx_sub *sub, dx_shared_event *ev);
  /* --redis: the history of record was lost and numbering starts again
   * under a new epoch (docs/protocol.md §7). May unsubscribe sub. */
  void (*epoch) (dx_sub *sub);
} dx_sub_ops;

struct dx_sub {
  const dx_sub_ops *ops;
  dx_sub_kind kind;
  dx_room *room; /* NULL when not subscribed */
  dx_sub *prev, *next;
  char nick[DX_NICK_MAX + 1]; /* socket clients: who, for presence */
  uint64_t next_id;           /* the next message id this subscriber expects */
  void *owner;
};

struct dx_room {
  char name[DX_ROOM_MAX + 1];
  dx_sub *subs;
  size_t n_subs;
  size_t online; /* socket clients + SSE streams */
};

/* Number of socket-client subscribers of room with this nick. */
size_t dx_room_nick_count (const dx_room *room, const char *nick);

#endif
