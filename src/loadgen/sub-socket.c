/* duplex-bench: WebSocket and raw TCP connections (subscribers and the
 * duplexd/Node ws publisher), and duplexd's socket protocol on them. */
#include "loadgen/run-private.h"

#include <stdio.h>
#include <string.h>

#include "protocol/message.h"

/* One WebSocket text frame from this client (masked, as RFC 6455 wants). */
void
bench_ws_send_text (conn *c, const char *text, size_t len)
{
  uint32_t k = bench_rng_next (c->R);
  uint8_t mask[4] = { (uint8_t) k, (uint8_t) (k >> 8), (uint8_t) (k >> 16), (uint8_t) (k >> 24) };
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_ws_encode_frame (&b, true, DX_WS_OP_TEXT, text, len, mask);
  bench_conn_write_buffer (c, &b);
}

void
bench_socket_send_json (conn *c, dx_buffer *json)
{
  if (c->tr == BENCH_WEBSOCKET) {
    if (!json->failed)
      bench_ws_send_text (c, json->data, json->len);
    dx_buffer_free (json);
  } else {
    dx_buffer_append_char (json, '\n');
    bench_conn_write_buffer (c, json);
  }
}

/* ---- duplexd socket events (WebSocket and TCP) ------------------------- */

static void
duplexd_event (conn *c, const char *json, size_t len)
{
  run *R = c->R;
  if (c->role == ROLE_SUBSCRIBER && bench_deliver_event (c, json, len))
    return;
  dx_msg m;
  dx_msg_error err;
  if (!dx_msg_decode (json, len, DX_MSG_FROM_SERVER, &m, &err)) {
    R->r->errors++;
    return;
  }
  switch (m.type) {
  case DX_MSG_WELCOME:
    if (c->role == ROLE_PUBLISHER)
      bench_publisher_start (R);
    break;
  case DX_MSG_JOINED: bench_sub_ready (c); break;
  case DX_MSG_MESSAGE:
    if (c->role == ROLE_SUBSCRIBER)
      bench_deliver (c, m.text, m.text_len);
    break;
  case DX_MSG_ACK: bench_acked (R); break;
  case DX_MSG_ERROR:
    if (c->role == ROLE_PUBLISHER && m.has_retry_after) {
      /* Backpressure (docs/protocol.md §9): this send is refused; wait as
       * told. Not an error of the run. */
      bench_refused (R, m.retry_after);
      break;
    }
    R->r->errors++;
    if (c->role == ROLE_PUBLISHER)
      bench_refused (R, 0); /* answered, if not accepted */
    if (!R->r->error[0])
      snprintf (R->r->error, sizeof R->r->error, "%s %u: server error: %s",
                c->role == ROLE_SUBSCRIBER ? "subscriber" : "publisher", c->idx, m.code);
    break;
  default: break;
  }
}

void
bench_duplexd_hello (conn *c)
{
  dx_buffer b;
  /* One nick for every subscriber: presence is per nick, so the room
   * announces the subscribers once instead of N times to N members. */
  dx_buffer_init (&b, 0);
  dx_encode_hello (&b, c->role == ROLE_PUBLISHER ? "bench-pub" : "bench-sub", NULL, NULL);
  bench_socket_send_json (c, &b);
  if (c->role == ROLE_SUBSCRIBER) {
    dx_buffer_init (&b, 0);
    dx_encode_join (&b, c->R->room, true, 0);
    bench_socket_send_json (c, &b);
  }
}

/* ---- WebSocket -------------------------------------------------------- */

void
bench_ws_begin (conn *c)
{
  run *R = c->R;
  uint8_t nonce[16];
  for (int i = 0; i < 16; i += 4) {
    uint32_t k = bench_rng_next (R);
    memcpy (nonce + i, &k, 4);
  }
  char target[128];
  if (R->o->target == BENCH_DUPLEXD)
    snprintf (target, sizeof target, "/api/v1/ws");
  else if (R->o->target == BENCH_NCHAN)
    snprintf (target, sizeof target, "/sub/%s", R->room);
  else
    snprintf (target, sizeof target, "/");
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_ws_write_client_handshake (&b, R->o->hostport, target, nonce, NULL, NULL, 0, c->ws_accept);
  if (c->role == ROLE_SUBSCRIBER)
    R->r->http_requests++; /* the upgrade request */
  bench_conn_write_buffer (c, &b);
}

void
bench_ws_upgraded (conn *c, const dx_http_message *resp)
{
  const char *why = NULL;
  if (!dx_ws_check_server_handshake (resp, c->ws_accept, NULL, &why)) {
    bench_conn_fail (c, why ? why : "WebSocket handshake refused");
    return;
  }
  c->upgraded = true;
  c->ws = dx_ws_decoder_new (DX_WS_ROLE_CLIENT, 1 << 20);
  if (!c->ws) {
    bench_conn_fail (c, "out of memory");
    return;
  }
  if (c->R->o->target == BENCH_DUPLEXD)
    bench_duplexd_hello (c);
  else if (c->role == ROLE_SUBSCRIBER)
    bench_sub_ready (c);
  else
    bench_publisher_start (c->R);
}

static void
ws_pong (conn *c, const uint8_t *data, size_t len)
{
  uint32_t k = bench_rng_next (c->R);
  uint8_t mask[4];
  memcpy (mask, &k, 4);
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_ws_encode_frame (&b, true, DX_WS_OP_PONG, data, len, mask);
  bench_conn_write_buffer (c, &b);
}

void
bench_ws_feed (conn *c, const char *data, size_t len)
{
  while (len > 0 && !c->dead) {
    size_t used = 0;
    dx_ws_status st = dx_ws_decoder_feed (c->ws, (const uint8_t *) data, len, &used);
    data += used;
    len -= used;
    const dx_ws_event *ev = dx_ws_decoder_event (c->ws);
    if (st == DX_WS_NEED_MORE)
      break;
    if (st == DX_WS_MESSAGE) {
      if (c->R->o->target == BENCH_DUPLEXD)
        duplexd_event (c, (const char *) ev->data, ev->len);
      else if (c->role == ROLE_SUBSCRIBER)
        bench_deliver (c, (const char *) ev->data, ev->len);
    } else if (st == DX_WS_PING) {
      ws_pong (c, ev->data, ev->len);
    } else if (st == DX_WS_CLOSE || st == DX_WS_ERROR || st == DX_WS_FINISHED) {
      bench_conn_fail (c, st == DX_WS_ERROR ? "WebSocket protocol error"
                                            : "WebSocket closed by the server");
    }
  }
}

/* ---- raw TCP (NDJSON) --------------------------------------------------- */

void
bench_tcp_feed (conn *c, const char *data, size_t len)
{
  while (len > 0 && !c->dead) {
    size_t used = 0;
    const char *line;
    size_t llen;
    dx_ndjson_event ev = dx_ndjson_next (&c->nd, data, len, &used, &line, &llen);
    data += used;
    len -= used;
    if (ev == DX_NDJSON_LINE)
      duplexd_event (c, line, llen);
    else if (ev == DX_NDJSON_NEED_MORE)
      break;
    else
      c->R->r->errors++;
  }
}
