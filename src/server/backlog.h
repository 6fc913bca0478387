/* The delivery backlog: messages the server accepted (acknowledged) whose
 * fan-out is not written yet, per room and server-wide, and the
 * backpressure policy built on it (docs/protocol.md §9, "Delivery bound").
 *
 * A message's fan-out is one dx_delivery. Its encoded buffers (shared-buf.h)
 * point at it; every reference a write takes on them is an outstanding
 * write, and its completion (or cancellation) drops it. A delivery is
 * "late" while more of its writes are outstanding than its allowance (a
 * tenth of its recipients, at least one: the slowest members are the
 * per-connection bound's business, conn.h); it is done when nothing of it
 * is outstanding any more. A room whose oldest late message is older than
 * half the bound refuses sends until it catches up, so that what it
 * accepts reaches its reading members within about the bound.
 *
 * Loop thread only. */
#ifndef DX_SERVER_BACKLOG_H
#define DX_SERVER_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"

typedef struct dx_backlog dx_backlog;
typedef struct dx_delivery dx_delivery;

/* Upper bounds (ms) of the accept -> last write histogram in /metrics. */
#define DX_BACKLOG_BUCKETS 12
extern const uint64_t dx_backlog_bounds_ms[DX_BACKLOG_BUCKETS];

/* Bytes of outstanding writes (every room together) past which every send
 * is refused, whatever the age: a memory guard against many slow rooms. */
#define DX_BACKLOG_MAX_BYTES (256u * 1024u * 1024u)

/* Bytes of queued work (every room together) under which the work test
 * of dx_backlog_refuse_ms never refuses: a small backlog is no reason, and
 * after a quiet spell the rate it is judged by is not known yet. */
#define DX_BACKLOG_MIN_BYTES (1024u * 1024u)
/* How often the drain rate is measured, and the busy time (late work in
 * the loop) a measure needs. */
#define DX_BACKLOG_RATE_MS 100u
#define DX_BACKLOG_RATE_MIN_BUSY_US 10000u

/* Which test refused a send (dx_backlog_refuse_ms; docs/protocol.md §9.1). */
typedef enum {
  DX_BACKLOG_REFUSED_QUEUED, /* (b) the queued work is over half the bound at the drain rate */
  DX_BACKLOG_REFUSED_BEHIND, /* (a) the room's oldest late message is over half the bound */
  DX_BACKLOG_REFUSED_MEMORY, /* (c) over DX_BACKLOG_MAX_BYTES queued */
  DX_BACKLOG_REFUSED_WHY
} dx_backlog_refused_why;

typedef struct {
  uint64_t msgs;           /* deliveries not done */
  uint64_t bytes;          /* bytes of outstanding writes */
  uint64_t oldest_us;      /* age of the oldest delivery not done; 0 if none */
  uint64_t oldest_late_us; /* age of the oldest late delivery; 0 if none */
  uint64_t done;           /* deliveries done */
  uint64_t done_le[DX_BACKLOG_BUCKETS];
  uint64_t done_sum_us;
  uint64_t most; /* deliveries no longer late, and the time they took */
  uint64_t most_le[DX_BACKLOG_BUCKETS];
  uint64_t most_sum_us;
  uint64_t refused; /* sends refused by the bound */
  uint64_t refused_why[DX_BACKLOG_REFUSED_WHY];
  uint64_t rooms_behind; /* rooms refusing sends now */
  double drain_rate;     /* bytes a second (see DX_BACKLOG_RATE_MS); 0: not yet */
} dx_backlog_stats;

dx_backlog *dx_backlog_new (void);
/* Deliveries still tracked are forgotten (their buffers no longer point
 * at them only if they are freed first: free the backlog after every
 * connection, as the hub is). */
void dx_backlog_free (dx_backlog *bl);
/* The clock of its busy time and histograms (dx_monotonic_us by default):
 * tests give it theirs. */
void dx_backlog_set_clock (dx_backlog *bl, uint64_t (*now_us) (void));

/* The fan-out of one message of room accepted at accepted_us
 * (dx_monotonic_us). NULL when out of memory: the message is then simply
 * not tracked. */
dx_delivery *dx_delivery_begin (dx_backlog *bl, const char *room, uint64_t accepted_us);
/* A reference (a write) on one of d's buffers of len bytes was taken /
 * dropped. */
void dx_delivery_write_add (dx_delivery *d, size_t len);
void dx_delivery_write_done (dx_delivery *d, size_t len);
/* The fan-out queued its writes: their number is the recipients'. */
void dx_delivery_fanned_out (dx_delivery *d);
/* The encoded message is gone (no new write will be taken); d is freed
 * once its outstanding writes are done. */
void dx_delivery_end (dx_delivery *d);

/* A send whose fan-out will write about `bytes` is being stored / was
 * answered (its fan-out, if any, then counts by what it queues). */
void dx_backlog_expect (dx_backlog *bl, size_t bytes);
void dx_backlog_unexpect (dx_backlog *bl, size_t bytes);

/* The policy: 0 when a send to room may be accepted now (max_delivery_ms
 * 0 turns the bound off), else how long the sender should wait (ms, at
 * least 1). A refusal is counted. */
uint64_t dx_backlog_refuse_ms (dx_backlog *bl, const char *room, uint64_t max_delivery_ms,
                               uint64_t now_us);

void dx_backlog_get_stats (const dx_backlog *bl, uint64_t now_us, uint64_t max_delivery_ms,
                           dx_backlog_stats *out);
/* Appends the backlog's lines of /metrics. */
void dx_backlog_render_metrics (const dx_backlog *bl, uint64_t now_us, uint64_t max_delivery_ms,
                                dx_buffer *out);

#endif
