/* duplex-bench: one run. Subscribers connect (a bounded number at a time),
 * subscribe from the start of a fresh room, and once all are ready a
 * publisher posts rate messages a second for duration seconds. Each message
 * text carries its sequence number and the monotonic microsecond it was
 * sent at, so receivers measure publish-to-receive latency on one clock.
 *
 * A run ends when every acknowledged message reached every subscriber still
 * connected, when the drain time is over, or at once when the publisher's
 * connection (the server) goes away. Losing any connection is an error:
 * the result says which and why, and duplex-bench exits non-zero. */
#include "loadgen/run-private.h"

#ifdef DX_HAVE_TLS
#include "tls/tls.h"
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/message.h"

/* ---- small helpers ---------------------------------------------------- */

uint32_t
bench_rng_next (run *R)
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
  (void) s;
  (void) status;
  free (arg);
}

#ifdef DX_HAVE_TLS
/* Writes the ciphertext the filter has for the server. */
static void
tls_flush (conn *c)
{
  size_t n = dx_tls_out_pending (c->tls);
  if (n == 0 || !c->s)
    return;
  char *p = malloc (n);
  if (!p) {
    bench_conn_fail (c, "out of memory");
    return;
  }
  dx_buf b = dx_buf_init (p, dx_tls_out_take (c->tls, p, n));
  int err = dx_write (c->s, &b, 1, write_done, p);
  if (err) {
    free (p);
    bench_conn_fail (c, dx_strerror (err));
  }
}
#endif

void
bench_conn_write (conn *c, const void *data, size_t len)
{
  if (!c->s || c->dead || len == 0)
    return;
  char *copy = malloc (len);
  if (!copy) {
    bench_conn_fail (c, "out of memory");
    return;
  }
  memcpy (copy, data, len);
  if (c->role == ROLE_SUBSCRIBER)
    c->R->r->bytes_out += len;
#ifdef DX_HAVE_TLS
  if (c->tls) {
    free (copy);
    if (!dx_tls_write (c->tls, data, len))
      bench_conn_fail (c, "TLS write failed");
    else
      tls_flush (c);
    return;
  }
#endif
  dx_buf b = dx_buf_init (copy, len);
  int err = dx_write (c->s, &b, 1, write_done, copy);
  if (err) {
    free (copy);
    bench_conn_fail (c, dx_strerror (err));
  }
}

void
bench_conn_write_buffer (conn *c, dx_buffer *b)
{
  if (b->failed)
    bench_conn_fail (c, "out of memory");
  else
    bench_conn_write (c, b->data, b->len);
  dx_buffer_free (b);
}

void
bench_request_head (conn *c, dx_buffer *b, const char *method, const char *target)
{
  dx_buffer_init (b, 0);
  dx_http_write_request_line (b, method, target);
  dx_http_write_header (b, "Host", c->R->o->hostport);
  dx_http_write_header (b, "User-Agent", "duplex-bench/" DUPLEX_VERSION);
}

static const char *
role_name (const conn *c)
{
  return c->role == ROLE_SUBSCRIBER  ? "subscriber"
         : c->role == ROLE_PUBLISHER ? "publisher"
                                     : "server info";
}

/* ---- delivery accounting ---------------------------------------------- */

bool
bench_publisher_done (const run *R)
{
  return R->due_done >= R->total && R->acked + R->refused >= R->seq_sent;
}

/* In the drain phase: done once every acknowledged message has reached
 * every subscriber still connected. With workers, the publisher's part is
 * done once every publication is answered (the workers then finish by
 * this same test, and the publisher once they all have). */
void
bench_maybe_finish (run *R)
{
  if (R->o->idle > 0 || R->phase != PHASE_DRAIN)
    return;
  if (R->sh && R->wid < 0) {
    if (bench_publisher_done (R))
      bench_worker_drain (R);
    return;
  }
  if (!R->sh && !bench_publisher_done (R))
    return;
  unsigned live = R->r->ready - R->n_lost;
  if (R->r->delivered - R->lost_delivered >= R->acked * live)
    bench_run_finish (R);
}

