/* Server counters, rendered in the Prometheus text format for /metrics.
 * Plain integers touched only on the loop thread (the store reports its
 * write latency in its own statistics, read at render time). */
#ifndef DX_SERVER_METRICS_H
#define DX_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"
#include "server/router.h"
#include "server/store.h"
#include "server/transport.h"

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

void dx_metrics_init (dx_metrics *m);
void dx_metrics_http_request (dx_metrics *m, dx_route route, int status);
/* Appends the whole exposition to out; store may be NULL (no histogram). */
void dx_metrics_render (const dx_metrics *m, const dx_store_stats *store, dx_buffer *out);

#endif
