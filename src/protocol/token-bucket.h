/* A token bucket for rate limits (docs/protocol.md §9), pure and in integer
 * arithmetic: N sends per S seconds, bursts of up to 2N. It knows no
 * clock: the caller passes monotonic milliseconds. */
#ifndef DX_PROTOCOL_TOKEN_BUCKET_H
#define DX_PROTOCOL_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/* "N/S": n events per s seconds. n == 0 means no limit. */
typedef struct {
  uint32_t n;
  uint32_t s;
} dx_rate;

/* Parses "N/S" (N 0..1000000, S 1..86400, decimal digits only). */
bool dx_rate_parse (const char *text, dx_rate *out);
static inline bool
dx_rate_on (dx_rate r)
{
  return r.n > 0;
}

/* The level is kept in units of 1/N ms of refill, so that one event costs
 * S*1000 units and every millisecond adds N units: no rounding drift. */
typedef struct {
  uint64_t level;   /* units available */
  uint64_t last_ms; /* when level was last brought up to date */
} dx_token_bucket;

/* A full bucket (a new client may burst 2N at once). */
void dx_token_bucket_init (dx_token_bucket *b, dx_rate r, uint64_t now_ms);
/* Takes one event if there is one: true. Else false, and *retry_ms (if
 * not NULL) gets how long until one is there, rounded up, at least 1. */
bool dx_token_bucket_take (dx_token_bucket *b, dx_rate r, uint64_t now_ms, uint64_t *retry_ms);
/* True if the bucket has refilled to its burst at now_ms: forgetting it
 * changes nothing (a new one starts full), so idle entries can go. */
bool dx_token_bucket_full (const dx_token_bucket *b, dx_rate r, uint64_t now_ms);

#endif