void
bench_acked (run *R)
{
  R->acked++;
  if (R->sh)
    bench_worker_share (R);
  bench_maybe_finish (R);
}

void
bench_refused (run *R, uint64_t pause_ms)
{
  R->refused++;
  if (pause_ms) {
    uint64_t until = dx_monotonic_us () + pause_ms * 1000;
    if (until > R->pause_until_us)
      R->pause_until_us = until;
  }
  bench_maybe_finish (R);
}

void
bench_drain_error (bench_result *r, uint64_t acked, uint64_t sent)
{
  snprintf (r->error, sizeof r->error,
            "drain time over: %" PRIu64 " of %" PRIu64 " messages acknowledged, %" PRIu64
            " of %" PRIu64 " deliveries",
            acked, sent, r->delivered, acked * r->ready);
}

/* Parses "<seq> <sent_us> "; false if the text is not one of ours (e.g. a
 * ticker line). By hand: this runs once per delivered message. */
static bool
parse_stamp (const char *p, size_t len, uint64_t *seq, uint64_t *sent_us)
{
  const char *end = p + len;
  uint64_t v[2];
  for (int k = 0; k < 2; k++) {
    const char *start = p;
    v[k] = 0;
    while (p < end && *p >= '0' && *p <= '9' && p - start < 19)
      v[k] = v[k] * 10 + (uint64_t) (*p++ - '0');
    if (p == start || p == end || *p != ' ')
      return false;
    p++;
  }
  *seq = v[0];
  *sent_us = v[1];
  return true;
}

void
bench_deliver (conn *c, const char *text, size_t len)
{
  uint64_t seq, sent_us;
  if (!parse_stamp (text, len, &seq, &sent_us))
    return;
  bench_result *r = c->R->r;
  if (seq < c->next_seq) {
    /* Late or twice? nchan's publishers are several connections, so
     * messages may overtake each other: a skipped one still counts when
     * it comes within 64 places. */
    uint64_t back = c->next_seq - 1 - seq;
    if (back >= 64 || !(c->missing & (1ULL << back))) {
      r->duplicates++;
      return;
    }
    c->missing &= ~(1ULL << back);
    r->gaps--;
    r->reordered++;
  } else {
    uint64_t d = seq + 1 - c->next_seq; /* >= 1; d - 1 messages skipped */
    r->gaps += d - 1;
    uint64_t skipped = d - 1 >= 63 ? ~0ULL : ((1ULL << (d - 1)) - 1);
    c->missing = (d >= 64 ? 0 : c->missing << d) | (skipped << 1);
    c->next_seq = seq + 1;
  }
  c->delivered++;
  r->delivered++;
  uint64_t now = dx_monotonic_us ();
  c->R->t_last_deliver_us = now;
  bench_result_add_latency (r, now > sent_us ? now - sent_us : 0);
  if (c->R->o->work_us) {
    /* --work-us: a client that does something with each message. */
    uint64_t until = now + c->R->o->work_us;
    while (dx_monotonic_us () < until)
      ;
  }
  bench_maybe_finish (c->R);
}

bool
bench_deliver_event (conn *c, const char *json, size_t len)
{
  /* dx_encode_message writes "type" first and "text" after "room", "id"
   * and "from", none of which can hold the quoted key (a room and a nick
   * have no quotes): the first match is the text. Our texts start with
   * digits, so no escape comes before the stamp. Anything else (welcome,
   * joined, ack, error, a message another encoder wrote) takes the full
   * decode. */
  static const char type[] = "{\"type\":\"message\",";
  static const char key[] = ",\"text\":\"";
  if (len < sizeof type - 1 || memcmp (json, type, sizeof type - 1) != 0)
    return false;
  const char *end = json + len;
  for (const char *p = json + sizeof type - 1; (p = memchr (p, ',', (size_t) (end - p))); p++) {
    if ((size_t) (end - p) > sizeof key - 1 && memcmp (p, key, sizeof key - 1) == 0) {
      const char *text = p + sizeof key - 1;
      bench_deliver (c, text, (size_t) (end - text));
      return true;
    }
  }
  return false;
}

