/* duplex-bench: one run. Subscribers connect (a bounded number at a time),
 * subscribe from the start of a fresh room, and once all are ready a
 * publisher posts rate messages a second for duration seconds. Each message
 * text carries its sequence number and the monotonic microsecond it was
 * sent at, so receivers measure publish-to-receive latency on one clock. */
#include "bench/bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/chunked.h"
#include "protocol/http.h"
#include "protocol/message.h"
#include "protocol/ndjson.h"
#include "protocol/sse.h"
#include "protocol/websocket.h"

#define READ_SIZE 65536
#define CONNECT_TIMEOUT_MS 60000
#define NCHAN_PUBLISHERS 8

typedef struct run run;
typedef struct conn conn;

typedef enum {
  ROLE_INFO,       /* GET /api/v1/info: finds duplexd's raw TCP port */
  ROLE_SUBSCRIBER,
  ROLE_PUBLISHER,
} conn_role;

struct conn {
  run *R;
  conn_role role;
  bench_transport tr;
  unsigned idx;
  dx_stream *s;
  dx_timer *timer;   /* poll interval, retry */
  bool connected;
  bool ready;        /* subscribed: the publisher may start */
  bool upgraded;     /* WebSocket handshake done / SSE headers received */
  bool busy;         /* an HTTP request is outstanding */
  bool dead;
  uint64_t next_seq; /* next sequence number expected */
  uint64_t since;    /* duplexd: last message id seen */
  char etag[96], lastmod[96]; /* nchan long-poll position */
  dx_http_parser *http;
  bool chunked;
  dx_chunked_decoder chunk;
  dx_buffer decoded;
  dx_sse_parser *sse;
  dx_ws_decoder *ws;
  char ws_accept[DX_WS_ACCEPT_LEN + 1];
  dx_ndjson nd;
  bool nd_init;
};

typedef enum { PHASE_INFO, PHASE_CONNECT, PHASE_PUBLISH, PHASE_DRAIN, PHASE_DONE } run_phase;

struct run {
  const bench_opts *o;
  bench_result *r;
  dx_loop *loop;
  run_phase phase;
  char room[48];
  int tcp_port;
  conn *subs;
  unsigned n_started;
  conn *info;
  conn *pubs[NCHAN_PUBLISHERS];
  unsigned n_pubs;
  uint64_t total;    /* messages to publish */
  uint64_t seq_sent; /* published (written) */
  uint64_t acked;
  uint64_t t_start_us, t_last_send_us;
  dx_timer *tick, *deadline;
  double cpu_before;
  uint64_t rng;
};

static void conn_start (run *R, conn *c);
static void conn_fail (conn *c, const char *why);
static void sub_request (conn *c);
static void publisher_start (run *R);
static void run_finish (run *R);
static void deadline_fired (dx_timer *t);

/* In the drain phase: done once every message is acknowledged and has
 * reached every ready subscriber. */
static void
maybe_finish (run *R)
{
  if (R->o->idle <= 0 && R->phase == PHASE_DRAIN && R->acked >= R->total &&
      R->r->delivered >= R->acked * R->r->ready)
    run_finish (R);
}

/* ---- small helpers ---------------------------------------------------- */

