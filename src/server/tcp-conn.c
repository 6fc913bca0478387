#include "server/tcp-conn.h"

#include "protocol/message.h"
#include "protocol/ndjson.h"
#include "protocol/proxy.h"
#include "server/conn.h"
#include "server/log.h"
#include "server/socket-client.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  dx_conn base; /* first */
  dx_socket_client client;
  dx_ndjson lines;
  /* From a trusted proxy: the PROXY v1 header is awaited first. */
  bool proxy_done;
  char head[DX_PROXY_V1_MAX];
  size_t head_len;
} tcp_conn;

static bool
tcp_send_json (dx_socket_client *s, const char *json, size_t len)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  bool ok = dx_ndjson_append_line (&b, json, len) && dx_conn_send_copy (s->conn, b.data, b.len);
  dx_buffer_free (&b);
  return ok;
}

static bool
tcp_send_event (dx_socket_client *s, dx_shared_event *e, bool live)
{
  dx_shared_buf *sb = dx_shared_event_line (e);
  if (sb == NULL)
    return false;
  return live ? dx_conn_send_live (s->conn, sb) : dx_conn_send (s->conn, sb);
}

static dx_shared_buf *
tcp_frame (dx_socket_client *s, dx_shared_event *e)
{
  (void) s;
  return dx_shared_event_line (e);
}

static void
tcp_close_policy (dx_socket_client *s, const char *reason)
{
  dx_log_debug ("closing tcp client: %s", reason);
  dx_conn_close_after_write (s->conn);
}

static const dx_socket_client_ops tcp_client_ops = {
  tcp_send_json,
  tcp_send_event,
  tcp_frame,
  tcp_close_policy,
};

/* docs/protocol.md §9: a raw TCP connection from a trusted proxy starts
 * with a PROXY v1 header naming the client ("UNKNOWN": the proxy itself).
 * Returns how many bytes of data it took (the rest are NDJSON), or -1 when
 * the connection was closed or more is needed (everything was taken). */
static long
take_proxy_header (tcp_conn *tc, const char *data, size_t n)
{
  size_t room = sizeof tc->head - tc->head_len, take = n < room ? n : room;
  memcpy (tc->head + tc->head_len, data, take);
  size_t before = tc->head_len;
  tc->head_len += take;
  size_t used = 0;
  dx_ip src;
  bool unknown = false;
  switch (dx_proxy_v1_parse (tc->head, tc->head_len, &used, &src, &unknown)) {
  case DX_PROXY_NEED_MORE: return -1;
  case DX_PROXY_INVALID: dx_conn_close (&tc->base); return -1;
  case DX_PROXY_OK: break;
  }
  tc->proxy_done = true;
  if (!unknown) {
    char text[48];
    dx_ip_format (&src, text, sizeof text);
    if (!dx_conn_set_client_ip (&tc->base, text)) {
      dx_conn_close (&tc->base); /* that client is over --max-conns-per-ip */
      return -1;
    }
  }
  return (long) (used - before);
}

static void
tcp_on_read (dx_conn *c, const char *data, size_t n)
{
  tcp_conn *tc = (tcp_conn *) c;
  dx_conn_arm_timer (c, DX_TCP_SILENCE_MS);
  if (c->via_proxy && !tc->proxy_done) {
    long took = take_proxy_header (tc, data, n);
    if (took < 0)
      return;
    data += took;
    n -= (size_t) took;
  }
  while (n > 0 && !c->closing) {
    size_t used = 0;
    const char *line = NULL;
    size_t llen = 0;
    dx_ndjson_event ev = dx_ndjson_next (&tc->lines, data, n, &used, &line, &llen);
    data += used;
    n -= used;
    switch (ev) {
    case DX_NDJSON_NEED_MORE: return;
    case DX_NDJSON_LINE: dx_socket_client_handle (&tc->client, line, llen); break;
    case DX_NDJSON_TOO_LARGE:
      dx_socket_client_error (&tc->client, "too_large", "a line is at most 16384 bytes");
      break;
    case DX_NDJSON_ERROR: dx_conn_close (c); return;
    }
  }
}

static void
tcp_on_end (dx_conn *c, int status)
{
  /* A half-close (nc, a script piping a file) still gets every answer. */
  if (status == DX_EOF)
    dx_socket_client_peer_eof (&((tcp_conn *) c)->client);
  else
    dx_conn_close (c);
}

static void
tcp_on_timer (dx_conn *c)
{
  tcp_conn *tc = (tcp_conn *) c;
  dx_socket_client_error (&tc->client, "timeout", "no data for too long");
  dx_conn_close_after_write (c);
}

static void
tcp_on_shutdown (dx_conn *c)
{
  tcp_conn *tc = (tcp_conn *) c;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_error (&b, "shutting_down", "the server is shutting down");
  tcp_send_json (&tc->client, b.data, b.len);
  dx_buffer_free (&b);
  dx_conn_close_after_write (c);
}

static void
tcp_on_closing (dx_conn *c)
{
  dx_socket_client_leave_all (&((tcp_conn *) c)->client);
}

static void
tcp_destroy (dx_conn *c)
{
  tcp_conn *tc = (tcp_conn *) c;
  dx_ndjson_free (&tc->lines);
  free (tc);
}

static const dx_conn_ops tcp_ops = {
  tcp_on_read, tcp_on_end, tcp_on_timer, tcp_on_shutdown, tcp_on_closing, tcp_destroy,
};

void
dx_tcp_conn_accept (dx_conn_ctx *ctx, dx_stream *stream)
{
  tcp_conn *tc = calloc (1, sizeof *tc);
  if (tc == NULL) {
    dx_close (DX_HANDLE (stream), NULL);
    return;
  }
  dx_ndjson_init (&tc->lines, DX_LINE_MAX);
  dx_conn_init (&tc->base, ctx, &tcp_ops, stream, DX_TR_TCP);
  dx_socket_client_init (&tc->client, &tc->base, &tcp_client_ops, DX_TR_TCP);
  dx_tcp_nodelay (stream, true);
  if (tc->base.over_ip_cap) {
    dx_conn_close (&tc->base); /* docs/protocol.md §9: over --max-conns-per-ip */
    return;
  }
  dx_conn_start_reading (&tc->base);
  dx_conn_arm_timer (&tc->base, DX_TCP_SILENCE_MS);
}