/* Every subscriber has either subscribed or failed: publish. */
static void
maybe_all_in (run *R)
{
  if (R->phase != PHASE_CONNECT || R->r->ready + R->n_failed < R->n_subs)
    return;
  if (R->sh) {
    /* The publisher starts once every worker is in (bench_worker_sync). */
    if (R->wid >= 0)
      bench_worker_report_in (R);
    return;
  }
  if (R->r->ready == 0) {
    bench_run_finish (R); /* nobody to publish to: the error says why */
    return;
  }
  bench_publisher_start (R);
}

void
bench_sub_ready (conn *c)
{
  if (c->ready)
    return;
  c->ready = true;
  run *R = c->R;
  R->r->ready++;
  /* Keep the connect window full. */
  if (R->n_started < R->n_subs)
    bench_conn_start (R, &R->subs[R->n_started++]);
  maybe_all_in (R);
}

/* ---- deadline --------------------------------------------------------------- */

void
bench_deadline_fired (dx_timer *t)
{
  run *R = dx_handle_data (DX_HANDLE (t));
  if (R->phase == PHASE_CONNECT && R->sh && R->wid < 0) {
    snprintf (R->r->error, sizeof R->r->error, "the workers' subscribers were not ready in %d s",
              BENCH_CONNECT_TIMEOUT_MS / 1000);
  } else if (R->phase == PHASE_CONNECT) {
    snprintf (R->r->error, sizeof R->r->error, "only %u of %u subscribers ready after %d s",
              R->r->ready, R->n_subs, BENCH_CONNECT_TIMEOUT_MS / 1000);
    if (R->r->ready > 0 && R->sh) {
      R->n_failed = R->n_subs - R->r->ready; /* the late ones are out */
      bench_worker_report_in (R);
      return;
    }
    if (R->r->ready > 0) {
      bench_publisher_start (R);
      return;
    }
  } else if (R->phase == PHASE_PUBLISH && !R->t_start_us) {
    snprintf (R->r->error, sizeof R->r->error, "the publisher did not connect in %d s",
              BENCH_CONNECT_TIMEOUT_MS / 1000);
  } else if (R->phase == PHASE_DRAIN && R->o->idle <= 0 && !R->r->error[0]
             && (R->o->transport != BENCH_UDP || !bench_publisher_done (R))) {
    /* (UDP loses by design: missing deliveries are reported as lost, not
     * as an error; missing acks still are.) */
    /* The server did not keep up: say how far it got (with workers, once
     * their counts are in: bench_run_workers). */
    if (R->sh)
      R->drain_timed_out = true;
    else
      bench_drain_error (R->r, R->acked, R->seq_sent - R->refused);
  }
  bench_run_finish (R);
}

/* ---- reading -------------------------------------------------------------- */

/* UDP subscribers need the server's UDP port (from /api/v1/info) and a
 * token: one POST /api/v1/session on the info connection gets it. false
 * while that is under way (or when it failed: the run is over). */
static bool
udp_setup (conn *c, const dx_http_message *m)
{
  run *R = c->R;
  int port = bench_udp_parse_port (m->body, m->body_len);
  char addr[200];
  snprintf (addr, sizeof addr, "%s:%d", R->o->host, port);
  if (port == 0 || dx_addr_parse (addr, &R->udp_server) < 0) {
    bench_conn_fail (c, "the server does not offer UDP (start duplexd with --udp)");
    return false;
  }
  snprintf (R->udp_bind, sizeof R->udp_bind, "%s",
            strchr (addr, '[') || strchr (R->o->host, ':') ? "[::]:0" : "0.0.0.0:0");
  dx_buffer b;
  bench_request_head (c, &b, "POST", "/api/v1/session");
  dx_http_write_header (&b, "Content-Type", "application/json");
  static const char body[] = "{\"nick\":\"bench-sub\"}";
  dx_http_write_header_u64 (&b, "Content-Length", sizeof body - 1);
  dx_http_write_end_headers (&b);
  dx_buffer_append (&b, body, sizeof body - 1);
  R->udp_token_pending = true;
  bench_conn_write_buffer (c, &b);
  return false;
}

