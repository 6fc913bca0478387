#include "server/http-conn.h"

#include "protocol/message.h"
#include "server/http-errors.h"

#include <stdlib.h>

/* Pipelined input buffered while a request is in flight; past it the
 * connection stops reading until the answer is out. */
#define HTTP_IN_HIGH_WATER (128u * 1024u)

/* ---- answers ---- */

static void
finish_answer (dx_http_conn *hc, int status)
{
  dx_metrics_http_request (hc->base.ctx->metrics, hc->route, status);
  if (!hc->keep_alive || hc->peer_eof)
    dx_conn_close_after_write (&hc->base);
}

void
dx_http_respond (dx_http_conn *hc, int status, const char *ctype, const dx_http_header *extra,
                 size_t n_extra, const char *body, size_t len)
{
  if (hc->base.ctx->shutting_down)
    hc->keep_alive = false;
  /* Every answer may be read by a page of another origin (a browser
   * client opened from a file or another port): the API is public. */
  dx_http_header all[9];
  size_t n_all = 0;
  for (size_t i = 0; i < n_extra && n_all < 7; i++)
    all[n_all++] = extra[i];
  all[n_all].name = "Access-Control-Allow-Origin";
  all[n_all++].value = "*";
  /* An HTTP/1.0 client that asked to keep the connection assumes it closes
   * unless the answer says otherwise (RFC 9112 §9.3 / RFC 1945 practice). */
  if (hc->keep_alive && hc->http10) {
    all[n_all].name = "Connection";
    all[n_all++].value = "keep-alive";
  }
  dx_buffer out;
  dx_buffer_init (&out, 0);
  if (dx_http_write_response (&out, status, ctype, all, n_all, hc->keep_alive, body, len)) {
    if (hc->head && status >= 200 && status != 204 && status != 304)
      out.len -= len; /* same head (Content-Length included), no body */
    dx_shared_buf *sb = dx_shared_buf_from_buffer (&out);
    dx_conn_send (&hc->base, sb);
    dx_shared_buf_unref (sb);
  } else
    hc->keep_alive = false;
  dx_buffer_free (&out);
  finish_answer (hc, status);
}

static const char json_type[] = "application/json; charset=utf-8";

void
dx_http_respond_json (dx_http_conn *hc, int status, dx_buffer *body)
{
  if (body->failed) {
    dx_buffer_reset (body);
    dx_encode_http_error (body, "internal_error", "the answer could not be encoded");
    status = 500;
  }
  dx_http_respond (hc, status, json_type, NULL, 0, body->data ? body->data : "", body->len);
  dx_buffer_free (body);
}

void
dx_http_respond_error_extra (dx_http_conn *hc, int status, const char *code, const char *msg,
                             const dx_http_header *extra, size_t n_extra)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_http_error (&b, code, msg);
  dx_http_respond (hc, status, json_type, extra, n_extra, b.data ? b.data : "", b.len);
  dx_buffer_free (&b);
}

void
dx_http_respond_error (dx_http_conn *hc, int status, const char *code, const char *msg)
{
  dx_http_respond_error_extra (hc, status, code, msg, NULL, 0);
}

/* ---- held answers and streams ---- */

void
dx_http_conn_set_state (dx_http_conn *hc, dx_http_conn_state state, const dx_http_hold_ops *ops)
{
  hc->state = state;
  hc->hold = state == DX_HTTP_CONN_READING ? NULL : ops;
}

/* ---- requests ---- */

/* Parses buffered input while the connection is free to answer. */
void
dx_http_conn_serve (dx_http_conn *hc)
{
  while (hc->state == DX_HTTP_CONN_READING && !hc->base.closing && hc->in.len > 0) {
    size_t used = 0;
    dx_http_status st = dx_http_parser_feed (hc->parser, hc->in.data, hc->in.len, &used);
    dx_buffer_consume (&hc->in, used);
    if (st == DX_HTTP_NEED_MORE)
      break;
    if (st == DX_HTTP_ERROR) {
      hc->route = DX_ROUTE_OTHER;
      hc->keep_alive = false;
      hc->head = false;
      dx_http_error_answer a = dx_http_error_answer_for (dx_http_parser_error (hc->parser));
      dx_http_respond_error (hc, a.status, a.code, dx_http_parser_error_message (hc->parser));
      return;
    }
    const dx_http_message *req = dx_http_parser_message (hc->parser);
    if (st == DX_HTTP_HEADERS) {
      hc->header_timer = false;
      dx_conn_arm_timer (&hc->base, DX_HTTP_BODY_TIMEOUT_MS);
      if (req->expect_continue && (req->content_length > 0 || req->chunked))
        dx_conn_send_copy (&hc->base, "HTTP/1.1 100 Continue\r\n\r\n", 25);
      continue;
    }
    /* DX_HTTP_DONE */
    dx_conn_arm_timer (&hc->base, 0);
    hc->route = DX_ROUTE_OTHER;
    hc->keep_alive = req->keep_alive;
    hc->http10 = req->version_minor == 0;
    hc->head = req->method == DX_HTTP_HEAD;
    hc->handler (hc, req);
    if (hc->base.closing || hc->state == DX_HTTP_CONN_STREAM)
      return;
    if (req->upgrade) {
      /* An Upgrade we did not switch to (a WebSocket upgrade has
           * closed this conn): the bytes after the head are not HTTP any
           * more. */
      dx_conn_close_after_write (&hc->base);
      return;
    }
  }
  if (hc->base.closing || hc->state != DX_HTTP_CONN_READING)
    return;
  /* Timers while reading: slow headers (10 s from the first byte), or
   * idle keep-alive (60 s). */
  if (dx_http_parser_started (hc->parser)) {
    if (!dx_http_parser_headers_complete (hc->parser) && !hc->header_timer) {
      hc->header_timer = true;
      dx_conn_arm_timer (&hc->base, DX_HTTP_HEADER_TIMEOUT_MS);
    }
  } else {
    hc->header_timer = false;
    dx_conn_arm_timer (&hc->base, DX_HTTP_IDLE_TIMEOUT_MS);
  }
  if (!hc->base.reading && hc->in.len < HTTP_IN_HIGH_WATER)
    dx_conn_start_reading (&hc->base);
}

