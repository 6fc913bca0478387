#include "server/conn.h"

#include "server/conn-private.h"

#include "server/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read buffers are allocated per read and freed right after it, so an
 * idle connection holds no buffer (10,000 idle sockets cost nothing). */
#define DX_CONN_READ_SIZE 16384
/* How long a closing connection waits for the peer's EOF. */
#define DX_CONN_LINGER_MS 2000

static void unlink_conn (dx_conn *c);

static void
maybe_destroy (dx_conn *c)
{
  if (c->stream_done && c->timer_done && c->refs == 0) {
    unlink_conn (c);
#ifdef DX_HAVE_TLS
    dx_tls_free (c->tls);
    c->tls = NULL;
#endif
    c->ops->destroy (c);
  }
}

static void
on_stream_closed (dx_handle *h)
{
  dx_conn *c = dx_handle_data (h);
  if (c->ip_counted)
    dx_limiter_conn_closed (c->ctx->limits, c->peer_ip);
  c->ip_counted = false;
  c->stream_done = true;
  maybe_destroy (c);
}

static void
on_timer_closed (dx_handle *h)
{
  dx_conn *c = dx_handle_data (h);
  c->timer_done = true;
  maybe_destroy (c);
}

static void
link_conn (dx_conn *c)
{
  dx_conn_ctx *ctx = c->ctx;
  c->prev = NULL;
  c->next = ctx->conns;
  if (ctx->conns)
    ctx->conns->prev = c;
  ctx->conns = c;
  ctx->n_conns++;
}

static void
unlink_conn (dx_conn *c)
{
  dx_conn_ctx *ctx = c->ctx;
  if (c->prev)
    c->prev->next = c->next;
  else if (ctx->conns == c)
    ctx->conns = c->next;
  else
    return; /* not linked */
  if (c->next)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
  ctx->n_conns--;
}

static void
conn_timer_cb (dx_timer *t)
{
  dx_conn *c = dx_handle_data (DX_HANDLE (t));
  if (c->closing) {
    /* Linger over: the peer did not close in time. */
    dx_conn_close (c);
    return;
  }
#ifdef DX_HAVE_TLS
  if (dx_conn_tls_on_timer (c))
    return;
#endif
  c->ops->on_timer (c);
}

static void
make_timer (dx_conn *c)
{
  c->timer = dx_timer_new (c->ctx->loop);
  if (c->timer == NULL) {
    c->timer_done = true;
    return;
  }
  dx_handle_set_data (DX_HANDLE (c->timer), c);
}

void
dx_conn_init (dx_conn *c, dx_conn_ctx *ctx, const dx_conn_ops *ops, dx_stream *stream,
              dx_transport tr)
{
  memset (c, 0, sizeof *c);
  c->ctx = ctx;
  c->ops = ops;
  c->stream = stream;
  c->tr = tr;
  dx_handle_set_data (DX_HANDLE (stream), c);
  make_timer (c);
  ctx->metrics->conn_open[tr]++;
  ctx->metrics->conn_accepted[tr]++;
  link_conn (c);
  if (ctx->limits && dx_limiter_peer_ip (stream, c->peer_ip, sizeof c->peer_ip)) {
    c->via_proxy = dx_limiter_trusted (ctx->limits, c->peer_ip);
    if (dx_limiter_conn_cap_on (ctx->limits)) {
      c->ip_counted = dx_limiter_conn_open (ctx->limits, c->peer_ip);
      c->over_ip_cap = !c->ip_counted;
    }
  }
#ifdef DX_HAVE_TLS
  if (!dx_conn_tls_attach (c))
    dx_conn_close (c);
  else if (c->tls && c->timer)
    dx_timer_start (c->timer, DX_TLS_HANDSHAKE_MS, 0, conn_timer_cb);
#endif
}

bool
dx_conn_set_client_ip (dx_conn *c, const char *ip)
{
  if (strcmp (ip, c->peer_ip) == 0)
    return true;
  if (c->ip_counted)
    dx_limiter_conn_closed (c->ctx->limits, c->peer_ip);
  c->ip_counted = false;
  snprintf (c->peer_ip, sizeof c->peer_ip, "%s", ip);
  if (!dx_limiter_conn_cap_on (c->ctx->limits))
    return true;
  c->ip_counted = dx_limiter_conn_open (c->ctx->limits, c->peer_ip);
  return c->ip_counted;
}

void
dx_conn_init_sink (dx_conn *c, dx_conn_ctx *ctx, const dx_conn_ops *ops, dx_conn_sink_fn sink,
                   dx_transport tr)
{
  memset (c, 0, sizeof *c);
  c->ctx = ctx;
  c->ops = ops;
  c->sink = sink;
  c->tr = tr;
  c->stream_done = true; /* nothing to close but the timer */
  c->read_ended = true;
  make_timer (c);
  ctx->metrics->conn_open[tr]++;
  ctx->metrics->conn_accepted[tr]++;
  link_conn (c);
}

void
dx_conn_set_transport (dx_conn *c, dx_transport tr)
{
  if (c->tr == tr)
    return;
  c->ctx->metrics->conn_open[c->tr]--;
  c->ctx->metrics->conn_open[tr]++;
  c->ctx->metrics->conn_accepted[tr]++;
  c->tr = tr;
}

