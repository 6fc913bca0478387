#include "server/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A paced replay sends at most this much per write. */
#define REPLAY_BATCH_BYTES (256u * 1024u)
#define REPLAY_BATCH_MSGS 256

/* A batch being written; outlives its dx_replay if the owner goes first. */
struct dx_replay_write {
  dx_replay *replay; /* NULL once cancelled */
  dx_conn *conn;     /* referenced until the write completes */
};

void
dx_replay_init (dx_replay *r, dx_conn *conn, dx_sub *sub, dx_replay_frame_fn frame, void *frame_arg)
{
  memset (r, 0, sizeof *r);
  r->conn = conn;
  r->sub = sub;
  r->frame = frame;
  r->frame_arg = frame_arg;
}

/* ---- paced replay ---- */

typedef struct {
  dx_replay *r;
  dx_buffer batch;
  uint64_t last;
  size_t n;
} batch_ctx;

static bool
batch_visit (void *arg, const dx_stored_msg *msg)
{
  batch_ctx *bc = arg;
  dx_shared_event *e = dx_shared_event_message (msg);
  dx_shared_buf *sb = e ? bc->r->frame (bc->r->frame_arg, e) : NULL;
  if (sb)
    dx_buffer_append (&bc->batch, sb->data, sb->len);
  dx_shared_event_unref (e);
  bc->last = msg->id;
  bc->n++;
  return bc->batch.len < REPLAY_BATCH_BYTES;
}

static void pump (dx_replay *r);

static void
on_batch_written (void *arg, int status)
{
  dx_replay_write *w = arg;
  dx_replay *r = w->replay;
  if (r)
    r->in_flight = NULL;
  if (r && status == 0 && !w->conn->closing && r->active)
    pump (r);
  dx_conn_unref (w->conn);
  free (w);
}

/* Sends the next batch of stored messages after r->pos; once the store
 * has nothing newer, the subscriber goes live. */
static void
pump (dx_replay *r)
{
  dx_conn *c = r->conn;
  dx_store *store = c->ctx->poster->store;
  if (store == NULL) {
    r->active = false;
    return;
  }
  batch_ctx bc = { r, { 0 }, r->pos, 0 };
  dx_buffer_init (&bc.batch, 0);
  int n = dx_store_read_since (store, r->room, r->pos, REPLAY_BATCH_MSGS, batch_visit, &bc);
  if (n <= 0 || bc.last == r->pos || bc.batch.failed) {
    /* Caught up: from now on the fan-out delivers. */
    r->active = false;
    r->sub->next_id = r->pos + 1;
    dx_buffer_free (&bc.batch);
    return;
  }
  r->pos = bc.last;
  c->ctx->metrics->msgs_out[c->tr] += bc.n;
  dx_shared_buf *sb = dx_shared_buf_from_buffer (&bc.batch);
  dx_buffer_free (&bc.batch);
  dx_replay_write *w = sb ? malloc (sizeof *w) : NULL;
  if (w == NULL) {
    dx_shared_buf_unref (sb);
    dx_conn_close (c);
    return;
  }
  w->replay = r;
  w->conn = c;
  r->in_flight = w;
  dx_conn_ref (c);
  if (!dx_conn_send_notify (c, sb, on_batch_written, w)) {
    r->in_flight = NULL;
    dx_conn_unref (c);
    free (w);
  }
  dx_shared_buf_unref (sb);
}

void
dx_replay_start (dx_replay *r, const char *room, uint64_t since)
{
  snprintf (r->room, sizeof r->room, "%s", room);
  r->active = true;
  r->pos = since;
  if (r->in_flight == NULL) /* else the batch in flight carries on */
    pump (r);
}

void
dx_replay_cancel (dx_replay *r)
{
  if (r->in_flight)
    r->in_flight->replay = NULL;
  r->in_flight = NULL;
  r->active = false;
}

/* ---- gap replay ---- */

typedef struct {
  dx_conn *conn;
  dx_replay_send_fn send;
  void *arg;
} gap_ctx;

static bool
gap_visit (void *arg, const dx_stored_msg *msg)
{
  gap_ctx *gc = arg;
  dx_shared_event *e = dx_shared_event_message (msg);
  if (e == NULL)
    return false;
  gc->send (gc->arg, e);
  dx_shared_event_unref (e);
  return !gc->conn->closing;
}

uint64_t
dx_replay_gap (dx_conn *conn, const char *room, uint64_t since, uint64_t upto,
               dx_replay_send_fn send, void *arg)
{
  dx_store *store = conn->ctx->poster->store;
  if (store == NULL || conn->closing)
    return since;
  gap_ctx gc = { conn, send, arg };
  return dx_store_read_range (store, room, since, upto, gap_visit, &gc);
}
