/* Server counters, rendered in the Prometheus text format for /metrics.
 * Plain integers touched only on the loop thread (the store reports its
 * write latency in its own statistics, read at render time). */
#ifndef DX_SERVER_METRICS_H
#define DX_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"
#include "server/store.h"

/* How bytes and messages travel. An HTTP connection is counted as "http"
 * until it becomes a WebSocket or an SSE stream. */
typedef enum {
  DX_TR_HTTP = 0,
  DX_TR_POLL,
  DX_TR_LONGPOLL,
  DX_TR_SSE,
  DX_TR_WEBSOCKET,
  DX_TR_TCP,
  DX_TR_COUNT,
} dx_transport;

typedef enum {
  DX_ROUTE_SESSION = 0,
  DX_ROUTE_ROOMS,
  DX_ROUTE_POST_MESSAGE,
  DX_ROUTE_MESSAGES,
  DX_ROUTE_EVENTS,
  DX_ROUTE_WS,
  DX_ROUTE_HEALTHZ,
  DX_ROUTE_METRICS,
  DX_ROUTE_TIME,
  DX_ROUTE_INFO,
  DX_ROUTE_OTHER,
  DX_ROUTE_COUNT,
} dx_route;

#define DX_METRICS_STATUS_SLOTS 24

typedef struct {
  uint64_t conn_open[DX_TR_COUNT];
  uint64_t conn_accepted[DX_TR_COUNT];
  uint64_t msgs_in[DX_TR_COUNT];
  uint64_t msgs_out[DX_TR_COUNT];
  uint64_t bytes_in[DX_TR_COUNT];
  uint64_t bytes_out[DX_TR_COUNT];
  uint64_t longpolls_waiting;
  uint64_t slow_disconnects;
  /* HTTP requests: (route, status) -> count, a small open table. */
  struct {
    uint16_t status;
    uint64_t count[DX_ROUTE_COUNT];
  } http[DX_METRICS_STATUS_SLOTS];
  size_t http_slots;
} dx_metrics;

const char *dx_transport_name (dx_transport t);
const char *dx_route_name (dx_route r);

void dx_metrics_init (dx_metrics *m);
void dx_metrics_http_request (dx_metrics *m, dx_route route, int status);
/* Appends the whole exposition to out; store may be NULL (no histogram). */
void dx_metrics_render (const dx_metrics *m, const dx_store_stats *store,
                        dx_buffer *out);

#endif