/* The first connect window of subscribers (none in a publisher whose
 * workers hold them). */
static void
start_subscribers (run *R)
{
  R->phase = PHASE_CONNECT;
  unsigned w = R->o->connect_window < R->n_subs ? R->o->connect_window : R->n_subs;
  while (R->n_started < w && R->phase == PHASE_CONNECT)
    bench_conn_start (R, &R->subs[R->n_started++]);
}

static void
udp_token_answer (conn *c, const dx_http_message *m)
{
  run *R = c->R;
  char nick[DX_NICK_MAX + 1];
  R->udp_token_pending = false;
  if (m->status != 201
      || !dx_decode_session_answer (m->body, m->body_len, R->udp_token, nick, NULL)) {
    bench_conn_fail (c, "POST /api/v1/session failed");
    return;
  }
  c->dead = true;
  dx_close (DX_HANDLE (c->s), NULL);
  c->s = NULL;
  start_subscribers (R);
}

static void
info_answer (conn *c, const dx_http_message *m)
{
  run *R = c->R;
  dx_info info;
  if (m->status != 200 || !dx_decode_info (m->body, m->body_len, &info, NULL)) {
    bench_conn_fail (c, "GET /api/v1/info failed: is this duplexd?");
    return;
  }
  R->tcp_port = info.tcp_port;
  if (R->o->transport == BENCH_UDP && !udp_setup (c, m))
    return; /* failed, or waiting for the session's token */
  c->dead = true;
  dx_close (DX_HANDLE (c->s), NULL);
  c->s = NULL;
  start_subscribers (R);
}

/* A complete response head (or response) on an HTTP connection. */
static void
http_event (conn *c, dx_http_status st, const dx_http_message *m)
{
  if (c->role == ROLE_INFO) {
    if (st == DX_HTTP_DONE && c->R->udp_token_pending)
      udp_token_answer (c, m);
    else if (st == DX_HTTP_DONE)
      info_answer (c, m);
    return; /* DX_HTTP_HEADERS: the body follows */
  }
  if (c->tr == BENCH_WEBSOCKET) {
    if (st == DX_HTTP_DONE)
      bench_ws_upgraded (c, m);
    else if (m->status == 101)
      bench_conn_fail (c, "unexpected body in a WebSocket handshake");
    return; /* a refusal: its body follows, the check fails on DONE */
  }
  if (c->tr == BENCH_SSE && c->role == ROLE_SUBSCRIBER) {
    if (st == DX_HTTP_HEADERS)
      bench_sse_headers (c, m);
    else
      bench_conn_fail (c, "SSE response ended");
    return;
  }
  if (st != DX_HTTP_DONE)
    return;
  if (c->role == ROLE_PUBLISHER) { /* nchan: POST /pub answered */
    c->busy = false;
    if (m->status >= 200 && m->status < 300) {
      bench_acked (c->R);
    } else if (m->status == 429 || m->status == 503) {
      /* Backpressure: refused, wait as told (Retry-After in seconds). */
      const char *ra = dx_http_message_header (m, "Retry-After");
      bench_refused (c->R, ra ? strtoull (ra, NULL, 10) * 1000 : 0);
    } else {
      c->R->r->errors++;
      if (!c->R->r->error[0])
        snprintf (c->R->r->error, sizeof c->R->r->error, "publisher %u: POST answered %d", c->idx,
                  m->status);
      bench_refused (c->R, 0);
    }
  } else {
    bench_http_poll_answer (c, m);
  }
}

