/* UDP counters for /metrics (docs/protocol.md §8): datagrams in and out,
 * datagrams dropped by reason, sessions. Loop thread only. */
#ifndef DX_SERVER_UDP_METRICS_H
#define DX_SERVER_UDP_METRICS_H

#include <stdint.h>

#include "protocol/buffer.h"

/* Why a datagram was dropped (the "reason" label). In: what the server
 * received and did not act on; out: what it did not send. */
typedef enum {
  DX_UDP_DROP_TOO_LARGE = 0,    /* in: over 1200 bytes */
  DX_UDP_DROP_MALFORMED,        /* in: not one JSON object */
  DX_UDP_DROP_BAD_HELLO,        /* in: not padded to 1200, a nick, bad password */
  DX_UDP_DROP_UNKNOWN_TOKEN,    /* in: hello with a token we did not issue */
  DX_UDP_DROP_NO_SESSION,       /* in: not a hello, from an unknown address */
  DX_UDP_DROP_BAD_COOKIE,       /* in: cookie missing or wrong */
  DX_UDP_DROP_SESSIONS_FULL,    /* in: hello while DX_UDP_SESSIONS_MAX are live */
  DX_UDP_DROP_SHUTTING_DOWN,    /* in: arrived during shutdown */
  DX_UDP_DROP_AMPLIFICATION,    /* out: over 3x what the unvalidated address sent */
  DX_UDP_DROP_OBJECT_TOO_LARGE, /* out: the object does not fit in 1200 bytes */
  DX_UDP_DROP_SEND_FAILED,      /* out: send queue full or a send error */
  DX_UDP_DROP_COUNT,
} dx_udp_drop;

typedef struct {
  uint64_t datagrams_in, datagrams_out;
  uint64_t dropped[DX_UDP_DROP_COUNT];
  uint64_t sessions_expired;
} dx_udp_metrics;

const char *dx_udp_drop_name (dx_udp_drop reason);
/* Appends the UDP families; sessions is the number live now (also the
 * duplex_connections_open gauge with transport="udp"). */
void dx_udp_metrics_render (const dx_udp_metrics *m, uint64_t sessions, dx_buffer *out);

#endif