static uint32_t
rng_next (run *R)
{
  /* xorshift64*: masking keys and nonces need no cryptographic strength
   * in a load generator talking to loopback. */
  R->rng ^= R->rng >> 12;
  R->rng ^= R->rng << 25;
  R->rng ^= R->rng >> 27;
  return (uint32_t) ((R->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static void
write_done (dx_stream *s, int status, void *arg)
{
  free (arg);
}

static void
conn_write (conn *c, const void *data, size_t len)
{
  if (!c->s || c->dead || len == 0)
    return;
  char *copy = malloc (len);
  if (!copy) {
    conn_fail (c, "out of memory");
    return;
  }
  memcpy (copy, data, len);
  dx_buf b = dx_buf_init (copy, len);
  if (c->role == ROLE_SUBSCRIBER)
    c->R->r->bytes_out += len;
  if (dx_write (c->s, &b, 1, write_done, copy) != 0)
    free (copy);
}

static void
conn_write_buffer (conn *c, dx_buffer *b)
{
  if (!b->failed)
    conn_write (c, b->data, b->len);
  dx_buffer_free (b);
}

/* One WebSocket text frame from this client (masked, as RFC 6455 wants). */
static void
ws_send_text (conn *c, const char *text, size_t len)
{
  uint32_t k = rng_next (c->R);
  uint8_t mask[4] = { (uint8_t) k, (uint8_t) (k >> 8), (uint8_t) (k >> 16), (uint8_t) (k >> 24) };
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_ws_encode_frame (&b, true, DX_WS_OP_TEXT, text, len, mask);
  conn_write_buffer (c, &b);
}

static void
socket_send_json (conn *c, dx_buffer *json)
{
  if (c->tr == BENCH_WEBSOCKET) {
    if (!json->failed)
      ws_send_text (c, json->data, json->len);
    dx_buffer_free (json);
  } else {
    dx_buffer_append_char (json, '\n');
    conn_write_buffer (c, json);
  }
}

static void
request_head (conn *c, dx_buffer *b, const char *method, const char *target)
{
  dx_buffer_init (b, 0);
  dx_http_write_request_line (b, method, target);
  dx_http_write_header (b, "Host", c->R->o->hostport);
  dx_http_write_header (b, "User-Agent", "duplex-bench/" DUPLEX_VERSION);
}

/* ---- delivery accounting ---------------------------------------------- */

/* A message text arrived at subscriber c: "<seq> <sent_us> xxx...". */
static void
deliver (conn *c, const char *text, size_t len)
{
  char tmp[64];
  size_t n = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
  memcpy (tmp, text, n);
  tmp[n] = '\0';
  unsigned long long seq, sent_us;
  if (sscanf (tmp, "%llu %llu", &seq, &sent_us) != 2)
    return; /* not ours (e.g. a ticker line) */
  bench_result *r = c->R->r;
  if (seq < c->next_seq) {
    r->duplicates++;
    return;
  }
  if (seq > c->next_seq)
    r->gaps += seq - c->next_seq;
  c->next_seq = seq + 1;
  r->delivered++;
  uint64_t now = dx_monotonic_us ();
  bench_result_add_latency (r, now > sent_us ? now - sent_us : 0);
  maybe_finish (c->R);
}

static void
sub_ready (conn *c)
{
  if (c->ready)
    return;
  c->ready = true;
  run *R = c->R;
  R->r->ready++;
  /* Keep the connect window full. */
  if (R->n_started < R->o->subscribers)
    conn_start (R, &R->subs[R->n_started++]);
  if (R->phase == PHASE_CONNECT && R->r->ready == R->o->subscribers)
    publisher_start (R);
}

/* ---- duplexd socket events (WebSocket and TCP) ------------------------- */

static void
duplexd_event (conn *c, const char *json, size_t len)
{
  dx_msg m;
  dx_msg_error err;
  if (!dx_msg_decode (json, len, DX_MSG_FROM_SERVER, &m, &err)) {
    c->R->r->errors++;
    return;
  }
  switch (m.type) {
  case DX_MSG_WELCOME:
    if (c->role == ROLE_PUBLISHER)
      publisher_start (c->R);
    break;
  case DX_MSG_JOINED:
    sub_ready (c);
    break;
  case DX_MSG_MESSAGE:
    if (c->role == ROLE_SUBSCRIBER)
      deliver (c, m.text, m.text_len);
    break;
  case DX_MSG_ACK:
    c->R->acked++;
    maybe_finish (c->R);
    break;
  case DX_MSG_ERROR:
    c->R->r->errors++;
    if (!c->R->r->error[0])
      snprintf (c->R->r->error, sizeof c->R->r->error, "server error: %s", m.code);
    break;
  default:
    break;
  }
}

static void
duplexd_hello (conn *c)
{
  dx_buffer b;
  /* One nick for every subscriber: presence is per nick, so the room
   * announces the subscribers once instead of N times to N members. */
  dx_buffer_init (&b, 0);
  dx_encode_hello (&b, c->role == ROLE_PUBLISHER ? "bench-pub" : "bench-sub", NULL, NULL);
  socket_send_json (c, &b);
  if (c->role == ROLE_SUBSCRIBER) {
    dx_buffer_init (&b, 0);
    dx_encode_join (&b, c->R->room, true, 0);
    socket_send_json (c, &b);
  }
}

/* ---- WebSocket -------------------------------------------------------- */

static void
ws_begin (conn *c)
{
  uint8_t nonce[16];
  for (int i = 0; i < 16; i += 4) {
    uint32_t k = rng_next (c->R);
    memcpy (nonce + i, &k, 4);
  }
  char target[128];
  if (c->R->o->target == BENCH_DUPLEXD)
    snprintf (target, sizeof target, "/api/v1/ws");
  else if (c->R->o->target == BENCH_NCHAN)
    snprintf (target, sizeof target, "/sub/%s", c->R->room);
  else
    snprintf (target, sizeof target, "/");
  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_ws_write_client_handshake (&b, c->R->o->hostport, target, nonce, NULL, NULL, 0,
                                c->ws_accept);
  if (c->role == ROLE_SUBSCRIBER)
    c->R->r->http_requests++;
  conn_write_buffer (c, &b);
}

static void
ws_upgraded (conn *c, const dx_http_message *resp)
{
  const char *why = NULL;
  if (!dx_ws_check_server_handshake (resp, c->ws_accept, NULL, &why)) {
    conn_fail (c, why ? why : "WebSocket handshake refused");
    return;
  }
  c->upgraded = true;
  c->ws = dx_ws_decoder_new (DX_WS_ROLE_CLIENT, 1 << 20);
  if (c->R->o->target == BENCH_DUPLEXD)
    duplexd_hello (c);
  else if (c->role == ROLE_SUBSCRIBER)
    sub_ready (c);
  else
    publisher_start (c->R);
}

static void
ws_feed (conn *c, const char *data, size_t len)
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
        deliver (c, (const char *) ev->data, ev->len);
    } else if (st == DX_WS_PING) {
      uint32_t k = rng_next (c->R);
      uint8_t mask[4];
      memcpy (mask, &k, 4);
      dx_buffer b;
      dx_buffer_init (&b, 0);
      dx_ws_encode_frame (&b, true, DX_WS_OP_PONG, ev->data, ev->len, mask);
      conn_write_buffer (c, &b);
    } else if (st == DX_WS_CLOSE || st == DX_WS_ERROR || st == DX_WS_FINISHED) {
      conn_fail (c, st == DX_WS_CLOSE ? "WebSocket closed by the server"
                                      : "WebSocket protocol error");
    }
  }
}