static void
http_feed (conn *c, const char *data, size_t len)
{
  while (len > 0 && !c->dead) {
    if (c->upgraded) {
      if (c->tr == BENCH_WEBSOCKET)
        bench_ws_feed (c, data, len);
      else
        bench_sse_feed (c, data, len);
      return;
    }
    size_t used = 0;
    dx_http_status st = dx_http_parser_feed (c->http, data, len, &used);
    data += used;
    len -= used;
    if (st == DX_HTTP_ERROR) {
      bench_conn_fail (c, "bad HTTP response");
      return;
    }
    if (st == DX_HTTP_NEED_MORE)
      return;
    http_event (c, st, dx_http_parser_message (c->http));
  }
}

static void
alloc_cb (dx_stream *s, size_t suggested, dx_buf *buf)
{
  (void) suggested;
  conn *c = dx_handle_data (DX_HANDLE (s));
  run *R = c->R;
  /* The epoll and poll backends ask for a buffer only when the socket is
   * readable and hand it back at once: one buffer serves every connection.
   * A backend that keeps reads pending (IOCP) gets its own buffers. */
  char *p;
  if (!R->read_buf_busy && R->read_buf) {
    R->read_buf_busy = true;
    p = R->read_buf;
  } else {
    p = malloc (BENCH_READ_SIZE);
  }
  *buf = dx_buf_init (p, p ? BENCH_READ_SIZE : 0);
}

static void
plain_feed (conn *c, const char *data, size_t n)
{
  if (c->tr == BENCH_TCP && c->R->o->target == BENCH_DUPLEXD)
    bench_tcp_feed (c, data, n);
  else
    http_feed (c, data, n);
}

#ifdef DX_HAVE_TLS
/* Ciphertext in, plaintext to the transport's parser. */
static void
tls_feed (conn *c, const char *data, size_t n)
{
  bool ok = dx_tls_feed (c->tls, data, n);
  tls_flush (c);
  if (!ok) {
    bench_conn_fail (c, "TLS handshake or record failed");
    return;
  }
  char plain[16384];
  while (!c->dead && c->tls) {
    ptrdiff_t got = dx_tls_read (c->tls, plain, sizeof plain);
    if (got == DX_TLS_AGAIN)
      break;
    if (got < 0) {
      bench_conn_fail (c, got == DX_TLS_CLOSED ? "connection closed by the server" : "TLS failed");
      break;
    }
    plain_feed (c, plain, (size_t) got);
  }
  if (!c->dead && c->tls)
    tls_flush (c);
}
#endif

static void
read_cb (dx_stream *s, ptrdiff_t n, const dx_buf *buf)
{
  conn *c = dx_handle_data (DX_HANDLE (s));
  run *R = c->R;
  if (n > 0 && !c->dead) {
    if (c->role == ROLE_SUBSCRIBER)
      R->r->bytes_in += (uint64_t) n;
#ifdef DX_HAVE_TLS
    if (c->tls)
      tls_feed (c, buf->base, (size_t) n);
    else
#endif
      plain_feed (c, buf->base, (size_t) n);
  } else if (n < 0) {
    bench_conn_fail (c, n == DX_EOF ? "connection closed by the server" : dx_strerror ((int) n));
  }
  if (buf->base == R->read_buf)
    R->read_buf_busy = false;
  else
    free (buf->base);
}

/* ---- connections ---------------------------------------------------------- */

static void
connect_cb (dx_stream *s, int status, void *arg)
{
  conn *c = arg;
  if (c->dead)
    return;
  if (status != 0) {
    bench_conn_fail (c, dx_strerror (status));
    return;
  }
  c->connected = true;
  if (c->role == ROLE_SUBSCRIBER)
    c->R->r->connections++;
  dx_tcp_nodelay (s, true);
  int err = dx_read_start (s, alloc_cb, read_cb);
  if (err) {
    bench_conn_fail (c, dx_strerror (err));
    return;
  }
#ifdef DX_HAVE_TLS
  if (c->R->tls_ctx) {
    /* Requests written now wait in the filter until the handshake ends. */
    c->tls = dx_tls_new_client (c->R->tls_ctx, c->R->o->host);
    if (!c->tls) {
      bench_conn_fail (c, "out of memory");
      return;
    }
    dx_tls_feed (c->tls, NULL, 0); /* the ClientHello */
    tls_flush (c);
    if (c->dead)
      return;
  }
#endif
  if (c->role == ROLE_INFO) {
    dx_buffer b;
    bench_request_head (c, &b, "GET", "/api/v1/info");
    dx_http_write_end_headers (&b);
    bench_conn_write_buffer (c, &b);
    return;
  }
  switch (c->tr) {
  case BENCH_WEBSOCKET: bench_ws_begin (c); break;
  case BENCH_TCP:
    if (c->R->o->target == BENCH_DUPLEXD)
      bench_duplexd_hello (c);
    break;
  case BENCH_SSE: bench_sse_begin (c); break;
  case BENCH_POLL:
  case BENCH_LONGPOLL:
    if (c->role == ROLE_PUBLISHER)
      bench_publisher_start (c->R);
    else
      bench_http_sub_request (c);
    break;
  default: break;
  }
}

