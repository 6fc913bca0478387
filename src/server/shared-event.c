#include "server/shared-event.h"

#include "protocol/chunked.h"
#include "protocol/message.h"
#include "protocol/ndjson.h"
#include "protocol/sse.h"
#include "protocol/websocket.h"
#include "server/backlog.h"

#include <stdlib.h>

static dx_shared_event *
wrap (dx_buffer *b, uint64_t id, const char *event)
{
  dx_shared_event *e = calloc (1, sizeof *e);
  if (e == NULL) {
    dx_buffer_free (b);
    return NULL;
  }
  e->json = dx_shared_buf_from_buffer (b);
  dx_buffer_free (b);
  if (e->json == NULL) {
    free (e);
    return NULL;
  }
  e->refs = 1;
  e->id = id;
  e->event = event;
  return e;
}

dx_shared_event *
dx_shared_event_message (const dx_stored_msg *m)
{
  dx_chat_message cm = {
    .room = m->room,
    .id = m->id,
    .from = m->from,
    .text = m->text,
    .text_len = m->text_len,
    .ts = m->ts,
    .cid = m->cid,
  };
  dx_buffer b;
  dx_buffer_init (&b, 0);
  if (!dx_encode_message (&b, &cm)) {
    dx_buffer_free (&b);
    return NULL;
  }
  return wrap (&b, m->id, "message");
}

dx_shared_event *
dx_shared_event_presence (const char *room, const char *nick, bool joined)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  if (!dx_encode_presence (&b, room, nick, joined)) {
    dx_buffer_free (&b);
    return NULL;
  }
  return wrap (&b, 0, "presence");
}

dx_shared_event *
dx_shared_event_json (const char *json, size_t len)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  if (!dx_buffer_append (&b, json, len)) {
    dx_buffer_free (&b);
    return NULL;
  }
  return wrap (&b, 0, "message");
}

dx_shared_event *
dx_shared_event_ref (dx_shared_event *e)
{
  e->refs++;
  return e;
}

void
dx_shared_event_track (dx_shared_event *e, dx_delivery *d)
{
  e->track = d;
  e->json->track = d;
}

void
dx_shared_event_unref (dx_shared_event *e)
{
  if (e == NULL || --e->refs > 0)
    return;
  /* The event's own references are no writes. */
  dx_shared_buf_release (e->json);
  dx_shared_buf_release (e->line);
  dx_shared_buf_release (e->ws);
  dx_shared_buf_release (e->sse_chunk);
  dx_shared_buf_release (e->sse_raw);
  if (e->track)
    dx_delivery_end (e->track);
  free (e);
}

/* A format just made: its writes count towards the event's fan-out. */
static dx_shared_buf *
tracked (dx_shared_event *e, dx_shared_buf *sb)
{
  if (sb)
    sb->track = e->track;
  return sb;
}

dx_shared_buf *
dx_shared_event_line (dx_shared_event *e)
{
  if (e->line == NULL) {
    dx_buffer b;
    dx_buffer_init (&b, 0);
    if (dx_ndjson_append_line (&b, e->json->data, e->json->len))
      e->line = tracked (e, dx_shared_buf_from_buffer (&b));
    dx_buffer_free (&b);
  }
  return e->line;
}

dx_shared_buf *
dx_shared_event_ws (dx_shared_event *e)
{
  if (e->ws == NULL) {
    dx_buffer b;
    dx_buffer_init (&b, 0);
    if (dx_ws_encode_frame (&b, true, DX_WS_OP_TEXT, e->json->data, e->json->len, NULL))
      e->ws = tracked (e, dx_shared_buf_from_buffer (&b));
    dx_buffer_free (&b);
  }
  return e->ws;
}

dx_shared_buf *
dx_shared_event_sse (dx_shared_event *e, bool chunked)
{
  dx_shared_buf **slot = chunked ? &e->sse_chunk : &e->sse_raw;
  if (*slot == NULL) {
    dx_buffer ev, b;
    dx_buffer_init (&ev, 0);
    dx_buffer_init (&b, 0);
    bool ok = e->id ? dx_sse_encode_event_u64 (&ev, e->id, e->event, e->json->data, e->json->len)
                    : dx_sse_encode_event (&ev, NULL, e->event, e->json->data, e->json->len);
    if (ok && chunked)
      ok = dx_chunked_encode (&b, ev.data, ev.len);
    else if (ok)
      ok = dx_buffer_append (&b, ev.data, ev.len);
    if (ok)
      *slot = tracked (e, dx_shared_buf_from_buffer (&b));
    dx_buffer_free (&ev);
    dx_buffer_free (&b);
  }
  return *slot;
}
