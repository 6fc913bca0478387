/* Replay of stored messages to one subscriber, the one place that reads
 * history for a live connection (socket join with since, SSE with since
 * or Last-Event-ID):
 *
 * - paced replay: batches of at most REPLAY_BATCH_BYTES / _MSGS, each
 *   sent in one write and the next read when it has been written, so a
 *   join since 0 on a long history neither blocks the loop nor queues the
 *   whole history. While it runs the subscriber's live messages wait (the
 *   replay reads the store up to the newest id, then hands over by setting
 *   sub->next_id).
 * - gap replay: an unpaced read of a short range, for the rare gap between
 *   what a subscriber got and a live message.
 *
 * The transport only says how one event is framed (dx_replay_frame_fn) or
 * sent (dx_replay_send_fn). */
#ifndef DX_SERVER_REPLAY_H
#define DX_SERVER_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/names.h"
#include "server/conn.h"
#include "server/room.h"

/* This transport's bytes for e (owned by e); NULL when out of memory. */
typedef dx_shared_buf *(*dx_replay_frame_fn) (void *arg, dx_shared_event *e);
/* Sends e (not live: no slow-consumer bound) and counts it. */
typedef void (*dx_replay_send_fn) (void *arg, dx_shared_event *e);

typedef struct dx_replay_write dx_replay_write;

typedef struct {
  dx_conn *conn;
  dx_sub *sub; /* its next_id is set when the replay has caught up */
  dx_replay_frame_fn frame;
  void *frame_arg;
  char room[DX_ROOM_MAX + 1];
  uint64_t pos;               /* last id sent */
  bool active;                /* replaying: live messages are left to it */
  dx_replay_write *in_flight; /* the batch being written, if any */
} dx_replay;

void dx_replay_init (dx_replay *r, dx_conn *conn, dx_sub *sub, dx_replay_frame_fn frame,
                     void *frame_arg);
/* (Re)starts a paced replay of room's messages after since (sub must be
 * subscribed to room). A batch already in flight carries on from since. */
void dx_replay_start (dx_replay *r, const char *room, uint64_t since);
/* The owner of r goes away: a batch in flight no longer touches r. */
void dx_replay_cancel (dx_replay *r);

/* Gap replay: sends every stored message of room with since < id <= upto
 * through send, stopping if conn closes. Returns the last id sent (or
 * since). */
uint64_t dx_replay_gap (dx_conn *conn, const char *room, uint64_t since, uint64_t upto,
                        dx_replay_send_fn send, void *arg);

#endif