void
bench_conn_start (run *R, conn *c)
{
  c->R = R;
  if (c->role == ROLE_SUBSCRIBER) {
    c->tr = R->o->transport;
    if (c->next_seq == 0)
      c->next_seq = 1;
    if (c->tr == BENCH_UDP) {
      bench_udp_begin (c); /* no TCP connection at all */
      return;
    }
  }
  if (!c->http) {
    /* Poll answers carry up to 1000 messages: allow bodies far above the
     * request limit of 64 KiB. */
    dx_http_limits l;
    dx_http_limits_default (&l);
    l.max_body = 64u << 20;
    c->http = dx_http_parser_new (DX_HTTP_PARSE_RESPONSE, &l);
    if (!c->http) {
      bench_conn_fail (c, "out of memory");
      return;
    }
  } else {
    dx_http_parser_reset (c->http);
  }
  if (!c->nd_init) {
    dx_ndjson_init (&c->nd, DX_MSG_ENCODED_MAX); /* server lines may exceed 16 KiB */
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
    bench_conn_fail (c, dx_strerror (err));
    return;
  }
  dx_handle_set_data (DX_HANDLE (c->s), c);
}

void
bench_conn_fail (conn *c, const char *why)
{
  if (c->dead)
    return;
  c->dead = true;
  run *R = c->R;
  if (c->s) {
    dx_close (DX_HANDLE (c->s), NULL);
    c->s = NULL;
  }
#ifdef DX_HAVE_TLS
  dx_tls_free (c->tls);
  c->tls = NULL;
#endif
  if (c->udp) {
    dx_close (DX_HANDLE (c->udp), NULL);
    c->udp = NULL;
  }
  if (c->timer)
    dx_timer_stop (c->timer);
  if (R->phase == PHASE_DONE)
    return; /* closing down: not a failure */
  R->r->errors++;
  if (!R->r->error[0])
    snprintf (R->r->error, sizeof R->r->error, "%s %u: %s", role_name (c), c->idx, why);
  if (c->role != ROLE_SUBSCRIBER) {
    /* No publisher (or no server): nothing more can be measured. */
    bench_run_finish (R);
    return;
  }
  if (!c->ready) {
    /* Count it out so the publisher is not waiting for it forever, and
     * keep the connect window full. */
    R->n_failed++;
    if (R->phase == PHASE_CONNECT && R->n_started < R->n_subs)
      bench_conn_start (R, &R->subs[R->n_started++]);
    maybe_all_in (R);
    return;
  }
  R->n_lost++;
  R->lost_delivered += c->delivered;
  if (R->n_lost == R->r->ready)
    bench_run_finish (R); /* every subscriber gone */
  else
    bench_maybe_finish (R);
}

static void
conn_release (conn *c)
{
  c->dead = true;
  if (c->s)
    dx_close (DX_HANDLE (c->s), NULL);
  if (c->udp)
    dx_close (DX_HANDLE (c->udp), NULL);
  if (c->timer)
    dx_close (DX_HANDLE (c->timer), NULL);
  c->s = NULL;
  c->udp = NULL;
  c->timer = NULL;
}