/* ---- raw TCP (NDJSON) --------------------------------------------------- */

static void
tcp_feed (conn *c, const char *data, size_t len)
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

/* ---- HTTP subscribers: poll, long poll, SSE --------------------------- */

static bool
poll_message (const dx_msg *m, void *user)
{
  conn *c = user;
  if (m->id > c->since)
    c->since = m->id;
  deliver (c, m->text, m->text_len);
  return true;
}

static void
poll_timer_fired (dx_timer *t)
{
  sub_request (dx_handle_data (DX_HANDLE (t)));
}

static void
schedule_request (conn *c, uint64_t ms)
{
  if (!c->timer) {
    c->timer = dx_timer_new (c->R->loop);
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
static void
poll_answer (conn *c, const dx_http_message *m)
{
  run *R = c->R;
  c->busy = false;
  uint64_t before = R->r->delivered;
  if (R->o->target == BENCH_DUPLEXD) {
    if (m->status != 200) {
      R->r->errors++;
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
    deliver (c, m->body, m->body_len);
  } else if (m->status != 304 && m->status != 408) {
    R->r->errors++;
  }
  sub_ready (c);
  if (R->r->delivered == before)
    R->r->empty_polls++;
  if (!m->keep_alive) {
    /* Reconnect for the next request: the server closes this one. */
    dx_close (DX_HANDLE (c->s), NULL);
    c->s = NULL;
    c->connected = false;
    conn_start (R, c);
    return;
  }
  if (c->tr == BENCH_POLL && R->r->delivered == before)
    schedule_request (c, R->o->poll_interval);
  else
    sub_request (c);
}

static void
sub_request (conn *c)
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
    request_head (c, &b, "GET", target);
  } else {
    snprintf (target, sizeof target, "/sub/%s", R->room);
    request_head (c, &b, "GET", target);
    if (c->etag[0])
      dx_http_write_header (&b, "If-None-Match", c->etag);
    if (c->lastmod[0])
      dx_http_write_header (&b, "If-Modified-Since", c->lastmod);
  }
  dx_http_write_end_headers (&b);
  c->busy = true;
  R->r->http_requests++;
  conn_write_buffer (c, &b);
  /* A long poll from the start of the room is subscribed as soon as it is
   * sent: the server holds it until the first message. */
  if (c->tr == BENCH_LONGPOLL)
    sub_ready (c);
}

static void
sse_begin (conn *c)
{
  run *R = c->R;
  char target[256];
  if (R->o->target == BENCH_DUPLEXD)
    snprintf (target, sizeof target, "/api/v1/rooms/%s/events?since=0", R->room);
  else
    snprintf (target, sizeof target, "/sub/%s", R->room);
  dx_buffer b;
  request_head (c, &b, "GET", target);
  dx_http_write_header (&b, "Accept", "text/event-stream");
  dx_http_write_end_headers (&b);
  R->r->http_requests++;
  conn_write_buffer (c, &b);
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
        dx_msg m;
        if (dx_msg_decode (ev->data, ev->data_len, DX_MSG_FROM_SERVER, &m, NULL) &&
            m.type == DX_MSG_MESSAGE)
          deliver (c, m.text, m.text_len);
      } else {
        deliver (c, ev->data, ev->data_len);
      }
    } else if (st == DX_SSE_ERROR) {
      conn_fail (c, "SSE stream error");
    } else if (st == DX_SSE_NEED_MORE) {
      break;
    }
  }
}

