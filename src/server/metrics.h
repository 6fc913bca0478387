/* Server counters, rendered in the Prometheus text format for /metrics.
 * Plain integers touched only on the loop thread (the store reports its
 * write latency in its own statistics, read at render time). */
#ifndef DX_SERVER_METRICS_H
#define DX_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"
#include "server/cluster.h"
#include "server/router.h"
#include "server/store.h"
#include "server/tcp-watch.h"
#include "tls/tls.h"
#include "server/transport.h"
#include "server/udp-metrics.h"

#define DX_METRICS_STATUS_SLOTS 24

/* Which side of a connection closed first: the one whose kernel keeps the
 * TIME_WAIT (docs/protocol.md §4, /metrics). */
typedef enum {
  DX_CLOSED_BY_SERVER = 0,
  DX_CLOSED_BY_PEER,
  DX_CLOSED_BY_COUNT,
} dx_closed_by;

typedef struct {
  uint64_t conn_open[DX_TR_COUNT];
  uint64_t conn_accepted[DX_TR_COUNT];
  uint64_t msgs_in[DX_TR_COUNT];
  uint64_t msgs_out[DX_TR_COUNT];
  uint64_t bytes_in[DX_TR_COUNT];
  uint64_t bytes_out[DX_TR_COUNT];
  uint64_t longpolls_waiting;
  uint64_t slow_disconnects;
  uint64_t closed_first[DX_CLOSED_BY_COUNT][DX_TR_COUNT];
  /* HTTP requests: (route, status) -> count, a small open table. */
  struct {
    uint16_t status;
    uint64_t count[DX_ROUTE_COUNT];
  } http[DX_METRICS_STATUS_SLOTS];
  size_t http_slots;
  dx_udp_metrics udp; /* --udp (udp-server.c) */
} dx_metrics;

void dx_metrics_init (dx_metrics *m);
void dx_metrics_http_request (dx_metrics *m, dx_route route, int status);
/* Appends the whole exposition to out; store may be NULL (no histogram). */
void dx_metrics_render (const dx_metrics *m, const dx_store_stats *store, dx_buffer *out);
/* Appends the listeners' TCP sockets by state from a tcp-watch sample
 * (now_ms: dx_monotonic_ms, for its age); a comment line instead when the
 * system cannot count, nothing before the first sample. */
void dx_metrics_render_tcp_states (const dx_tcp_watch_sample *s, uint64_t now_ms, dx_buffer *out);
/* --redis: the Redis connection's state, catch-up reads, gaps healed,
 * publish latency (appended after dx_metrics_render's). */
void dx_metrics_render_cluster (const dx_cluster_stats *c, dx_buffer *out);

/* --tls-cert: handshakes, failures, timeouts, reloads (appended). */
void dx_metrics_render_tls (const dx_tls_stats *s, dx_buffer *out);

#endif
