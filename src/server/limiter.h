/* The limits of docs/protocol.md §9 that keep one abuser from hurting
 * everyone: sends per token (a token bucket, on by default) and sessions
 * per client IP (off unless set). Each refusal
 * is counted for /metrics.
 *
 * Memory is bounded: a bucket exists only for a token that sent in the
 * last 2*S seconds (a bucket that has refilled to its burst is the same as
 * none, so idle ones are dropped by a sweep at most every
 * DX_LIMITER_SWEEP_MS); tokens themselves are bounded by the store. The
 * same holds for client IPs: one bucket per IP that created a session in
 * the last 2*S seconds of --session-rate. */
#ifndef DX_SERVER_LIMITER_H
#define DX_SERVER_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "platform/loop.h"
#include "protocol/buffer.h"
#include "protocol/proxy.h"
#include "protocol/token-bucket.h"
#include "server/strmap.h"

#define DX_LIMITER_SWEEP_MS 10000u

/* Token buckets by key (a token, a client IP), idle ones swept. */
typedef struct {
  dx_rate rate;
  dx_strmap buckets; /* key -> dx_token_bucket* */
  uint64_t last_sweep_ms;
  uint64_t refused;
} dx_bucket_table;

typedef struct {
  dx_bucket_table sends;    /* per token: --send-rate */
  dx_bucket_table sessions; /* per client IP: --session-rate */
  /* --max-conns-per-ip: 0 off. One entry per IP with an open TCP
   * connection (bounded by the open connections). */
  unsigned max_conns_per_ip;
  dx_strmap conns; /* ip -> (void *) (uintptr_t) count, never 0 */
  uint64_t refused_conns;
  const dx_cidr *trusted; /* --trusted-proxy (the config's) */
  size_t n_trusted;
} dx_limiter;

void dx_limiter_init (dx_limiter *l, dx_rate send_rate, dx_rate session_rate);
void dx_limiter_free (dx_limiter *l);

/* One send (POST or socket send) by token at now_ms: true if allowed;
 * else false with *retry_ms (>= 1) and the refusal counted. Out of memory
 * for a new bucket lets the send through (a limit must not lose data). */
bool dx_limiter_take_send (dx_limiter *l, const char *token, uint64_t now_ms, uint64_t *retry_ms);

/* One new session (POST /api/v1/session, a socket hello with a nick) from
 * the client IP ip: as dx_limiter_take_send. */
bool dx_limiter_take_session (dx_limiter *l, const char *ip, uint64_t now_ms, uint64_t *retry_ms);

/* ip (text, as dx_limiter_peer_ip gives it) is a --trusted-proxy. */
bool dx_limiter_trusted (const dx_limiter *l, const char *ip);

/* --max-conns-per-ip is set. */
bool dx_limiter_conn_cap_on (const dx_limiter *l);
/* A TCP connection from ip was accepted: true and counted if under the
 * cap; false (refusal counted, not the connection) if over it. */
bool dx_limiter_conn_open (dx_limiter *l, const char *ip);
/* A connection counted by dx_limiter_conn_open is gone. */
void dx_limiter_conn_closed (dx_limiter *l, const char *ip);

/* The IP of a stream's peer, without the port ("::1", "10.0.0.7"): true,
 * or false if the stream has none (a UDP session). */
bool dx_limiter_peer_ip (const dx_stream *stream, char *buf, size_t len);

/* Appends the refusal counters (Prometheus text) to out. */
void dx_limiter_render_metrics (const dx_limiter *l, dx_buffer *out);

#endif