/* Bytes of the endless SSE response body (after its head). */
static void
sse_feed (conn *c, const char *data, size_t len)
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
      conn_fail (c, "bad chunked encoding");
    if (st != DX_CHUNKED_NEED_MORE) {
      conn_fail (c, "SSE stream ended");
      break;
    }
  }
}

static void
sse_headers (conn *c, const dx_http_message *m)
{
  if (m->status != 200) {
    conn_fail (c, "SSE request refused");
    return;
  }
  c->upgraded = true;
  c->chunked = m->chunked;
  dx_chunked_decoder_init (&c->chunk, 0);
  dx_buffer_init (&c->decoded, 0);
  c->sse = dx_sse_parser_new (0, 0);
  sub_ready (c);
}

/* ---- publisher ---------------------------------------------------------- */

static void
publish_one (run *R)
{
  uint64_t seq = ++R->seq_sent;
  uint64_t now = dx_monotonic_us ();
  R->t_last_send_us = now;
  char text[4097];
  int n = snprintf (text, sizeof text, "%" PRIu64 " %" PRIu64 " ", seq, now);
  size_t len = R->o->size > (size_t) n ? R->o->size : (size_t) n;
  memset (text + n, 'x', len - (size_t) n);
  text[len] = '\0';
  dx_buffer b;
  dx_buffer_init (&b, 0);
  if (R->o->target == BENCH_DUPLEXD) {
    dx_encode_send (&b, R->room, text, len, NULL);
    socket_send_json (R->pubs[0], &b);
  } else if (R->o->target == BENCH_NODEWS) {
    ws_send_text (R->pubs[0], text, len);
    R->acked++; /* ws has no ack: a written frame counts */
    dx_buffer_free (&b);
  } else {
    /* nchan: POST on the first idle publisher connection. */
    conn *p = NULL;
    for (unsigned i = 0; i < R->n_pubs && !p; i++)
      if (!R->pubs[i]->busy && R->pubs[i]->connected)
        p = R->pubs[i];
    if (!p) {
      R->seq_sent--; /* all busy: try on the next tick */
      dx_buffer_free (&b);
      return;
    }
    char target[128];
    snprintf (target, sizeof target, "/pub/%s", R->room);
    dx_buffer_free (&b);
    request_head (p, &b, "POST", target);
    dx_http_write_header (&b, "Content-Type", "text/plain");
    dx_http_write_header_u64 (&b, "Content-Length", len);
    dx_http_write_end_headers (&b);
    dx_buffer_append (&b, text, len);
    p->busy = true;
    conn_write_buffer (p, &b);
  }
}