void
dx_conn_take_stream (dx_conn *to, const dx_conn_ops *ops, dx_conn *from, dx_transport tr)
{
  memset (to, 0, sizeof *to);
  to->ctx = from->ctx;
  to->ops = ops;
  to->stream = from->stream;
  to->tr = from->tr;
  to->reading = from->reading;
  to->read_ended = from->read_ended;
  to->tls = from->tls; /* the filter goes with the stream */
  from->tls = NULL;
  memcpy (to->peer_ip, from->peer_ip, sizeof to->peer_ip); /* so does its count */
  to->via_proxy = from->via_proxy;
  to->ip_counted = from->ip_counted;
  from->ip_counted = false;
  dx_handle_set_data (DX_HANDLE (to->stream), to);
  make_timer (to);
  link_conn (to);
  dx_conn_set_transport (to, tr);

  /* from keeps nothing but its timer; its open-count moved to `to`.
   * (Both are linked until destroyed.) */
  from->stream = NULL;
  from->stream_done = true;
  from->ctx->metrics->conn_open[from->tr]++; /* dx_conn_close subtracts it */
  dx_conn_close (from);
}

static void
conn_alloc_cb (dx_stream *s, size_t suggested, dx_buf *buf)
{
  (void) s;
  (void) suggested;
  buf->base = malloc (DX_CONN_READ_SIZE);
  buf->len = buf->base ? DX_CONN_READ_SIZE : 0;
}

static void
conn_read_cb (dx_stream *s, ptrdiff_t n, const dx_buf *buf)
{
  dx_conn *c = dx_handle_data (DX_HANDLE (s));
  if (n > 0) {
    c->ctx->metrics->bytes_in[c->tr] += (uint64_t) n;
    if (!c->closing) {
      /* The handler may hand the stream to another conn or close it;
           * keep this one alive for the duration of the call. */
      c->refs++;
#ifdef DX_HAVE_TLS
      if (c->tls)
        dx_conn_tls_on_read (c, buf->base, (size_t) n);
      else
#endif
        c->ops->on_read (c, buf->base, (size_t) n);
      c->refs--;
    }
  } else if (n < 0) {
    c->reading = false;
    c->read_ended = true;
    if (c->closing)
      dx_conn_close (c);
    else
      c->ops->on_end (c, (int) n);
  }
  free (buf->base);
  /* A conn whose last reference was the read above may go now. */
  if (c->closing)
    maybe_destroy (c);
}

void
dx_conn_start_reading (dx_conn *c)
{
  if (c->reading || c->read_ended || c->stream == NULL || c->stream_done)
    return;
  if (dx_read_start (c->stream, conn_alloc_cb, conn_read_cb) == 0)
    c->reading = true;
}

void
dx_conn_stop_reading (dx_conn *c)
{
  if (!c->reading || c->stream == NULL)
    return;
  dx_read_stop (c->stream);
  c->reading = false;
}

bool
dx_conn_send (dx_conn *c, dx_shared_buf *sb)
{
  if (c->closing || c->stream == NULL || sb == NULL)
    return false;
#ifdef DX_HAVE_TLS
  if (c->tls) {
    int trc = dx_conn_tls_write (c, sb, NULL, NULL); /* counts the ciphertext */
    if (trc < 0) {
      dx_log_debug ("TLS write failed: %s", dx_strerror (trc));
      dx_conn_close (c);
      return false;
    }
    return true;
  }
#endif
  int rc = dx_shared_buf_write (c->stream, sb);
  if (rc < 0) {
    dx_log_debug ("write failed: %s", dx_strerror (rc));
    dx_conn_close (c);
    return false;
  }
  c->ctx->metrics->bytes_out[c->tr] += sb->len;
  return true;
}

typedef struct {
  dx_shared_buf *sb;
  void (*done) (void *arg, int status);
  void *arg;
} notify_write;

static void
on_notify_written (dx_stream *s, int status, void *arg)
{
  (void) s;
  notify_write *nw = arg;
  dx_shared_buf_unref (nw->sb);
  nw->done (nw->arg, status);
  free (nw);
}

bool
dx_conn_send_notify (dx_conn *c, dx_shared_buf *sb, void (*done) (void *arg, int status), void *arg)
{
  if (c->sink && !c->closing && sb != NULL)
    return c->sink (c, sb, done, arg); /* the sink counts what it sends */
  if (c->closing || c->stream == NULL || sb == NULL)
    return false;
#ifdef DX_HAVE_TLS
  if (c->tls) {
    if (dx_conn_tls_write (c, sb, done, arg) < 0) {
      dx_conn_close (c);
      return false;
    }
    return true;
  }
#endif
  notify_write *nw = malloc (sizeof *nw);
  if (nw == NULL) {
    dx_conn_close (c);
    return false;
  }
  nw->sb = dx_shared_buf_ref (sb);
  nw->done = done;
  nw->arg = arg;
  dx_buf b = dx_buf_init (sb->data, sb->len);
  int rc = dx_write (c->stream, &b, 1, on_notify_written, nw);
  if (rc < 0) {
    dx_shared_buf_unref (sb);
    free (nw);
    dx_conn_close (c);
    return false;
  }
  c->ctx->metrics->bytes_out[c->tr] += sb->len;
  return true;
}

