/* A raw TCP connection: NDJSON lines carrying the socket protocol of
 * docs/protocol.md §5. A line over 16 KiB gets an error too_large and is
 * skipped; a client silent for DX_TCP_SILENCE_MS is closed. */
#ifndef DX_SERVER_TCP_CONN_H
#define DX_SERVER_TCP_CONN_H

#include "platform/loop.h"
#include "server/conn.h"

/* Long: a listening client may legitimately say nothing for minutes;
 * clients that want to stay longer send {"type":"ping"}. */
#define DX_TCP_SILENCE_MS (300u * 1000u)

void dx_tcp_conn_accept (dx_conn_ctx *ctx, dx_stream *stream);

#endif
