#include "server/poster.h"

#include "server/hub.h"
#include "server/token.h"
#ifdef DX_HAVE_REDIS
#include "server/cluster.h"
#endif

#include <stdlib.h>
#include <string.h>

void
dx_poster_init (dx_poster *p, dx_store *store, dx_hub *hub, dx_metrics *metrics)
{
  p->store = store;
  p->hub = hub;
  p->metrics = metrics;
  p->cluster = NULL;
}

void
dx_poster_set_cluster (dx_poster *p, dx_cluster *cluster)
{
  p->cluster = cluster;
}

bool
dx_poster_unavailable (const dx_poster *p)
{
#ifdef DX_HAVE_REDIS
  return p->cluster && !dx_cluster_ready (p->cluster);
#else
  (void) p;
  return false;
#endif
}

void
dx_poster_render_metrics (const dx_poster *p, dx_buffer *out)
{
#ifdef DX_HAVE_REDIS
  if (p->cluster) {
    dx_cluster_stats st;
    dx_cluster_get_stats (p->cluster, &st);
    dx_metrics_render_cluster (&st, out);
  }
#else
  (void) p;
  (void) out;
#endif
}

void
dx_poster_close (dx_poster *p)
{
#ifdef DX_HAVE_REDIS
  /* Publishes still waiting for Redis are answered (shutting down) first. */
  dx_cluster_free (p->cluster);
#endif
  p->cluster = NULL;
  if (p->store == NULL)
    return;
  /* Posts made by the callbacks the close runs are refused: the store
   * refuses appends once closing. */
  dx_store_close (p->store);
  p->store = NULL;
}

/* Bytes a message adds to its text on the wire, about (names, ids, JSON
 * and framing): what its fan-out will write is counted before it is
 * encoded. */
#define DX_POSTER_MSG_OVERHEAD 128u

typedef struct {
  dx_poster *poster;
  dx_post_cb cb;
  void *arg;
  dx_transport tr;
  uint64_t accepted_us; /* when the send arrived: the backlog counts from then */
  size_t expected;      /* bytes its fan-out will write, about */
} post_ctx;

static void
on_appended (void *arg, int status, const dx_stored_msg *msg, bool duplicate)
{
  post_ctx *pc = arg;
  dx_backlog_unexpect (dx_hub_backlog (pc->poster->hub), pc->expected);
  /* The sender's answer first: "the ack always first on the sender's
   * connection" (docs/protocol.md §5), then everybody else. */
  if (pc->cb)
    pc->cb (pc->arg, status, msg, duplicate);
  if (status == 0 && !duplicate) {
    if (pc->tr < DX_TR_COUNT)
      pc->poster->metrics->msgs_in[pc->tr]++;
    /* With --redis the cluster fans out what its view learns. */
    if (pc->poster->cluster == NULL)
      dx_hub_publish_accepted (pc->poster->hub, msg, pc->accepted_us);
  }
  free (pc);
}

int
dx_poster_post (dx_poster *p, const char *room, const char *from, const char *token,
                const char *text, size_t text_len, const char *cid, dx_transport tr, dx_post_cb cb,
                void *arg)
{
  if (p->store == NULL)
    return DX_ECANCELED;
  post_ctx *pc = malloc (sizeof *pc);
  if (pc == NULL)
    return DX_ENOMEM;
  pc->poster = p;
  pc->cb = cb;
  pc->arg = arg;
  pc->tr = tr;
  pc->accepted_us = dx_monotonic_us ();
  /* Until it is fanned out, the message counts in the backlog as the
   * writes it will make (docs/protocol.md §9, delivery bound). */
  const dx_room *r = dx_hub_find (p->hub, room);
  pc->expected = r ? r->n_subs * (text_len + DX_POSTER_MSG_OVERHEAD) : 0;
  dx_backlog_expect (dx_hub_backlog (p->hub), pc->expected);
  int rc;
#ifdef DX_HAVE_REDIS
  if (p->cluster)
    rc = dx_cluster_publish (p->cluster, room, from, token, text, text_len, cid, on_appended, pc);
  else
#endif
    rc = dx_store_append (p->store, room, from, token, text, text_len, cid, on_appended, pc);
  if (rc < 0) {
    dx_backlog_unexpect (dx_hub_backlog (p->hub), pc->expected);
    free (pc);
  }
  return rc;
}

int
dx_poster_new_token (dx_poster *p, const char *nick, char *out, size_t outlen)
{
  if (p->store == NULL)
    return DX_ECANCELED;
  if (outlen < DX_TOKEN_LEN + 1)
    return DX_EINVAL;
#ifdef DX_HAVE_REDIS
  if (p->cluster)
    return dx_cluster_new_token (p->cluster, nick, out, outlen);
#endif
  char tok[DX_TOKEN_LEN + 1];
  int rc = dx_token_generate (tok);
  if (rc == 0)
    rc = dx_store_token_put (p->store, tok, nick);
  if (rc < 0)
    return rc;
  memcpy (out, tok, sizeof tok);
  return 0;
}

const char *
dx_poster_token_nick (dx_poster *p, const char *token)
{
#ifdef DX_HAVE_REDIS
  if (p->cluster)
    return dx_cluster_token_nick (p->cluster, token);
#endif
  return p->store ? dx_store_token_nick (p->store, token) : NULL;
}
