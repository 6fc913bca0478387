/* libFuzzer target: the HTTP/1.1 parser (requests and responses, with
 * pipelining), query-string helpers and the WebSocket server handshake.
 * Besides "no crash", it checks that feeding the input in pieces gives the
 * same messages and errors as feeding it at once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http.h"
#include "protocol/websocket.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static uint64_t
mix (uint64_t h, const void *p, size_t n)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t
mix_str (uint64_t h, const char *s)
{
  return mix (h, s ? s : "(null)", s ? strlen (s) + 1 : 7);
}

static uint64_t
hash_message (const dx_http_message *m)
{
  uint64_t h = 0xcbf29ce484222325ull;
  h = mix_str (h, m->method_name);
  h = mix_str (h, m->target);
  h = mix_str (h, m->path);
  h = mix_str (h, m->query);
  h = mix (h, &m->status, sizeof m->status);
  h = mix_str (h, m->reason);
  for (size_t i = 0; i < m->n_headers; i++) {
    h = mix_str (h, m->headers[i].name);
    h = mix_str (h, m->headers[i].value);
  }
  uint8_t flags[] = { m->has_content_length, m->chunked,
                      m->keep_alive,         m->upgrade,
                      m->expect_continue,    (uint8_t) m->version_minor };
  h = mix (h, flags, sizeof flags);
  h = mix (h, m->body, m->body_len);
  return h;
}

/* Exercise the helpers on a parsed request (results are not compared). */
static void
poke_request (const dx_http_message *m)
{
  uint64_t v;
  char buf[64];
  size_t n;
  dx_http_query_get_u64 (m->query, "since", &v);
  dx_http_query_get (m->query, "nick", buf, sizeof buf, &n);
  dx_http_percent_decode (m->path, strlen (m->path), false, buf, sizeof buf, &n);
  dx_ws_handshake hs;
  if (dx_ws_server_handshake (m, "duplex.v1", &hs)) {
    dx_buffer b;
    dx_buffer_init (&b, 0);
    if (!dx_ws_write_handshake_response (&b, &hs))
      abort ();
    dx_buffer_free (&b);
  }
}

#define MAX_EVENTS 64

typedef struct {
  uint64_t ev[MAX_EVENTS];
  size_t n;
} trace;

static void
record (trace *t, uint64_t v)
{
  if (t->n < MAX_EVENTS)
    t->ev[t->n++] = v;
}

static void
run (dx_http_parse_mode mode, const uint8_t *data, size_t size, const size_t *cuts, size_t n_cuts,
     trace *t, bool poke)
{
  dx_http_parser *p = dx_http_parser_new (mode, NULL);
  size_t pos = 0;
  bool stop = false;
  t->n = 0;
  for (size_t k = 0; k <= n_cuts && !stop; k++) {
    size_t end = k < n_cuts ? cuts[k] : size;
    while (!stop) {
      size_t used = 0;
      dx_http_status st = dx_http_parser_feed (p, (const char *) data + pos, end - pos, &used);
      if (used > end - pos)
        abort ();
      pos += used;
      if (st == DX_HTTP_DONE) {
        const dx_http_message *m = dx_http_parser_message (p);
        record (t, hash_message (m) ^ pos);
        if (poke && mode == DX_HTTP_PARSE_REQUEST)
          poke_request (m);
        if (t->n >= MAX_EVENTS)
          stop = true;
        continue;
      }
      if (st == DX_HTTP_ERROR) {
        record (t, 1000000u + (uint64_t) dx_http_parser_error (p));
        stop = true;
        break;
      }
      if (st == DX_HTTP_HEADERS) {
        if (!dx_http_parser_headers_complete (p) || !dx_http_parser_message (p))
          abort ();
        continue;
      }
      if (pos != end)
        abort (); /* NEED_MORE must consume everything */
      break;
    }
  }
  if (!stop) {
    dx_http_status st = dx_http_parser_finish (p);
    record (t, 2000000u + (uint64_t) st
                   + (st == DX_HTTP_DONE ? hash_message (dx_http_parser_message (p)) : 0));
  }
  dx_http_parser_free (p);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  dx_http_parse_mode mode = (data[0] & 1) ? DX_HTTP_PARSE_RESPONSE : DX_HTTP_PARSE_REQUEST;
  size_t seed = data[1];
  data += 2;
  size -= 2;
  trace whole, split;
  run (mode, data, size, NULL, 0, &whole, true);
  /* Two cuts derived from the input, plus byte-by-byte for small inputs. */
  size_t cuts[2] = { size ? (seed * 7919) % (size + 1) : 0, 0 };
  cuts[1] = cuts[0] + (size - cuts[0]) / 2;
  run (mode, data, size, cuts, 2, &split, false);
  if (split.n != whole.n || memcmp (split.ev, whole.ev, whole.n * sizeof whole.ev[0]) != 0)
    abort ();
  if (size <= 512) {
    size_t all[512];
    for (size_t i = 0; i < size; i++)
      all[i] = i;
    run (mode, data, size, all, size, &split, false);
    if (split.n != whole.n || memcmp (split.ev, whole.ev, whole.n * sizeof whole.ev[0]) != 0)
      abort ();
  }
  return 0;
}