bool
dx_conn_send_copy (dx_conn *c, const void *data, size_t len)
{
  if (c->closing)
    return false;
  dx_shared_buf *sb = dx_shared_buf_new (data, len);
  if (sb == NULL) {
    dx_conn_close (c);
    return false;
  }
  bool ok = dx_conn_send (c, sb);
  dx_shared_buf_unref (sb);
  return ok;
}

bool
dx_conn_send_live (dx_conn *c, dx_shared_buf *sb)
{
  if (c->closing || c->stream == NULL)
    return false;
  size_t queued = dx_write_queue_size (c->stream);
  uint64_t now = dx_loop_now_ms (c->ctx->loop);
  bool slow = queued > DX_CONN_OUT_LIMIT;
  if (queued <= DX_CONN_OUT_SOFT)
    c->over_soft_since = 0;
  else if (c->over_soft_since == 0)
    c->over_soft_since = now ? now : 1;
  else if (now - c->over_soft_since >= DX_CONN_OUT_SOFT_MS)
    slow = true;
  if (slow) {
    char peer[64] = "?";
    dx_stream_peer_name (c->stream, peer, sizeof peer);
    dx_log_info ("disconnecting slow %s client %s (%zu bytes queued)", dx_transport_name (c->tr),
                 peer, dx_write_queue_size (c->stream));
    c->ctx->metrics->slow_disconnects++;
    dx_conn_close (c);
    return false;
  }
  return dx_conn_send (c, sb);
}

void
dx_conn_arm_timer (dx_conn *c, uint64_t ms)
{
  if (c->timer == NULL || c->timer_done || dx_handle_is_closing (DX_HANDLE (c->timer)))
    return;
#ifdef DX_HAVE_TLS
  if (dx_conn_tls_arm_timer (c, ms))
    return; /* the handshake's deadline stands */
#endif
  if (ms == 0)
    dx_timer_stop (c->timer);
  else
    dx_timer_start (c->timer, ms, 0, conn_timer_cb);
}

/* Marks the conn closing once: out of the server's list, out of every
 * room, no more application callbacks. */
static bool
begin_closing (dx_conn *c)
{
  if (c->closing)
    return false;
  c->closing = true;
  c->ctx->metrics->conn_open[c->tr]--;
  /* A stream handed to another conn (an upgrade) is not closed here. The
   * peer closed first if its FIN (or an error) has been read. */
  if (c->stream)
    c->ctx->metrics->closed_first[c->read_ended ? DX_CLOSED_BY_PEER : DX_CLOSED_BY_SERVER][c->tr]++;
  if (c->ops->on_closing)
    c->ops->on_closing (c);
  return true;
}

void
dx_conn_close (dx_conn *c)
{
  begin_closing (c);
  if (c->stream && !c->stream_done && !dx_handle_is_closing (DX_HANDLE (c->stream)))
    dx_close (DX_HANDLE (c->stream), on_stream_closed);
  if (c->timer && !c->timer_done && !dx_handle_is_closing (DX_HANDLE (c->timer)))
    dx_close (DX_HANDLE (c->timer), on_timer_closed);
}

static void
on_shutdown_done (dx_stream *s, int status, void *arg)
{
  (void) s;
  dx_conn *c = arg;
  if (status < 0 || !c->reading)
    dx_conn_close (c);
}

void
dx_conn_close_after_write (dx_conn *c)
{
  if (!begin_closing (c))
    return;
  if (c->stream == NULL || dx_handle_is_closing (DX_HANDLE (c->stream))) {
    dx_conn_close (c);
    return;
  }
  c->lingering = true;
  /* Keep reading (and discarding) so the peer's EOF is seen. */
  dx_conn_start_reading (c);
#ifdef DX_HAVE_TLS
  if (c->tls)
    dx_conn_tls_close_notify (c);
#endif
  if (dx_shutdown (c->stream, on_shutdown_done, c) < 0) {
    dx_conn_close (c);
    return;
  }
  if (c->timer && !c->timer_done)
    dx_timer_start (c->timer, DX_CONN_LINGER_MS, 0, conn_timer_cb);
}

void
dx_conn_ref (dx_conn *c)
{
  c->refs++;
}

void
dx_conn_unref (dx_conn *c)
{
  c->refs--;
  if (c->closing)
    maybe_destroy (c);
}

void
dx_conn_shutdown_all (dx_conn_ctx *ctx)
{
  /* Conns stay linked until destroyed (asynchronously), so the walk is
   * safe; a conn already closing is left to finish. */
  for (dx_conn *c = ctx->conns; c; c = c->next)
    if (!c->closing)
      c->ops->on_shutdown (c);
}

void
dx_conn_close_all (dx_conn_ctx *ctx)
{
  for (dx_conn *c = ctx->conns; c; c = c->next)
    dx_conn_close (c);
}
