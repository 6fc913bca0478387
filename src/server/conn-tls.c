/* The TLS filter between a dx_conn and its stream (conn-private.h). */
#include "server/conn-private.h"

#include "server/log.h"

#include <stdlib.h>

#define DX_TLS_PLAIN_CHUNK 16384

typedef struct {
  dx_shared_buf *sb;
  void (*done) (void *arg, int status);
  void *arg;
} tls_write;

static void
on_tls_written (dx_stream *s, int status, void *arg)
{
  (void) s;
  tls_write *w = arg;
  dx_shared_buf_unref (w->sb);
  if (w->done)
    w->done (w->arg, status);
  free (w);
}

/* Writes whatever ciphertext the filter has for the peer. */
static int
flush (dx_conn *c, void (*done) (void *arg, int status), void *arg)
{
  size_t n = dx_tls_out_pending (c->tls);
  if (n == 0 && done == NULL)
    return 0;
  /* The ciphertext is taken straight into a shared buffer (one copy). */
  dx_shared_buf *sb = malloc (sizeof *sb + n + 1);
  tls_write *w = malloc (sizeof *w);
  if (w == NULL || sb == NULL) {
    free (w);
    free (sb);
    return DX_ENOMEM;
  }
  sb->refs = 1;
  sb->track = NULL;
  sb->len = n ? dx_tls_out_take (c->tls, sb->data, n) : 0;
  sb->data[sb->len] = '\0';
  w->sb = sb;
  w->done = done;
  w->arg = arg;
  dx_buf buf = dx_buf_init (sb->data, sb->len);
  int rc = dx_write (c->stream, &buf, 1, on_tls_written, w);
  if (rc < 0) {
    dx_shared_buf_unref (sb);
    free (w);
    return rc;
  }
  c->ctx->metrics->bytes_out[c->tr] += sb->len;
  return 0;
}

bool
dx_conn_tls_attach (dx_conn *c)
{
  if (c->ctx->tls_ctx == NULL || c->stream == NULL)
    return true;
  c->tls = dx_tls_new (c->ctx->tls_ctx);
  return c->tls != NULL;
}

bool
dx_conn_tls_arm_timer (dx_conn *c, uint64_t ms)
{
  if (c->tls == NULL || dx_tls_established (c->tls))
    return false;
  c->owner_timer_at = ms ? dx_loop_now_ms (c->ctx->loop) + ms : 0;
  return true;
}

bool
dx_conn_tls_on_timer (dx_conn *c)
{
  if (c->tls == NULL || dx_tls_established (c->tls))
    return false;
  char peer[64] = "?";
  dx_stream_peer_name (c->stream, peer, sizeof peer);
  dx_log_info ("TLS handshake with %s not finished in %d s: dropped", peer,
               DX_TLS_HANDSHAKE_MS / 1000);
  dx_tls_ctx_stats (c->ctx->tls_ctx)->timeouts++;
  dx_conn_close (c);
  return true;
}

static void
handshake_over (dx_conn *c)
{
  uint64_t at = c->owner_timer_at, now = dx_loop_now_ms (c->ctx->loop);
  c->owner_timer_at = 0;
  dx_conn_arm_timer (c, at == 0 ? 0 : at > now ? at - now : 1);
}

void
dx_conn_tls_on_read (dx_conn *c, const char *data, size_t n)
{
  bool was_established = dx_tls_established (c->tls);
  bool ok = dx_tls_feed (c->tls, data, n);
  /* The handshake's answer, or an alert: at most that, never plaintext. */
  if (flush (c, NULL, NULL) < 0 || !ok) {
    if (!ok) {
      char peer[64] = "?";
      dx_stream_peer_name (c->stream, peer, sizeof peer);
      dx_log_debug ("TLS with %s failed: closed", peer);
    }
    dx_conn_close (c);
    return;
  }
  if (!was_established && dx_tls_established (c->tls))
    handshake_over (c);
  char *plain = malloc (DX_TLS_PLAIN_CHUNK);
  if (plain == NULL) {
    dx_conn_close (c);
    return;
  }
  dx_stream *s = c->stream;
  for (;;) {
    /* The owner may hand the stream (and the filter) to another conn on
     * an upgrade; the rest of the plaintext is the new owner's. */
    dx_conn *o = dx_handle_data (DX_HANDLE (s));
    if (o->closing || o->tls == NULL)
      break;
    ptrdiff_t got = dx_tls_read (o->tls, plain, DX_TLS_PLAIN_CHUNK);
    if (got == DX_TLS_AGAIN)
      break;
    if (got < 0) {
      flush (o, NULL, NULL);
      if (got == DX_TLS_CLOSED) {
        /* The peer's close_notify ends its stream, as a FIN would; its
         * FIN is then not reported again. */
        dx_conn_stop_reading (o);
        o->read_ended = true;
        o->ops->on_end (o, DX_EOF);
      } else {
        dx_conn_close (o);
      }
      break;
    }
    dx_conn_ref (o);
    o->ops->on_read (o, plain, (size_t) got);
    dx_conn_unref (o);
  }
  free (plain);
  /* Reading can make output too (TLS 1.3 session tickets, a key update). */
  dx_conn *o = dx_handle_data (DX_HANDLE (s));
  if (!o->closing && o->tls && flush (o, NULL, NULL) < 0)
    dx_conn_close (o);
}

int
dx_conn_tls_write (dx_conn *c, dx_shared_buf *sb, void (*done) (void *arg, int status), void *arg)
{
  if (!dx_tls_write (c->tls, sb->data, sb->len))
    return DX_ENOMEM;
  return flush (c, done, arg);
}

void
dx_conn_tls_close_notify (dx_conn *c)
{
  dx_tls_close_notify (c->tls);
  flush (c, NULL, NULL);
}