/* ---- conn ops ---- */

static void
hc_on_read (dx_conn *c, const char *data, size_t n)
{
  dx_http_conn *hc = (dx_http_conn *) c;
  if (hc->state == DX_HTTP_CONN_STREAM)
    return; /* an event stream has no more requests */
  if (!dx_buffer_append (&hc->in, data, n)) {
    dx_conn_close (c);
    return;
  }
  if (hc->state == DX_HTTP_CONN_READING)
    dx_http_conn_serve (hc);
  if (!c->closing && hc->in.len >= HTTP_IN_HIGH_WATER)
    dx_conn_stop_reading (c);
}

static void
hc_on_end (dx_conn *c, int status)
{
  dx_http_conn *hc = (dx_http_conn *) c;
  /* A client that half-closes after its request (nc, some scripts) still
   * gets the answer of a request in flight. */
  if (status == DX_EOF && hc->state == DX_HTTP_CONN_HELD) {
    hc->peer_eof = true;
    return;
  }
  /* Answers already queued (pipelined requests) still go out. */
  if (status == DX_EOF)
    dx_conn_close_after_write (c);
  else
    dx_conn_close (c);
}

static void
hc_on_timer (dx_conn *c)
{
  dx_http_conn *hc = (dx_http_conn *) c;
  if (hc->state != DX_HTTP_CONN_READING) {
    if (hc->hold && hc->hold->on_timer)
      hc->hold->on_timer (hc);
    return;
  }
  if (dx_http_parser_started (hc->parser)) {
    hc->route = DX_ROUTE_OTHER;
    hc->keep_alive = false;
    hc->head = false;
    dx_http_respond_error (hc, 408, "timeout", "the request took too long to arrive");
  } else
    dx_conn_close (c); /* idle keep-alive */
}

static void
hc_on_shutdown (dx_conn *c)
{
  dx_http_conn *hc = (dx_http_conn *) c;
  if (hc->state != DX_HTTP_CONN_READING && hc->hold && hc->hold->on_shutdown)
    hc->hold->on_shutdown (hc);
  else
    /* Reading, or a held POST: the store was flushed first, so its
     * answer is already queued. */
    dx_conn_close_after_write (c);
}

static void
hc_on_closing (dx_conn *c)
{
  dx_http_conn *hc = (dx_http_conn *) c;
  if (hc->state != DX_HTTP_CONN_READING && hc->hold && hc->hold->on_closing)
    hc->hold->on_closing (hc);
}

static void
hc_destroy (dx_conn *c)
{
  dx_http_conn *hc = (dx_http_conn *) c;
  dx_http_parser_free (hc->parser);
  dx_buffer_free (&hc->in);
  free (hc);
}

static const dx_conn_ops http_ops = {
  hc_on_read, hc_on_end, hc_on_timer, hc_on_shutdown, hc_on_closing, hc_destroy,
};

void
dx_http_conn_accept (dx_conn_ctx *ctx, dx_stream *stream, dx_http_handler handler)
{
  dx_http_conn *hc = calloc (1, sizeof *hc);
  dx_http_limits limits;
  dx_server_http_limits (&limits);
  dx_http_parser *p = hc ? dx_http_parser_new (DX_HTTP_PARSE_REQUEST, &limits) : NULL;
  if (p == NULL) {
    free (hc);
    dx_close (DX_HANDLE (stream), NULL);
    return;
  }
  hc->parser = p;
  hc->handler = handler;
  dx_buffer_init (&hc->in, 0);
  dx_conn_init (&hc->base, ctx, &http_ops, stream, DX_TR_HTTP);
  if (hc->base.over_ip_cap) {
    /* docs/protocol.md §9: over --max-conns-per-ip. The answer a request
     * would get goes out at once, and the connection closes after it. */
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: 85\r\n"
                               "Connection: close\r\n\r\n"
                               "{\"error\":{\"code\":\"rate_limited\",\"message\":"
                               "\"too many connections from this address\"}}\n";
    dx_conn_send_copy (&hc->base, busy, sizeof busy - 1);
    dx_conn_close_after_write (&hc->base);
    return;
  }
  dx_tcp_nodelay (stream, true);
  dx_conn_start_reading (&hc->base);
  dx_conn_arm_timer (&hc->base, DX_HTTP_IDLE_TIMEOUT_MS);
}
