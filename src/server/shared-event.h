/* One server event (a chat message or a presence change) encoded ONCE per
 * wire format, shared by every subscriber: the JSON object (poll answers),
 * the NDJSON line (raw TCP), the WebSocket text frame, and the SSE event as
 * one HTTP chunk. Each format is made on first use and kept. */
#ifndef DX_SERVER_SHARED_EVENT_H
#define DX_SERVER_SHARED_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "server/shared-buf.h"
#include "server/store.h"

typedef struct {
  unsigned refs;
  uint64_t id;       /* message id; 0 for presence */
  const char *event; /* SSE event name: "message" or "presence" */
  dx_shared_buf *json;
  dx_shared_buf *line, *ws, *sse_chunk, *sse_raw;
  dx_delivery *track; /* a fan-out the backlog follows (backlog.h), or NULL */
} dx_shared_event;

/* NULL on invalid input or out of memory. */
dx_shared_event *dx_shared_event_message (const dx_stored_msg *m);
dx_shared_event *dx_shared_event_presence (const char *room, const char *nick, bool joined);
/* Wraps arbitrary JSON (welcome, ack, ...) for framing helpers. */
dx_shared_event *dx_shared_event_json (const char *json, size_t len);
/* From now on every write of e's formats counts towards d, and d ends
 * when e is freed. Call before any format is written. */
void dx_shared_event_track (dx_shared_event *e, dx_delivery *d);
dx_shared_event *dx_shared_event_ref (dx_shared_event *e);
void dx_shared_event_unref (dx_shared_event *e);

/* The formats (NULL on out of memory); owned by e, ref them to keep. */
dx_shared_buf *dx_shared_event_line (dx_shared_event *e);
dx_shared_buf *dx_shared_event_ws (dx_shared_event *e);
/* chunked: framed as one HTTP/1.1 chunk; else the raw event (HTTP/1.0). */
dx_shared_buf *dx_shared_event_sse (dx_shared_event *e, bool chunked);

#endif