static void
tick (dx_timer *t)
{
  run *R = dx_handle_data (DX_HANDLE (t));
  if (R->phase != PHASE_PUBLISH)
    return;
  double elapsed = (double) (dx_monotonic_us () - R->t_start_us) / 1e6;
  uint64_t due = (uint64_t) (elapsed * R->o->rate) + 1;
  if (due > R->total)
    due = R->total;
  while (R->seq_sent < due) {
    uint64_t before = R->seq_sent;
    publish_one (R);
    if (R->seq_sent == before)
      break;
  }
  if (R->seq_sent == R->total) {
    dx_timer_stop (t);
    R->phase = PHASE_DRAIN;
    /* Stragglers get o->drain seconds; maybe_finish ends earlier once
     * every acknowledged message reached every subscriber. */
    dx_timer_start (R->deadline, (uint64_t) (R->o->drain * 1000) + 1, 0, deadline_fired);
    maybe_finish (R);
  }
}

static void
deadline_fired (dx_timer *t)
{
  run *R = dx_handle_data (DX_HANDLE (t));
  if (R->phase == PHASE_CONNECT) {
    snprintf (R->r->error, sizeof R->r->error, "only %u of %u subscribers ready after %d s",
              R->r->ready, R->o->subscribers, CONNECT_TIMEOUT_MS / 1000);
    if (R->r->ready > 0) {
      publisher_start (R);
      return;
    }
  }
  run_finish (R);
}


static void
publisher_start (run *R)
{
  if (R->phase == PHASE_CONNECT && R->o->idle > 0) {
    /* Idle run: hold every subscriber, publish nothing. */
    fprintf (stderr, "ready %u\n", R->r->ready);
    R->phase = PHASE_DRAIN;
    R->total = 0;
    dx_timer_start (R->deadline, (uint64_t) (R->o->idle * 1000), 0, deadline_fired);
    return;
  }
  if (R->phase == PHASE_CONNECT) {
    /* Subscribers are in: connect the publisher(s). */
    R->phase = PHASE_PUBLISH;
    R->cpu_before = R->o->server_pid ? bench_process_cpu_ms (R->o->server_pid) : -1;
    R->n_pubs = R->o->target == BENCH_NCHAN ? NCHAN_PUBLISHERS : 1;
    for (unsigned i = 0; i < R->n_pubs; i++) {
      conn *p = calloc (1, sizeof *p);
      p->role = ROLE_PUBLISHER;
      p->idx = i;
      p->tr = R->o->target == BENCH_DUPLEXD ? BENCH_TCP
              : R->o->target == BENCH_NODEWS ? BENCH_WEBSOCKET
                                              : BENCH_POLL; /* plain HTTP */
      R->pubs[i] = p;
      conn_start (R, p);
    }
    return;
  }
  if (R->phase != PHASE_PUBLISH || R->t_start_us)
    return; /* the first publisher ready starts the clock */
  R->t_start_us = dx_monotonic_us ();
  dx_timer_stop (R->deadline);
  dx_timer_start (R->tick, 1, 1, tick);
}