static void
conn_free (conn *c)
{
#ifdef DX_HAVE_TLS
  dx_tls_free (c->tls);
  c->tls = NULL;
#endif
  dx_http_parser_free (c->http);
  dx_sse_parser_free (c->sse);
  dx_ws_decoder_free (c->ws);
  dx_buffer_free (&c->decoded);
  if (c->nd_init)
    dx_ndjson_free (&c->nd);
}

/* CPU (and run-queue wait) of this process from the first send to now. */
static void
measure_self (run *R, uint64_t end)
{
  bench_result *r = R->r;
  r->bench_span_s = (double) (end - R->t_start_us) / 1e6;
  double cpu = bench_self_cpu_ms (), wait = bench_self_wait_ms ();
  if (R->self_cpu_before >= 0 && cpu >= 0)
    r->bench_cpu_ms = cpu - R->self_cpu_before;
  if (R->self_wait_before >= 0 && wait >= 0)
    r->bench_wait_ms = wait - R->self_wait_before;
  if (r->bench_cpu_ms >= 0 && r->bench_span_s > 0)
    r->bench_busiest = (r->bench_cpu_ms + (r->bench_wait_ms > 0 ? r->bench_wait_ms : 0))
                       / (r->bench_span_s * 1000.0);
}

void
bench_run_finish (run *R)
{
  if (R->phase == PHASE_DONE)
    return;
  R->phase = PHASE_DONE;
  uint64_t end = dx_monotonic_us ();
  bench_result *r = R->r;
  if (R->t_start_us) {
    if (R->t_last_send_us > R->t_start_us)
      r->publish_seconds = (double) (R->t_last_send_us - R->t_start_us) / 1e6;
    r->total_seconds = (double) (end - R->t_start_us) / 1e6;
    if (R->t_last_deliver_us > R->t_start_us)
      r->deliver_seconds = (double) (R->t_last_deliver_us - R->t_start_us) / 1e6;
    if (R->cpu_before >= 0 && R->o->server_pid && R->wid < 0) {
      double after = bench_process_cpu_ms (R->o->server_pid);
      if (after >= 0)
        r->server_cpu_ms = after - R->cpu_before;
    }
    measure_self (R, end);
  }
  r->offered = R->total;
  r->sent = R->acked;
  r->refused = R->refused;
  r->deferred = R->deferred;
  if (r->ready > R->n_lost && !(R->sh && R->wid < 0))
    r->lost = bench_udp_lost (R);
  if (!R->sh) {
    /* A refused message never comes: not a gap of the server's. */
    uint64_t refused_gaps = R->refused * r->ready;
    r->gaps = r->gaps > refused_gaps ? r->gaps - refused_gaps : 0;
    r->workers = 1;
    r->bench_cores = bench_cpus_available ();
    bench_judge_saturation (r);
  }
  for (unsigned i = 0; i < R->n_subs; i++)
    conn_release (&R->subs[i]);
  for (unsigned i = 0; i < R->n_pubs; i++)
    conn_release (R->pubs[i]);
  if (R->info)
    conn_release (R->info);
  dx_close (DX_HANDLE (R->tick), NULL);
  dx_close (DX_HANDLE (R->deadline), NULL);
  R->tick = R->deadline = NULL;
  if (R->sync) {
    dx_close (DX_HANDLE (R->sync), NULL);
    R->sync = NULL;
  }
  if (R->sh)
    bench_worker_finish (R);
}

int
bench_run (const bench_opts *o, bench_result *r)
{
  static unsigned run_counter;
  char room[48];
  snprintf (room, sizeof room, "%s-%" PRIu64 "-%u", o->room_prefix, dx_wall_ms () % 1000000000,
            run_counter++);
  unsigned cpus = bench_take_cpus (o->server_pid);
  unsigned workers = o->workers ? o->workers : cpus;
  if (workers > o->subscribers)
    workers = o->subscribers;
  if (workers > 1)
    return bench_run_workers (o, r, workers, room);
  return bench_run_part (o, r, NULL, -1, o->subscribers, room);
}

