/* How bytes and messages travel: the transports connections and metrics
 * are counted by. */
#ifndef DX_SERVER_TRANSPORT_H
#define DX_SERVER_TRANSPORT_H

/* An HTTP connection is counted as "http" until it becomes a WebSocket or
 * an SSE stream. */
typedef enum {
  DX_TR_HTTP = 0,
  DX_TR_POLL,
  DX_TR_LONGPOLL,
  DX_TR_SSE,
  DX_TR_WEBSOCKET,
  DX_TR_TCP,
  DX_TR_UDP, /* a UDP session (docs/protocol.md §8) */
  DX_TR_COUNT,
} dx_transport;

/* "http", "poll", ... (the metrics label); "unknown" when out of range. */
const char *dx_transport_name (dx_transport t);

#endif
