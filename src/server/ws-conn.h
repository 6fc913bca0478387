/* A WebSocket connection (RFC 6455) carrying the socket protocol of
 * docs/protocol.md §5 in text frames: close codes, ping/pong, silence timeout
 * (a ping after 30 s of silence, close 1001 after 30 s more). */
#ifndef DX_SERVER_WS_CONN_H
#define DX_SERVER_WS_CONN_H

#include <stddef.h>

#include "server/conn.h"

#define DX_WS_SILENCE_MS 30000

/* Takes over http's stream after the 101 answer was queued; rest holds
 * bytes that followed the handshake (may be NULL/0). */
void dx_ws_conn_accept (dx_conn *http, const char *rest, size_t len);

#endif
