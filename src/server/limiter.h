/* The limits of docs/protocol.md §9 that keep one abuser from hurting
 * everyone: sends per token (a token bucket, on by default). Each refusal
 * is counted for /metrics.
 *
 * Memory is bounded: a bucket exists only for a token that sent in the
 * last 2*S seconds (a bucket that has refilled to its burst is the same as
 * none, so idle ones are dropped by a sweep at most every
 * DX_LIMITER_SWEEP_MS); tokens themselves are bounded by the store. */
#ifndef DX_SERVER_LIMITER_H
#define DX_SERVER_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/buffer.h"
#include "protocol/token-bucket.h"
#include "server/strmap.h"

#define DX_LIMITER_SWEEP_MS 10000u

typedef struct {
  dx_rate send_rate;
  dx_strmap send_buckets; /* token -> dx_token_bucket* */
  uint64_t last_sweep_ms;
  uint64_t refused_sends;
} dx_limiter;

void dx_limiter_init (dx_limiter *l, dx_rate send_rate);
void dx_limiter_free (dx_limiter *l);

/* One send (POST or socket send) by token at now_ms: true if allowed;
 * else false with *retry_ms (>= 1) and the refusal counted. Out of memory
 * for a new bucket lets the send through (a limit must not lose data). */
bool dx_limiter_take_send (dx_limiter *l, const char *token, uint64_t now_ms, uint64_t *retry_ms);

/* Appends the refusal counters (Prometheus text) to out. */
void dx_limiter_render_metrics (const dx_limiter *l, dx_buffer *out);

#endif
