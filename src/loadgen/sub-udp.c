/* duplex-bench: UDP subscribers (docs/protocol.md §8). Each subscriber is
 * its own UDP socket: a padded hello with the run's token (one token for
 * every subscriber, from POST /api/v1/session), then `join` since 0 with
 * the cookie of the welcome. A lost hello or join is sent again every
 * BENCH_UDP_RETRY_MS until `joined` comes; after that a ping every 10 s
 * keeps the session alive in long runs. Messages are counted by the same
 * bench_deliver as every transport, so what UDP loses, reorders or
 * repeats shows up as gaps, reordered and duplicates; what never arrives
 * at all is reported as lost at the end of the run (bench_udp_lost). */
#include "loadgen/run-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/json.h"
#include "protocol/message.h"

#define BENCH_UDP_DATAGRAM 1200
#define BENCH_UDP_RETRY_MS 500
#define BENCH_UDP_PING_MS 10000

/* The "cookie" member of a welcome (the protocol module's codecs ignore
 * members they do not know). */
static bool
read_cookie (const char *json, size_t len, char *cookie, size_t cap)
{
  dx_json_reader r;
  dx_json_reader_init (&r, json, len, NULL);
  if (!dx_json_object_begin (&r))
    return false;
  char key[16];
  int k;
  bool found = false;
  while ((k = dx_json_object_next (&r, key, sizeof key, NULL)) > 0) {
    if (strcmp (key, "cookie") == 0 && !found && dx_json_peek (&r) == DX_JSON_STRING) {
      bool nul = false;
      if (!dx_json_read_string (&r, cookie, cap, NULL, &nul) || nul)
        return false;
      found = true;
    } else if (!dx_json_skip (&r)) {
      return false;
    }
  }
  return k == 0 && found && cookie[0] != '\0';
}

int
bench_udp_parse_port (const char *json, size_t len)
{
  dx_json_reader r;
  dx_json_reader_init (&r, json, len, NULL);
  if (!dx_json_object_begin (&r))
    return 0;
  char key[16];
  int k;
  uint64_t port = 0;
  while ((k = dx_json_object_next (&r, key, sizeof key, NULL)) > 0) {
    if (strcmp (key, "udp_port") == 0 && dx_json_peek (&r) == DX_JSON_NUMBER) {
      if (!dx_json_read_u64 (&r, &port))
        return 0;
    } else if (!dx_json_skip (&r)) {
      return 0;
    }
  }
  return k == 0 && port > 0 && port <= 65535 ? (int) port : 0;
}

static void
on_sent (dx_udp *u, int status, void *arg)
{
  (void) u;
  (void) status; /* a datagram the kernel refused is a lost one */
  free (arg);
}

static void
send_datagram (conn *c, dx_buffer *b)
{
  if (b->failed || c->udp == NULL) {
    dx_buffer_free (b);
    return;
  }
  char *bytes = b->data;
  size_t len = b->len;
  dx_buf buf = dx_buf_init (bytes, len);
  b->data = NULL; /* the send owns the bytes now */
  dx_buffer_free (b);
  if (dx_udp_send (c->udp, &buf, 1, &c->R->udp_server, on_sent, bytes) < 0) {
    free (bytes);
    return;
  }
  c->R->r->bytes_out += len;
}

/* An object with the session's cookie as its last member. */
static void
send_with_cookie (conn *c, dx_buffer *b)
{
  if (!b->failed && b->len > 1 && b->data[b->len - 1] == '}') {
    b->len--;
    dx_buffer_append (b, ",\"cookie\":", 10);
    dx_json_write_cstr (b, c->cookie);
    dx_buffer_append_char (b, '}');
  }
  send_datagram (c, b);
}

static void
send_hello (conn *c)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_hello (&b, NULL, c->R->udp_token, NULL);
  if (b.failed || b.len + 9 > BENCH_UDP_DATAGRAM) {
    dx_buffer_free (&b);
    return;
  }
  /* ,"pad":"ppp..." brings it to exactly 1200 bytes. */
  b.len--;
  dx_buffer_append (&b, ",\"pad\":\"", 8);
  while (b.len < BENCH_UDP_DATAGRAM - 2)
    dx_buffer_append_char (&b, 'p');
  dx_buffer_append (&b, "\"}", 2);
  send_datagram (c, &b);
}

static void
send_join (conn *c)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_join (&b, c->R->room, true, 0);
  send_with_cookie (c, &b);
}

static void
send_ping (conn *c)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_encode_ping (&b, "0", 1);
  send_with_cookie (c, &b);
}

static void
retry_tick (dx_timer *t)
{
  conn *c = dx_handle_data (DX_HANDLE (t));
  if (c->dead)
    return;
  if (c->ready)
    send_ping (c);
  else if (c->cookie[0])
    send_join (c);
  else
    send_hello (c);
}

static void
on_recv (dx_udp *u, ptrdiff_t n, const char *data, const dx_addr *from, unsigned flags)
{
  conn *c = dx_handle_data (DX_HANDLE (u));
  if (n < 0 || c->dead || (flags & DX_UDP_TRUNCATED) || !dx_addr_equal (from, &c->R->udp_server))
    return;
  run *R = c->R;
  R->r->bytes_in += (uint64_t) n;
  if (bench_deliver_event (c, data, (size_t) n))
    return;
  dx_msg m;
  if (!dx_msg_decode (data, (size_t) n, DX_MSG_FROM_SERVER, &m, NULL)) {
    R->r->errors++;
    return;
  }
  switch (m.type) {
  case DX_MSG_WELCOME:
    if (!c->cookie[0] && read_cookie (data, (size_t) n, c->cookie, sizeof c->cookie))
      send_join (c);
    break;
  case DX_MSG_JOINED:
    if (!c->ready) {
      dx_timer_start (c->timer, BENCH_UDP_PING_MS, BENCH_UDP_PING_MS, retry_tick);
      bench_sub_ready (c);
    }
    break;
  case DX_MSG_MESSAGE: bench_deliver (c, m.text, m.text_len); break;
  case DX_MSG_ERROR: R->r->errors++; break;
  default: break;
  }
}

void
bench_udp_begin (conn *c)
{
  run *R = c->R;
  char addr[64];
  /* A socket of the server's family on any port. */
  snprintf (addr, sizeof addr, "%s", R->udp_bind);
  int err = dx_udp_bind (R->loop, addr, &c->udp);
  if (err == 0) {
    dx_handle_set_data (DX_HANDLE (c->udp), c);
    err = dx_udp_recv_start (c->udp, BENCH_UDP_DATAGRAM + 1, on_recv);
  }
  if (err == 0 && !c->timer) {
    c->timer = dx_timer_new (R->loop);
    if (!c->timer)
      err = DX_ENOMEM;
    else
      dx_handle_set_data (DX_HANDLE (c->timer), c);
  }
  if (err) {
    bench_conn_fail (c, dx_strerror (err));
    return;
  }
  dx_timer_start (c->timer, BENCH_UDP_RETRY_MS, BENCH_UDP_RETRY_MS, retry_tick);
  send_hello (c);
}

uint64_t
bench_udp_lost (const run *R)
{
  uint64_t expected = R->acked * (R->r->ready - R->n_lost);
  uint64_t got = R->r->delivered - R->lost_delivered;
  return expected > got ? expected - got : 0;
}
