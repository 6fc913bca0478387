/* One server event (a chat message or a presence change) encoded ONCE per
 * wire format, shared by every subscriber: the JSON object (poll answers),
 * the NDJSON line (raw TCP), the WebSocket text frame, and the SSE event as
 * one HTTP chunk. Each format is made on first use and kept. */
#ifndef DX_SERVER_ENCODED_H
#define DX_SERVER_ENCODED_H

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
} dx_encoded;

/* NULL on invalid input or out of memory. */
dx_encoded *dx_encoded_message (const dx_stored_msg *m);
dx_encoded *dx_encoded_presence (const char *room, const char *nick, bool joined);
/* Wraps arbitrary JSON (welcome, ack, ...) for framing helpers. */
dx_encoded *dx_encoded_json (const char *json, size_t len);
dx_encoded *dx_encoded_ref (dx_encoded *e);
void dx_encoded_unref (dx_encoded *e);

/* The formats (NULL on out of memory); owned by e, ref them to keep. */
dx_shared_buf *dx_encoded_line (dx_encoded *e);
dx_shared_buf *dx_encoded_ws (dx_encoded *e);
/* chunked: framed as one HTTP/1.1 chunk; else the raw event (HTTP/1.0). */
dx_shared_buf *dx_encoded_sse (dx_encoded *e, bool chunked);

#endif
