/* The HTTP API of docs/protocol.md §4 on top of http-conn: tokens
 * (POST /api/v1/session), rooms, posting, short and long polls, event
 * streams (sse-stream.c), the WebSocket upgrade (ws-conn.c), health,
 * metrics, time and info. */
#ifndef DX_SERVER_HTTP_API_H
#define DX_SERVER_HTTP_API_H

#include "platform/loop.h"
#include "server/conn.h"

/* Takes an accepted stream of the HTTP listener. */
void dx_http_api_accept (dx_conn_ctx *ctx, dx_stream *stream);

#endif