/* ---- connections ---------------------------------------------------------- */

static void
http_feed (conn *c, const char *data, size_t len)
{
  while (len > 0 && !c->dead) {
    if (c->upgraded) {
      if (c->tr == BENCH_WEBSOCKET)
        ws_feed (c, data, len);
      else
        sse_feed (c, data, len);
      return;
    }
    size_t used = 0;
    dx_http_status st = dx_http_parser_feed (c->http, data, len, &used);
    data += used;
    len -= used;
    const dx_http_message *m = dx_http_parser_message (c->http);
    if (st == DX_HTTP_ERROR) {
      conn_fail (c, "bad HTTP response");
      return;
    }
    if (st == DX_HTTP_NEED_MORE)
      return;
    if (c->role == ROLE_INFO) {
      if (st == DX_HTTP_HEADERS)
        continue; /* the body follows */
      if (st == DX_HTTP_DONE) {
        dx_info info;
        if (m->status != 200 || !dx_decode_info (m->body, m->body_len, &info, NULL)) {
          conn_fail (c, "GET /api/v1/info failed: is this duplexd?");
          return;
        }
        c->R->tcp_port = info.tcp_port;
        c->dead = true;
        dx_close (DX_HANDLE (c->s), NULL);
        c->s = NULL;
        run *R = c->R;
        R->phase = PHASE_CONNECT;
        unsigned w = R->o->connect_window < R->o->subscribers ? R->o->connect_window
                                                              : R->o->subscribers;
        while (R->n_started < w)
          conn_start (R, &R->subs[R->n_started++]);
      }
      return;
    }
    if (c->tr == BENCH_WEBSOCKET) {
      if (st == DX_HTTP_DONE)
        ws_upgraded (c, m);
      else
        conn_fail (c, "unexpected body in a WebSocket handshake");
    } else if (c->tr == BENCH_SSE && c->role == ROLE_SUBSCRIBER) {
      if (st == DX_HTTP_HEADERS)
        sse_headers (c, m);
      else
        conn_fail (c, "SSE response ended");
    } else if (st == DX_HTTP_DONE) {
      if (c->role == ROLE_PUBLISHER) {
        c->busy = false;
        if (m->status >= 200 && m->status < 300) {
          c->R->acked++;
          maybe_finish (c->R);
        } else
          c->R->r->errors++;
      } else {
        poll_answer (c, m);
      }
    }
  }
}

static void
alloc_cb (dx_stream *s, size_t suggested, dx_buf *buf)
{
  *buf = dx_buf_init (malloc (READ_SIZE), READ_SIZE);
  if (!buf->base)
    buf->len = 0;
}

static void
read_cb (dx_stream *s, ptrdiff_t n, const dx_buf *buf)
{
  conn *c = dx_handle_data (DX_HANDLE (s));
  if (n > 0) {
    if (c->role == ROLE_SUBSCRIBER)
      c->R->r->bytes_in += (uint64_t) n;
    if (c->tr == BENCH_TCP && c->R->o->target == BENCH_DUPLEXD)
      tcp_feed (c, buf->base, (size_t) n);
    else
      http_feed (c, buf->base, (size_t) n);
  } else if (n < 0) {
    conn_fail (c, n == DX_EOF ? "connection closed by the server" : dx_strerror ((int) n));
  }
  free (buf->base);
}

