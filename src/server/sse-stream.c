#include "server/sse-stream.h"

#include "protocol/chunked.h"
#include "protocol/http.h"
#include "server/hub.h"
#include "server/shared-event.h"

#include <stdio.h>
#include <string.h>

static void
sse_send (dx_http_conn *hc, dx_shared_event *e, bool live)
{
  dx_shared_buf *sb = dx_shared_event_sse (e, hc->sse_chunked);
  if (sb == NULL)
    return;
  if (live ? dx_conn_send_live (&hc->base, sb) : dx_conn_send (&hc->base, sb))
    if (e->id)
      hc->base.ctx->metrics->msgs_out[DX_TR_SSE]++;
}

static void
sse_replay_send (void *arg, dx_shared_event *e)
{
  sse_send (arg, e, false);
}

static dx_shared_buf *
sse_frame (void *arg, dx_shared_event *e)
{
  dx_http_conn *hc = arg;
  return dx_shared_event_sse (e, hc->sse_chunked);
}

static void
sse_message (dx_sub *sub, dx_shared_event *e)
{
  dx_http_conn *hc = sub->owner;
  if (hc->sse_replay.active || e->id < sub->next_id)
    return;
  if (e->id > sub->next_id)
    dx_replay_gap (&hc->base, hc->room, sub->next_id - 1, e->id - 1, sse_replay_send, hc);
  sub->next_id = e->id + 1;
  sse_send (hc, e, true);
}

static void
sse_presence (dx_sub *sub, dx_shared_event *e)
{
  sse_send (sub->owner, e, true);
}

static void sse_on_shutdown (dx_http_conn *hc);

/* A new epoch (docs/protocol.md §7): the stream ends; the client comes
 * back and sees the new epoch in the first answer it gets. */
static void
sse_epoch (dx_sub *sub)
{
  dx_http_conn *hc = sub->owner;
  dx_hub_unsubscribe (hc->base.ctx->hub, sub);
  sse_on_shutdown (hc);
}

static const dx_sub_ops sse_ops = { sse_message, sse_presence, sse_epoch };

static void
sse_raw (dx_http_conn *hc, const char *data, size_t len)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  bool ok = hc->sse_chunked ? dx_chunked_encode (&b, data, len) : dx_buffer_append (&b, data, len);
  if (ok)
    dx_conn_send_copy (&hc->base, b.data, b.len);
  dx_buffer_free (&b);
}

/* The server is stopping: the stream ends (the last chunk), then the
 * connection closes. */
static void
sse_on_shutdown (dx_http_conn *hc)
{
  if (hc->sse_chunked)
    dx_conn_send_copy (&hc->base, "0\r\n\r\n", 5);
  dx_conn_close_after_write (&hc->base);
}

static void
sse_on_timer (dx_http_conn *hc)
{
  sse_raw (hc, ": ping\n\n", 8);
  dx_conn_arm_timer (&hc->base, DX_SSE_PING_MS);
}

static void
sse_on_closing (dx_http_conn *hc)
{
  dx_hub_unsubscribe (hc->base.ctx->hub, &hc->sub);
}

static const dx_http_hold_ops sse_stream_ops = {
  sse_on_timer,
  sse_on_shutdown,
  sse_on_closing,
};

void
dx_sse_stream_start (dx_http_conn *hc, const dx_http_message *req, const char *room)
{
  dx_conn_ctx *ctx = hc->base.ctx;
  uint64_t since = 0;
  bool has_since = false;
  const char *leid = dx_http_message_header (req, "Last-Event-ID");
  dx_http_query_result qr = dx_http_query_get_u64 (req->query, "since", &since);
  if (qr == DX_HTTP_QUERY_INVALID) {
    dx_http_respond_error (hc, 400, "bad_request", "since must be an unsigned integer");
    return;
  }
  has_since = qr == DX_HTTP_QUERY_FOUND;
  if (leid != NULL && *leid != '\0') {
    uint64_t v = 0;
    for (const char *p = leid; *p; p++) {
      if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10) {
        dx_http_respond_error (hc, 400, "bad_request", "Last-Event-ID must be a message id");
        return;
      }
      v = v * 10 + (uint64_t) (*p - '0');
    }
    since = v;
    has_since = true;
  }

  /* Headers at once; the stream never ends by itself. */
  hc->sse_chunked = req->version_minor >= 1;
  hc->keep_alive = false;
  dx_buffer out;
  dx_buffer_init (&out, 0);
  dx_http_header extra[] = {
    { "Cache-Control", "no-cache" },
    { "X-Accel-Buffering", "no" },
    { "Access-Control-Allow-Origin", "*" },
  };
  if (hc->sse_chunked)
    dx_http_write_chunked_head (&out, 200, "text/event-stream", extra,
                                sizeof extra / sizeof extra[0], true);
  else {
    dx_http_write_status_line (&out, 200, NULL);
    dx_http_write_header (&out, "Content-Type", "text/event-stream");
    /* The same fields as on HTTP/1.1: a browser's EventSource needs the
       CORS one whatever the version (docs/protocol.md §4.5). */
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
      dx_http_write_header (&out, extra[i].name, extra[i].value);
    dx_http_write_header (&out, "Connection", "close");
    dx_http_write_end_headers (&out);
  }
  dx_conn_send_copy (&hc->base, out.data, out.len);
  dx_buffer_free (&out);
  dx_metrics_http_request (ctx->metrics, hc->route, 200);

  dx_http_conn_set_state (hc, DX_HTTP_CONN_STREAM, &sse_stream_ops);
  dx_conn_set_transport (&hc->base, DX_TR_SSE);
  snprintf (hc->room, sizeof hc->room, "%s", room);
  uint64_t last = dx_store_last_id (ctx->poster->store, room);
  memset (&hc->sub, 0, sizeof hc->sub);
  hc->sub.ops = &sse_ops;
  hc->sub.kind = DX_SUB_SSE;
  hc->sub.owner = hc;
  hc->sub.next_id = last + 1;
  /* --redis: the view of a room this node did not follow may be behind
   * since; it catches up through the hub, from since on (docs/protocol.md §7). */
  if (has_since && since > last && ctx->poster->cluster)
    hc->sub.next_id = since + 1;
  if (!hc->base.closing && !dx_hub_subscribe (ctx->hub, &hc->sub, room)) {
    dx_conn_close (&hc->base);
    return;
  }
  dx_replay_init (&hc->sse_replay, &hc->base, &hc->sub, sse_frame, hc);
  if (has_since && since < last)
    dx_replay_start (&hc->sse_replay, room, since);
  dx_conn_arm_timer (&hc->base, DX_SSE_PING_MS);
}
