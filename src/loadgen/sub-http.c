/* duplex-bench: HTTP subscribers — short poll, long poll and SSE on
 * duplexd, long poll (Etag / If-None-Match) and EventSource on nchan. */
#include "loadgen/run-private.h"

#include <inttypes.h>
#include <stdio.h>

#include "protocol/message.h"

/* ---- poll and long poll ----------------------------------------------- */

static bool
poll_message (const dx_msg *m, void *user)
{
  conn *c = user;
  if (m->id > c->since)
    c->since = m->id;
  bench_deliver (c, m->text, m->text_len);
  return true;
}

static void
poll_timer_fired (dx_timer *t)
{
  bench_http_sub_request (dx_handle_data (DX_HANDLE (t)));
}

static void
schedule_request (conn *c, uint64_t ms)
{
  if (!c->timer) {
    c->timer = dx_timer_new (c->R->loop);
    if (!c->timer) {
      bench_conn_fail (c, "out of memory");
      return;
    }
    dx_handle_set_data (DX_HANDLE (c->timer), c);
  }
  dx_timer_start (c->timer, ms, 0, poll_timer_fired);
}

static void
copy_header (const dx_http_message *m, const char *name, char *out, size_t cap)
{
  const char *v = dx_http_message_header (m, name);
  if (v)
    snprintf (out, cap, "%s", v);
}

/* A complete response to a poll or long poll. */
void
bench_http_poll_answer (conn *c, const dx_http_message *m)
{
  run *R = c->R;
  c->busy = false;
  uint64_t before = c->delivered;
  if (R->o->target == BENCH_DUPLEXD) {
    if (m->status != 200) {
      R->r->errors++;
      if (!R->r->error[0])
        snprintf (R->r->error, sizeof R->r->error, "subscriber %u: poll answered %d", c->idx,
                  m->status);
      schedule_request (c, 100);
      return;
    }
    uint64_t last_id;
    char epoch[DX_EPOCH_MAX + 1];
    dx_msg_error err;
    if (!dx_decode_poll_answer (m->body, m->body_len, poll_message, c, &last_id, epoch, &err))
      R->r->errors++;
  } else if (m->status == 200) { /* nchan: one message per answer */
    copy_header (m, "Etag", c->etag, sizeof c->etag);
    copy_header (m, "Last-Modified", c->lastmod, sizeof c->lastmod);
    bench_deliver (c, m->body, m->body_len);
  } else if (m->status != 304 && m->status != 408) {
    /* 304/408: nchan's long-poll timeout, nothing new. */
    R->r->errors++;
  }
  if (c->dead) /* also when that delivery ended the run */
    return;
  bench_sub_ready (c);
  if (c->delivered == before)
    R->r->empty_polls++;
  if (!m->keep_alive) {
    /* The server closes this connection: the next request goes on a new one. */
    dx_close (DX_HANDLE (c->s), NULL);
    c->s = NULL;
    c->connected = false;
    bench_conn_start (R, c);
    return;
  }
  if (c->tr == BENCH_POLL && c->delivered == before)
    schedule_request (c, R->o->poll_interval);
  else
    bench_http_sub_request (c);
}

void
bench_http_sub_request (conn *c)
{
  run *R = c->R;
  if (c->dead || c->busy || !c->connected || R->phase == PHASE_DONE)
    return;
  char target[256];
  dx_buffer b;
  if (R->o->target == BENCH_DUPLEXD) {
    if (c->tr == BENCH_LONGPOLL)
      snprintf (target, sizeof target, "/api/v1/rooms/%s/messages?since=%" PRIu64 "&wait=%u",
                R->room, c->since, R->o->longpoll_wait);
    else
      snprintf (target, sizeof target, "/api/v1/rooms/%s/messages?since=%" PRIu64 "&limit=1000",
                R->room, c->since);
    bench_request_head (c, &b, "GET", target);
  } else {
    snprintf (target, sizeof target, "/sub/%s", R->room);
    bench_request_head (c, &b, "GET", target);
    if (c->etag[0])
      dx_http_write_header (&b, "If-None-Match", c->etag);
    if (c->lastmod[0])
      dx_http_write_header (&b, "If-Modified-Since", c->lastmod);
  }
  dx_http_write_end_headers (&b);
  c->busy = true;
  R->r->http_requests++;
  bench_conn_write_buffer (c, &b);
  /* A long poll from the start of the room is subscribed as soon as it is
   * sent: the server holds it until the first message. */
  if (c->tr == BENCH_LONGPOLL)
    bench_sub_ready (c);
}

/* ---- SSE ----------------------------------------------------------------- */

void
bench_sse_begin (conn *c)
{
  run *R = c->R;
  char target[256];
  if (R->o->target == BENCH_DUPLEXD)
    snprintf (target, sizeof target, "/api/v1/rooms/%s/events?since=0", R->room);
  else
    snprintf (target, sizeof target, "/sub/%s", R->room);
  dx_buffer b;
  bench_request_head (c, &b, "GET", target);
  dx_http_write_header (&b, "Accept", "text/event-stream");
  dx_http_write_end_headers (&b);
  R->r->http_requests++;
  bench_conn_write_buffer (c, &b);
}

void
bench_sse_headers (conn *c, const dx_http_message *m)
{
  if (m->status != 200) {
    bench_conn_fail (c, "SSE request refused");
    return;
  }
  c->upgraded = true;
  c->chunked = m->chunked;
  dx_chunked_decoder_init (&c->chunk, 0);
  dx_buffer_init (&c->decoded, 0);
  c->sse = dx_sse_parser_new (0, 0);
  if (!c->sse) {
    bench_conn_fail (c, "out of memory");
    return;
  }
  bench_sub_ready (c);
}

static void
sse_feed_decoded (conn *c, const char *data, size_t len)
{
  while (len > 0 && !c->dead) {
    size_t used = 0;
    dx_sse_status st = dx_sse_parser_feed (c->sse, data, len, &used);
    data += used;
    len -= used;
    if (st == DX_SSE_EVENT) {
      const dx_sse_event *ev = dx_sse_parser_event (c->sse);
      if (c->R->o->target == BENCH_DUPLEXD) {
        if (bench_deliver_event (c, ev->data, ev->data_len))
          continue;
        dx_msg m;
        if (dx_msg_decode (ev->data, ev->data_len, DX_MSG_FROM_SERVER, &m, NULL)
            && m.type == DX_MSG_MESSAGE)
          bench_deliver (c, m.text, m.text_len);
      } else {
        bench_deliver (c, ev->data, ev->data_len);
      }
    } else if (st == DX_SSE_ERROR) {
      bench_conn_fail (c, "SSE stream error");
    } else if (st == DX_SSE_NEED_MORE) {
      break;
    }
  }
}

/* Bytes of the endless SSE response body (after its head). */
void
bench_sse_feed (conn *c, const char *data, size_t len)
{
  if (!c->chunked) {
    sse_feed_decoded (c, data, len);
    return;
  }
  while (len > 0 && !c->dead) {
    size_t used = 0;
    dx_buffer_reset (&c->decoded);
    dx_chunked_status st = dx_chunked_decoder_feed (&c->chunk, data, len, &used, &c->decoded);
    data += used;
    len -= used;
    if (c->decoded.len)
      sse_feed_decoded (c, c->decoded.data, c->decoded.len);
    if (st == DX_CHUNKED_ERROR)
      bench_conn_fail (c, "bad chunked encoding");
    else if (st != DX_CHUNKED_NEED_MORE)
      bench_conn_fail (c, "SSE stream ended by the server");
    if (st != DX_CHUNKED_NEED_MORE)
      break;
  }
}
