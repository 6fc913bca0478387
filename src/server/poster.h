/* Posting and tokens, over the store and the hub: the one place a chat
 * message goes through (HTTP POST, socket send, the ticker). The store
 * validates the message, dedups it by the sender's cid and commits it;
 * then the sender is answered (ack / 201) FIRST, and a new message is
 * fanned out to the room and counted. */
#ifndef DX_SERVER_POSTER_H
#define DX_SERVER_POSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "server/metrics.h"
#include "server/store.h"
#include "server/transport.h"

typedef struct dx_hub dx_hub;
typedef struct dx_cluster dx_cluster;

typedef struct dx_poster {
  dx_store *store; /* NULL once closed (shutdown); read history through it */
  dx_hub *hub;
  dx_metrics *metrics;
  /* With --redis: posts and tokens go through Redis, and store is the
   * node's view that the cluster fills (cluster.h). NULL otherwise. */
  dx_cluster *cluster;
} dx_poster;

void dx_poster_init (dx_poster *p, dx_store *store, dx_hub *hub, dx_metrics *metrics);
/* With --redis: the poster owns cluster from now on (closed before the
 * store by dx_poster_close). */
void dx_poster_set_cluster (dx_poster *p, dx_cluster *cluster);
/* True while posting cannot work because Redis is unreachable
 * (docs/protocol.md §7: 503 unavailable, /healthz degraded). */
bool dx_poster_unavailable (const dx_poster *p);

/* --redis: appends the cluster's metrics to out (nothing otherwise). */
void dx_poster_render_metrics (const dx_poster *p, dx_buffer *out);

/* Flushes and closes the store (pending posts are answered and fanned out
 * from here); from then on posts are refused with DX_ECANCELED. */
void dx_poster_close (dx_poster *p);

/* cb answers the sender (status, the message, whether it was a retry of
 * an earlier cid). */
typedef void (*dx_post_cb) (void *arg, int status, const dx_stored_msg *msg, bool duplicate);
/* Posts text to room from nick `from`; token keys the cid dedup (NULL: no
 * dedup). tr is the transport to count it on (DX_TR_COUNT: none). Same
 * returns as dx_store_append, plus DX_ECANCELED once closed; cb runs only
 * if this returns 0. With --redis: DX_ENOTCONN when Redis is unreachable
 * (not stored), and cb's status may be DX_ENOTCONN (not stored) or
 * DX_ETIMEDOUT (maybe stored): both are answered "unavailable". */
int dx_poster_post (dx_poster *p, const char *room, const char *from, const char *token,
                    const char *text, size_t text_len, const char *cid, dx_transport tr,
                    dx_post_cb cb, void *arg);

/* A new token bound to nick, stored: 0, or a negative DX_E* code (closed,
 * the store refused it, or the OS random source failed: no token is
 * issued then, and callers answer 500 internal_error -- a server fault,
 * not the temporary 503 unavailable a retry could cure). DX_ENOTCONN
 * (--redis, Redis not reached yet) is that temporary 503 unavailable. */
int dx_poster_new_token (dx_poster *p, const char *nick, char *out, size_t outlen);
/* The nick a token was issued to, or NULL (unknown, or closed). The
 * string is valid until the next store call. */
const char *dx_poster_token_nick (dx_poster *p, const char *token);

#endif
