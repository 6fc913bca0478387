/* An event stream (Server-Sent Events, docs/protocol.md §4): the answer
 * to GET /api/v1/rooms/{room}/events. Headers at once, chunked on
 * HTTP/1.1; stored events after since / Last-Event-ID first (paced, see
 * replay.h), then live messages and presence; a ": ping" comment every
 * DX_SSE_PING_MS. The stream takes the HTTP connection over for good. */
#ifndef DX_SERVER_SSE_STREAM_H
#define DX_SERVER_SSE_STREAM_H

#include "protocol/http.h"
#include "server/http-conn.h"

#define DX_SSE_PING_MS 15000

/* Starts the stream on hc for the request req (or answers 400 for a bad
 * since / Last-Event-ID). */
void dx_sse_stream_start (dx_http_conn *hc, const dx_http_message *req, const char *room);

#endif