static void
connect_cb (dx_stream *s, int status, void *arg)
{
  conn *c = arg;
  if (c->dead)
    return;
  if (status != 0) {
    conn_fail (c, dx_strerror (status));
    return;
  }
  c->connected = true;
  if (c->role == ROLE_SUBSCRIBER)
    c->R->r->connections++;
  dx_tcp_nodelay (s, true);
  dx_read_start (s, alloc_cb, read_cb);
  if (c->role == ROLE_INFO) {
    dx_buffer b;
    request_head (c, &b, "GET", "/api/v1/info");
    dx_http_write_end_headers (&b);
    conn_write_buffer (c, &b);
    return;
  }
  switch (c->tr) {
  case BENCH_WEBSOCKET:
    ws_begin (c);
    break;
  case BENCH_TCP:
    if (c->R->o->target == BENCH_DUPLEXD)
      duplexd_hello (c);
    break;
  case BENCH_SSE:
    sse_begin (c);
    break;
  case BENCH_POLL:
  case BENCH_LONGPOLL:
    if (c->role == ROLE_PUBLISHER)
      publisher_start (c->R);
    else
      sub_request (c);
    break;
  default:
    break;
  }
}

static void
conn_start (run *R, conn *c)
{
  c->R = R;
  if (c->role == ROLE_SUBSCRIBER) {
    c->tr = R->o->transport;
    if (c->next_seq == 0)
      c->next_seq = 1;
  }
  if (!c->http) {
    /* Poll answers carry up to 1000 messages: allow bodies far above the
     * request limit of 64 KiB. */
    dx_http_limits l;
    dx_http_limits_default (&l);
    l.max_body = 64u << 20;
    c->http = dx_http_parser_new (DX_HTTP_PARSE_RESPONSE, &l);
  } else {
    dx_http_parser_reset (c->http);
  }
  if (!c->nd_init) {
    dx_ndjson_init (&c->nd, 0);
    c->nd_init = true;
  }
  char addr[200];
  if (c->tr == BENCH_TCP && R->o->target == BENCH_DUPLEXD && c->role != ROLE_INFO)
    snprintf (addr, sizeof addr, "%s:%d", R->o->host, R->tcp_port);
  else
    snprintf (addr, sizeof addr, "%s", R->o->hostport);
  int err = dx_tcp_connect (R->loop, addr, connect_cb, c, &c->s);
  if (err) {
    c->s = NULL;
    conn_fail (c, dx_strerror (err));
    return;
  }
  dx_handle_set_data (DX_HANDLE (c->s), c);
}

static void
conn_fail (conn *c, const char *why)
{
  if (c->dead)
    return;
  c->dead = true;
  run *R = c->R;
  if (R->phase != PHASE_DONE) {
    R->r->errors++;
    if (!R->r->error[0])
      snprintf (R->r->error, sizeof R->r->error, "%s %u: %s",
                c->role == ROLE_SUBSCRIBER ? "subscriber" : "publisher", c->idx, why);
  }
  if (c->s) {
    dx_close (DX_HANDLE (c->s), NULL);
    c->s = NULL;
  }
  if (c->timer)
    dx_timer_stop (c->timer);
  if (c->role == ROLE_SUBSCRIBER && !c->ready && R->phase == PHASE_CONNECT) {
    /* Count it out so the publisher is not waiting for it forever. */
    if (R->n_started < R->o->subscribers)
      conn_start (R, &R->subs[R->n_started++]);
  }
  if (c->role != ROLE_SUBSCRIBER && R->phase != PHASE_DONE)
    run_finish (R);
}

static void
conn_release (conn *c)
{
  if (c->s)
    dx_close (DX_HANDLE (c->s), NULL);
  if (c->timer)
    dx_close (DX_HANDLE (c->timer), NULL);
  c->s = NULL;
  c->timer = NULL;
}

static void
conn_free (conn *c)
{
  dx_http_parser_free (c->http);
  dx_sse_parser_free (c->sse);
  dx_ws_decoder_free (c->ws);
  dx_buffer_free (&c->decoded);
  if (c->nd_init)
    dx_ndjson_free (&c->nd);
}

