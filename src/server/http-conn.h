/* One connection on the HTTP port: HTTP/1.1 keep-alive and pipelining
 * (answered in order), every route of PROTOCOL.md §4, long polls and SSE
 * streams as room subscribers, request limits and timeouts; hands the
 * stream to ws-conn on a WebSocket upgrade. */
#ifndef DX_SERVER_HTTP_CONN_H
#define DX_SERVER_HTTP_CONN_H

#include "platform/loop.h"
#include "server/conn.h"

/* Request timeouts (PROTOCOL.md §4). */
#define DX_HTTP_HEADER_TIMEOUT_MS 10000
#define DX_HTTP_IDLE_TIMEOUT_MS 60000
#define DX_HTTP_BODY_TIMEOUT_MS 60000
#define DX_SSE_PING_MS 15000

/* Takes an accepted stream of the HTTP listener. */
void dx_http_conn_accept (dx_conn_ctx *ctx, dx_stream *stream);

#endif