int
bench_run_part (const bench_opts *o, bench_result *r, bench_shared *sh, int wid, unsigned n,
                const char *room)
{
  int err = 0;
  run R;
  memset (&R, 0, sizeof R);
  R.o = o;
  R.r = r;
  R.sh = sh;
  R.wid = wid;
  R.n_subs = n;
  r->transport = o->transport;
  r->target = o->target;
  r->subscribers = o->subscribers;
  R.total = (uint64_t) (o->rate * o->duration + 0.5);
  if (R.total == 0)
    R.total = 1;
  R.rng = (dx_monotonic_us () + (uint64_t) (wid + 1) * 7919) * 0x9E3779B97F4A7C15ULL + 1;
  snprintf (R.room, sizeof R.room, "%s", room);
#ifdef DX_HAVE_TLS
  if (o->tls) {
    R.tls_ctx = dx_tls_ctx_new_client (o->ca_file, o->ca_file != NULL, r->error, sizeof r->error);
    if (!R.tls_ctx)
      return 1;
  }
#endif
  R.loop = dx_loop_new (&err);
  if (!R.loop) {
    snprintf (r->error, sizeof r->error, "event loop: %s", dx_strerror (err));
#ifdef DX_HAVE_TLS
    dx_tls_ctx_free (R.tls_ctx);
#endif
    return 1;
  }
  R.subs = calloc (n ? n : 1, sizeof *R.subs);
  R.read_buf = malloc (BENCH_READ_SIZE);
  R.tick = dx_timer_new (R.loop);
  R.deadline = dx_timer_new (R.loop);
  R.sync = sh ? dx_timer_new (R.loop) : NULL;
  if (!R.subs || !R.read_buf || !R.tick || !R.deadline || (sh && !R.sync)) {
    snprintf (r->error, sizeof r->error, "out of memory");
    if (R.tick)
      dx_close (DX_HANDLE (R.tick), NULL);
    if (R.deadline)
      dx_close (DX_HANDLE (R.deadline), NULL);
    if (R.sync)
      dx_close (DX_HANDLE (R.sync), NULL);
    dx_loop_run (R.loop);
    free (R.subs);
    free (R.read_buf);
    dx_loop_free (R.loop);
#ifdef DX_HAVE_TLS
    dx_tls_ctx_free (R.tls_ctx);
#endif
    return 1;
  }
  dx_handle_set_data (DX_HANDLE (R.tick), &R);
  dx_handle_set_data (DX_HANDLE (R.deadline), &R);
  /* With workers the publisher waits for theirs, and a little more. */
  dx_timer_start (R.deadline, BENCH_CONNECT_TIMEOUT_MS + (sh && wid < 0 ? 10000 : 0), 0,
                  bench_deadline_fired);
  if (sh) {
    dx_handle_set_data (DX_HANDLE (R.sync), &R);
    dx_timer_start (R.sync, BENCH_SYNC_MS, BENCH_SYNC_MS, bench_worker_sync);
  }
  for (unsigned i = 0; i < n; i++) {
    R.subs[i].role = ROLE_SUBSCRIBER;
    R.subs[i].idx = i;
  }

  if (o->target == BENCH_DUPLEXD) {
    R.phase = PHASE_INFO;
    R.info = calloc (1, sizeof *R.info);
    if (R.info) {
      R.info->role = ROLE_INFO;
      R.info->tr = BENCH_POLL;
      bench_conn_start (&R, R.info);
    } else {
      snprintf (r->error, sizeof r->error, "out of memory");
      bench_run_finish (&R);
    }
  } else {
    start_subscribers (&R);
  }

  dx_loop_run (R.loop);
  if (R.phase != PHASE_DONE)
    bench_run_finish (&R);
  dx_loop_run (R.loop); /* let every close callback run */
  for (unsigned i = 0; i < n; i++)
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
  free (R.read_buf);
  dx_loop_free (R.loop);
#ifdef DX_HAVE_TLS
  dx_tls_ctx_free (R.tls_ctx);
#endif
  return r->error[0] ? 1 : 0;
}