static void
run_finish (run *R)
{
  if (R->phase == PHASE_DONE)
    return;
  R->phase = PHASE_DONE;
  uint64_t end = dx_monotonic_us ();
  if (R->t_start_us) {
    R->r->publish_seconds = (double) (R->t_last_send_us - R->t_start_us) / 1e6;
    R->r->total_seconds = (double) (end - R->t_start_us) / 1e6;
  }
  if (R->cpu_before >= 0 && R->o->server_pid) {
    double after = bench_process_cpu_ms (R->o->server_pid);
    if (after >= 0)
      R->r->server_cpu_ms = after - R->cpu_before;
  }
  R->r->sent = R->acked;
  for (unsigned i = 0; i < R->o->subscribers; i++)
    conn_release (&R->subs[i]);
  for (unsigned i = 0; i < R->n_pubs; i++)
    conn_release (R->pubs[i]);
  if (R->info)
    conn_release (R->info);
  dx_close (DX_HANDLE (R->tick), NULL);
  dx_close (DX_HANDLE (R->deadline), NULL);
  R->tick = R->deadline = NULL;
}

int
bench_run (const bench_opts *o, bench_result *r)
{
  static unsigned run_counter;
  int err = 0;
  run R;
  memset (&R, 0, sizeof R);
  R.o = o;
  R.r = r;
  r->transport = o->transport;
  r->target = o->target;
  r->subscribers = o->subscribers;
  R.total = (uint64_t) (o->rate * o->duration + 0.5);
  if (R.total == 0)
    R.total = 1;
  R.rng = dx_monotonic_us () * 0x9E3779B97F4A7C15ULL + 1;
  snprintf (R.room, sizeof R.room, "%s-%" PRIu64 "-%u", o->room_prefix, dx_wall_ms () % 1000000000,
            run_counter++);
  R.loop = dx_loop_new (&err);
  if (!R.loop) {
    snprintf (r->error, sizeof r->error, "event loop: %s", dx_strerror (err));
    return 1;
  }
  R.subs = calloc (o->subscribers, sizeof *R.subs);
  R.tick = dx_timer_new (R.loop);
  R.deadline = dx_timer_new (R.loop);
  dx_handle_set_data (DX_HANDLE (R.tick), &R);
  dx_handle_set_data (DX_HANDLE (R.deadline), &R);
  dx_timer_start (R.deadline, CONNECT_TIMEOUT_MS, 0, deadline_fired);
  for (unsigned i = 0; i < o->subscribers; i++) {
    R.subs[i].role = ROLE_SUBSCRIBER;
    R.subs[i].idx = i;
  }

  if (o->target == BENCH_DUPLEXD) {
    R.phase = PHASE_INFO;
    R.info = calloc (1, sizeof *R.info);
    R.info->role = ROLE_INFO;
    R.info->tr = BENCH_POLL;
    conn_start (&R, R.info);
  } else {
    R.phase = PHASE_CONNECT;
    unsigned w = o->connect_window < o->subscribers ? o->connect_window : o->subscribers;
    while (R.n_started < w)
      conn_start (&R, &R.subs[R.n_started++]);
  }

  dx_loop_run (R.loop);
  if (R.phase != PHASE_DONE)
    run_finish (&R);
  dx_loop_run (R.loop); /* let every close callback run */
  for (unsigned i = 0; i < o->subscribers; i++)
    conn_free (&R.subs[i]);
  for (unsigned i = 0; i < R.n_pubs; i++) {
    conn_free (R.pubs[i]);
    free (R.pubs[i]);
  }
  if (R.info) {
    conn_free (R.info);
    free (R.info);
  }
  free (R.subs);
  dx_loop_free (R.loop);
  return r->error[0] && r->delivered == 0 ? 1 : 0;
}
