/* HTTP/1.1 parser and writers: requests and responses, every error status,
 * pipelining, keep-alive, upgrade, query strings, and the same result for
 * every split of the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http.h"
#include "../tap.h"

/* ---- a description of what the parser made of an input ---- */

typedef struct {
  char text[4096];
  size_t consumed;
  dx_http_status status;
  dx_http_error err;
  bool saw_headers;
} outcome;

static void
describe (dx_http_parser *p, outcome *o)
{
  const dx_http_message *m = dx_http_parser_message (p);
  size_t n = 0;
  n += (size_t) snprintf (o->text + n, sizeof o->text - n, "st=%d err=%d used=%zu hdr=%d",
                          (int) o->status, (int) dx_http_parser_error (p), o->consumed,
                          o->saw_headers);
  if (!m || o->status != DX_HTTP_DONE)
    return;
  n += (size_t) snprintf (o->text + n, sizeof o->text - n,
                          " %s|%s|%s|%s|q%d|s%d|%s|1.%d|cl%d:%llu|ch%d|ka%d|up%d|ex%d|",
                          m->method_name ? m->method_name : "", m->target ? m->target : "",
                          m->path ? m->path : "", m->query ? m->query : "", m->has_query, m->status,
                          m->reason ? m->reason : "", m->version_minor, m->has_content_length,
                          (unsigned long long) m->content_length, m->chunked, m->keep_alive,
                          m->upgrade, m->expect_continue);
  for (size_t i = 0; i < m->n_headers && n < sizeof o->text; i++)
    n += (size_t) snprintf (o->text + n, sizeof o->text - n, "[%s=%s]", m->headers[i].name,
                            m->headers[i].value);
  if (n < sizeof o->text)
    snprintf (o->text + n, sizeof o->text - n, " body(%zu)=%.*s", m->body_len, (int) m->body_len,
              m->body);
}

/* Feed in[0..len) in pieces ending at cuts[], until DONE or ERROR. */
static outcome
parse_cuts (dx_http_parse_mode mode, const dx_http_limits *lim, const char *in, size_t len,
            const size_t *cuts, size_t n_cuts)
{
  outcome o;
  memset (&o, 0, sizeof o);
  dx_http_parser *p = dx_http_parser_new (mode, lim);
  size_t pos = 0;
  o.status = DX_HTTP_NEED_MORE;
  for (size_t k = 0; k <= n_cuts; k++) {
    size_t end = k < n_cuts ? cuts[k] : len;
    for (;;) {
      size_t used = 0;
      o.status = dx_http_parser_feed (p, in + pos, end - pos, &used);
      pos += used;
      if (o.status == DX_HTTP_HEADERS) {
        o.saw_headers = true;
        if (pos < end)
          continue;
      }
      break;
    }
    if (o.status == DX_HTTP_DONE || o.status == DX_HTTP_ERROR)
      break;
  }
  o.consumed = o.status == DX_HTTP_ERROR ? 0 : pos; /* error position is informative only */
  describe (p, &o);
  o.err = dx_http_parser_error (p);
  dx_http_parser_free (p);
  return o;
}

/* Parse whole, then check every 2-way split and byte-by-byte agree. */
static outcome
parse_all (dx_http_parse_mode mode, const dx_http_limits *lim, const char *in, size_t len,
           bool *split_ok)
{
  outcome whole = parse_cuts (mode, lim, in, len, NULL, 0);
  *split_ok = true;
  for (size_t cut = 0; cut <= len && *split_ok; cut++) {
    outcome o = parse_cuts (mode, lim, in, len, &cut, 1);
    if (strcmp (o.text, whole.text) != 0) {
      printf ("# split at %zu:\n#  %s\n#  %s\n", cut, o.text, whole.text);
      *split_ok = false;
    }
  }
  size_t *cuts = malloc ((len + 1) * sizeof *cuts);
  for (size_t i = 0; i <= len; i++)
    cuts[i] = i;
  outcome b = parse_cuts (mode, lim, in, len, cuts, len + 1);
  free (cuts);
  if (strcmp (b.text, whole.text) != 0) {
    printf ("# byte by byte:\n#  %s\n#  %s\n", b.text, whole.text);
    *split_ok = false;
  }
  return whole;
}

static void
expect_error (const char *name, const char *in, dx_http_error error)
{
  bool split;
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
  size_t used = 0, pos = 0, len = strlen (in);
  dx_http_status st;
  do {
    st = dx_http_parser_feed (p, in + pos, len - pos, &used);
    pos += used;
  } while (st == DX_HTTP_HEADERS);
  OK (st == DX_HTTP_ERROR && dx_http_parser_error (p) == error
          && dx_http_parser_error_message (p) != NULL,
      "%s -> error %d (got %d: %s)", name, (int) error, (int) dx_http_parser_error (p),
      dx_http_parser_error_message (p) ? dx_http_parser_error_message (p) : "-");
  OK (dx_http_parser_feed (p, "GET / HTTP/1.1\r\n\r\n", 18, &used) == DX_HTTP_ERROR && used == 0,
      "%s: the error is sticky", name);
  dx_http_parser_free (p);
  if (len < 3000) {
    outcome o = parse_all (DX_HTTP_PARSE_REQUEST, NULL, in, len, &split);
    OK (split && o.err == error, "%s: same error for every split", name);
  }
}

static const dx_http_message *
parse_one (dx_http_parser *p, const char *in, size_t len, size_t *consumed, dx_http_status *last)
{
  size_t pos = 0, used;
  dx_http_status st;
  do {
    st = dx_http_parser_feed (p, in + pos, len - pos, &used);
    pos += used;
  } while (st == DX_HTTP_HEADERS && pos < len);
  *consumed = pos;
  if (last)
    *last = st;
  return st == DX_HTTP_DONE ? dx_http_parser_message (p) : NULL;
}

static char *
repeat (char c, size_t n)
{
  char *s = malloc (n + 1);
  memset (s, c, n);
  s[n] = '\0';
  return s;
}

/* ---- requests ---- */

static void
test_simple_get (void)
{
  static const char req[] = "GET /api/v1/rooms/lobby/messages?since=3&limit=10 HTTP/1.1\r\n"
                            "Host: localhost:8080\r\n"
                            "User-Agent:  curl/7.88   \r\n"
                            "accept: */*\r\n"
                            "X-Empty:\r\n"
                            "\r\n";
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
  size_t used;
  OK (!dx_http_parser_started (p), "a new parser has not started");
  OK (dx_http_parser_message (p) == NULL, "no message before the head is complete");
  const dx_http_message *m = parse_one (p, req, sizeof req - 1, &used, NULL);
  OK (m != NULL && used == sizeof req - 1, "GET parsed, all bytes consumed");
  if (!m)
    return;
  OK (!dx_http_parser_started (p) && dx_http_parser_headers_complete (p),
      "after DONE: not in progress, headers complete");
  {
    dx_http_parser *q = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
    size_t u;
    OK (dx_http_parser_feed (q, "GET / HT", 8, &u) == DX_HTTP_NEED_MORE
            && dx_http_parser_started (q) && !dx_http_parser_headers_complete (q),
        "a partial request is in progress, head incomplete");
    OK (dx_http_parser_feed (q, "TP/1.1\r\nContent-Length: 2\r\n\r\n", 31, &u) == DX_HTTP_HEADERS
            && dx_http_parser_started (q) && dx_http_parser_headers_complete (q),
        "at HEADERS: in progress, head complete");
    dx_http_parser_free (q);
  }
  OK (m->method == DX_HTTP_GET, "method GET");
  STR_IS (m->method_name, "GET", "method name");
  STR_IS (m->target, "/api/v1/rooms/lobby/messages?since=3&limit=10", "target");
  STR_IS (m->path, "/api/v1/rooms/lobby/messages", "path");
  STR_IS (m->query, "since=3&limit=10", "query");
  OK (m->has_query, "has_query");
  OK (m->version_minor == 1, "HTTP/1.1");
  OK (m->n_headers == 4, "four header fields");
  STR_IS (dx_http_message_header (m, "HOST"), "localhost:8080",
          "header lookup is case-insensitive");
  STR_IS (dx_http_message_header (m, "user-agent"), "curl/7.88", "value whitespace trimmed");
  STR_IS (dx_http_message_header (m, "Accept"), "*/*", "lower-case name found");
  STR_IS (dx_http_message_header (m, "x-empty"), "", "empty value");
  OK (dx_http_message_header (m, "Cookie") == NULL, "missing header is NULL");
  STR_IS (m->headers[2].name, "accept", "names keep their case");
  OK (m->keep_alive && !m->upgrade && !m->chunked && !m->has_content_length && m->body_len == 0
          && m->body && m->body[0] == '\0',
      "keep-alive by default, no body");
  dx_http_parser_free (p);
}

static void
test_keep_alive (void)
{
  static const struct {
    const char *req;
    bool keep;
  } cases[] = {
    { "GET / HTTP/1.1\r\n\r\n", true },
    { "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false },
    { "GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false },
    { "GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false },
    { "GET / HTTP/1.0\r\n\r\n", false },
    { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
    { "GET / HTTP/1.0\r\nConnection: closed\r\n\r\n", false },
    { "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
    size_t used;
    const dx_http_message *m = parse_one (p, cases[i].req, strlen (cases[i].req), &used, NULL);
    OK (m && m->keep_alive == cases[i].keep, "keep_alive=%d for case %u", cases[i].keep,
        (unsigned) i);
    dx_http_parser_free (p);
  }
}

static void
test_post_bodies (void)
{
  static const char req[] = "POST /api/v1/session HTTP/1.1\r\n"
                            "Content-Type: application/json\r\n"
                            "Content-Length: 16\r\n\r\n"
                            "{\"nick\":\"alice\"}";
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
  size_t used;
  dx_http_status st = dx_http_parser_feed (p, req, sizeof req - 1, &used);
  OK (st == DX_HTTP_HEADERS && used == sizeof req - 1 - 16, "HEADERS first, stopping at the body");
  const dx_http_message *m = dx_http_parser_message (p);
  OK (m && m->has_content_length && m->content_length == 16 && m->method == DX_HTTP_POST,
      "head visible at HEADERS");
  size_t used2;
  st = dx_http_parser_feed (p, req + used, sizeof req - 1 - used, &used2);
  m = dx_http_parser_message (p);
  OK (st == DX_HTTP_DONE && used2 == 16 && m->body_len == 16
          && memcmp (m->body, "{\"nick\":\"alice\"}", 16) == 0 && m->body[16] == '\0',
      "body read");

  static const char chunked[] = "POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
                                "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
                                "GET /next HTTP/1.1\r\n\r\n";
  dx_http_parser_reset (p);
  m = parse_one (p, chunked, sizeof chunked - 1, &used, NULL);
  OK (m && m->chunked && m->body_len == 11 && strcmp (m->body, "hello world") == 0,
      "chunked request body decoded");
  OK (used == sizeof chunked - 1 - 22, "stops at the end of the chunked body");
  m = parse_one (p, chunked + used, sizeof chunked - 1 - used, &used2, NULL);
  OK (m && strcmp (m->path, "/next") == 0 && used2 == 22,
      "the pipelined request after a chunked one");

  static const char expect[] =
      "POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  dx_http_parser_reset (p);
  st = dx_http_parser_feed (p, expect, sizeof expect - 1, &used);
  m = dx_http_parser_message (p);
  OK (st == DX_HTTP_HEADERS && m && m->expect_continue, "Expect: 100-continue visible at HEADERS");
  st = dx_http_parser_feed (p, "ok", 2, &used);
  OK (st == DX_HTTP_DONE && used == 2, "body after 100-continue");

  static const char get_body[] = "GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET";
  dx_http_parser_reset (p);
  m = parse_one (p, get_body, sizeof get_body - 1, &used, NULL);
  OK (m && m->body_len == 3 && used == sizeof get_body - 1 - 3,
      "a GET with Content-Length has its body read (not left as a next request)");

  static const char del[] = "DELETE /x HTTP/1.1\r\n\r\n";
  dx_http_parser_reset (p);
  m = parse_one (p, del, sizeof del - 1, &used, NULL);
  OK (m && m->method == DX_HTTP_DELETE && m->body_len == 0,
      "DELETE without Content-Length has an empty body");
  dx_http_parser_free (p);
}

static void
test_pipelining (void)
{
  static const char in[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                           "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                           "\r\nGET /c?x=1 HTTP/1.1\r\n\r\n"
                           "GET /d HTTP/1.1\r\n"; /* incomplete */
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
  size_t pos = 0, used;
  const char *paths[] = { "/a", "/b", "/c" };
  for (int i = 0; i < 3; i++) {
    const dx_http_message *m = parse_one (p, in + pos, sizeof in - 1 - pos, &used, NULL);
    pos += used;
    OK (m && strcmp (m->path, paths[i]) == 0, "pipelined request %d is %s", i + 1, paths[i]);
    if (i == 1)
      OK (m && m->body_len == 5 && memcmp (m->body, "hello", 5) == 0,
          "the body of the pipelined POST");
  }
  dx_http_status st = dx_http_parser_feed (p, in + pos, sizeof in - 1 - pos, &used);
  OK (st == DX_HTTP_NEED_MORE && pos + used == sizeof in - 1,
      "the incomplete fourth request waits for more");
  OK (dx_http_parser_finish (p) == DX_HTTP_ERROR
          && dx_http_parser_error (p) == DX_HTTP_ERR_MALFORMED,
      "EOF inside a request is a 400");
  dx_http_parser_reset (p);
  OK (dx_http_parser_finish (p) == DX_HTTP_NEED_MORE, "EOF between requests is clean");
  OK (dx_http_parser_feed (p, "\r\n\r\n", 4, &used) == DX_HTTP_NEED_MORE && used == 4
          && dx_http_parser_finish (p) == DX_HTTP_NEED_MORE,
      "empty lines before a request are skipped; EOF after them is clean");
  const dx_http_message *m = parse_one (p, "GET /e HTTP/1.1\r\n\r\n", 19, &used, NULL);
  OK (m && strcmp (m->path, "/e") == 0, "a request after skipped empty lines");
  dx_http_parser_free (p);
}

static void
test_upgrade (void)
{
  static const char in[] = "GET /api/v1/ws HTTP/1.1\r\n"
                           "Host: 127.0.0.1\r\n"
                           "Upgrade: websocket\r\n"
                           "Connection: keep-alive, Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"
                           "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
  size_t used;
  const dx_http_message *m = parse_one (p, in, sizeof in - 1, &used, NULL);
  OK (m && m->upgrade, "Upgrade + Connection: upgrade detected");
  OK (used == sizeof in - 1 - 11, "the WebSocket bytes after the head are left alone");
  dx_http_parser_reset (p);
  m = parse_one (p, "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", 39, &used, NULL);
  OK (m && !m->upgrade, "Upgrade without Connection: upgrade is not an upgrade");
  dx_http_parser_reset (p);
  m = parse_one (p, "GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n", 40, &used, NULL);
  OK (m && !m->upgrade, "Connection: upgrade without Upgrade is not an upgrade");
  dx_http_parser_free (p);
}

static void
test_targets (void)
{
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
  size_t used;
  const dx_http_message *m =
      parse_one (p, "GET http://example.com:8080/healthz?a=1 HTTP/1.1\r\n\r\n", 52, &used, NULL);
  OK (m && strcmp (m->path, "/healthz") == 0 && strcmp (m->query, "a=1") == 0,
      "absolute-form target: path and query");
  dx_http_parser_reset (p);
  m = parse_one (p, "GET http://example.com HTTP/1.1\r\n\r\n", 35, &used, NULL);
  OK (m && strcmp (m->path, "/") == 0 && !m->has_query, "absolute-form without a path is /");
  dx_http_parser_reset (p);
  m = parse_one (p, "OPTIONS * HTTP/1.1\r\n\r\n", 22, &used, NULL);
  OK (m && m->method == DX_HTTP_OPTIONS && strcmp (m->target, "*") == 0, "OPTIONS * accepted");
  dx_http_parser_reset (p);
  m = parse_one (p, "GET /p? HTTP/1.1\r\n\r\n", 20, &used, NULL);
  OK (m && m->has_query && m->query[0] == '\0' && strcmp (m->path, "/p") == 0,
      "empty query after '?'");
  dx_http_parser_reset (p);
  m = parse_one (p, "BREW /pot HTTP/1.1\r\n\r\n", 22, &used, NULL);
  OK (m && m->method == DX_HTTP_METHOD_OTHER && strcmp (m->method_name, "BREW") == 0,
      "an unknown method token is reported as OTHER");
  dx_http_parser_reset (p);
  m = parse_one (p, "get / HTTP/1.1\r\n\r\n", 18, &used, NULL);
  OK (m && m->method == DX_HTTP_METHOD_OTHER, "methods are case-sensitive");
  dx_http_parser_reset (p);
  m = parse_one (p, "GET / HTTP/1.1\nHost: a\n\n", 24, &used, NULL);
  OK (m && used == 24 && strcmp (dx_http_message_header (m, "host"), "a") == 0,
      "bare LF line ends are tolerated");
  dx_http_parser_reset (p);
  m = parse_one (p, "GET / HTTP/1.1\r\nX-Utf8: caf\xc3\xa9\r\n\r\n", 33, &used, NULL);
  OK (m && strcmp (dx_http_message_header (m, "x-utf8"), "caf\xc3\xa9") == 0,
      "obs-text bytes in a value are kept");
  dx_http_parser_free (p);
}

static void
test_errors (void)
{
  expect_error ("POST without Content-Length", "POST /x HTTP/1.1\r\nHost: a\r\n\r\n",
                DX_HTTP_ERR_LENGTH_REQUIRED);
  expect_error ("PUT without Content-Length", "PUT /x HTTP/1.1\r\n\r\n",
                DX_HTTP_ERR_LENGTH_REQUIRED);
  expect_error ("PATCH without Content-Length", "PATCH /x HTTP/1.1\r\n\r\n",
                DX_HTTP_ERR_LENGTH_REQUIRED);
  expect_error ("Content-Length over 64 KiB", "POST /x HTTP/1.1\r\nContent-Length: 65537\r\n\r\n",
                DX_HTTP_ERR_BODY_TOO_LARGE);
  expect_error ("huge Content-Length", "POST /x HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n",
                DX_HTTP_ERR_BODY_TOO_LARGE);
  expect_error ("duplicate Content-Length",
                "POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("Content-Length list", "POST /x HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("negative Content-Length", "POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("signed Content-Length", "POST /x HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("empty Content-Length", "POST /x HTTP/1.1\r\nContent-Length:\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("Content-Length overflow",
                "POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("Transfer-Encoding and Content-Length",
                "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("Transfer-Encoding gzip",
                "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                DX_HTTP_ERR_UNSUPPORTED_CODING);
  expect_error ("Transfer-Encoding on HTTP/1.0",
                "POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error (
      "duplicate Transfer-Encoding",
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      DX_HTTP_ERR_MALFORMED);
  expect_error ("chunked body over 64 KiB",
                "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n",
                DX_HTTP_ERR_BODY_TOO_LARGE);
  expect_error ("malformed chunked body",
                "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("obs-fold", "GET / HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("obs-fold with a tab", "GET / HTTP/1.1\r\nX-A: 1\r\n\tcontinued\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("whitespace before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("header line without colon", "GET / HTTP/1.1\r\nHost\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("empty header name", "GET / HTTP/1.1\r\n: a\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("bad character in header name", "GET / HTTP/1.1\r\nX(y): a\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("control character in value", "GET / HTTP/1.1\r\nX: a\001b\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("bare CR in a header", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("bare CR in the request line", "GET /\r HTTP/1.1\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  expect_error ("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", DX_HTTP_ERR_VERSION_NOT_SUPPORTED);
  expect_error ("HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", DX_HTTP_ERR_VERSION_NOT_SUPPORTED);
  expect_error ("HTTP/0.9 style version", "GET / HTTP/0.9\r\n\r\n",
                DX_HTTP_ERR_VERSION_NOT_SUPPORTED);
  expect_error ("lower-case version", "GET / http/1.1\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("short version", "GET / HTTP/1\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("missing version", "GET /\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("double space", "GET  / HTTP/1.1\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("trailing space", "GET / HTTP/1.1 \r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("bad method character", "G(T / HTTP/1.1\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("relative target", "GET index.html HTTP/1.1\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("authority-form target", "CONNECT a:443 HTTP/1.1\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("asterisk with GET", "GET * HTTP/1.1\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("control byte in target", "GET /a\001 HTTP/1.1\r\n\r\n", DX_HTTP_ERR_MALFORMED);
  expect_error ("non-ASCII byte in target", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
                DX_HTTP_ERR_MALFORMED);
  {
    char in[] = "GET / HTTP/1.1\r\nX: a_b\r\n\r\n";
    in[20] = '\0';
    dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
    size_t used;
    OK (dx_http_parser_feed (p, in, sizeof in - 1, &used) == DX_HTTP_ERROR
            && dx_http_parser_error (p) == DX_HTTP_ERR_MALFORMED,
        "NUL in a header value -> 400");
    dx_http_parser_free (p);
  }
}

static void
test_limits (void)
{
  /* Request line: content up to 8192 bytes is accepted, 8193 is 414. */
  size_t fixed = strlen ("GET / HTTP/1.1") - 1; /* without the path's "/" */
  char *path = repeat ('a', DX_HTTP_DEFAULT_MAX_REQUEST_LINE - fixed);
  path[0] = '/';
  char *in = malloc (DX_HTTP_DEFAULT_MAX_REQUEST_LINE + 64);
  snprintf (in, DX_HTTP_DEFAULT_MAX_REQUEST_LINE + 64, "GET %s HTTP/1.1\r\n\r\n", path);
  OK (strlen (in) == DX_HTTP_DEFAULT_MAX_REQUEST_LINE + 4, "request line of exactly 8 KiB built");
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
  size_t used;
  OK (parse_one (p, in, strlen (in), &used, NULL) != NULL,
      "a request line of exactly 8192 bytes is accepted");
  snprintf (in, DX_HTTP_DEFAULT_MAX_REQUEST_LINE + 64, "GET %sb HTTP/1.1\r\n\r\n", path);
  expect_error ("request line of 8193 bytes", in, DX_HTTP_ERR_START_LINE_TOO_LONG);
  free (path);
  path = repeat ('a', 20000);
  path[0] = '/';
  dx_http_parser_reset (p);
  OK (dx_http_parser_feed (p, "GET ", 4, &used) == DX_HTTP_NEED_MORE
          && dx_http_parser_feed (p, path, 20000, &used) == DX_HTTP_ERROR
          && dx_http_parser_error (p) == DX_HTTP_ERR_START_LINE_TOO_LONG,
      "a long URI is refused before its line ends");
  free (path);
  free (in);

  /* Empty lines before a request: at most 8 KiB of them. */
  {
    char *lines = malloc (9001);
    for (int i = 0; i < 9000; i += 2)
      memcpy (lines + i, "\r\n", 2);
    lines[9000] = '\0';
    dx_http_parser_reset (p);
    dx_http_status st = dx_http_parser_feed (p, lines, 8000, &used);
    OK (st == DX_HTTP_NEED_MORE && dx_http_parser_started (p),
        "8000 bytes of empty lines: still waiting, in progress");
    OK (dx_http_parser_feed (p, lines, 1000, &used) == DX_HTTP_ERROR
            && dx_http_parser_error (p) == DX_HTTP_ERR_MALFORMED,
        "over 8 KiB of empty lines before a request -> 400");
    free (lines);
  }

  /* Header block: 16 KiB including the blank line. */
  in = malloc (40000);
  strcpy (in, "GET / HTTP/1.1\r\n");
  size_t block = DX_HTTP_DEFAULT_MAX_HEADER_BLOCK - 2; /* the blank line */
  char *val = repeat ('v', block - strlen ("X-Big: \r\n"));
  strcat (in, "X-Big: ");
  strcat (in, val);
  strcat (in, "\r\n\r\n");
  dx_http_parser_reset (p);
  OK (parse_one (p, in, strlen (in), &used, NULL) != NULL,
      "a header block of exactly 16384 bytes is accepted");
  free (val);
  val = repeat ('v', block - strlen ("X-Big: \r\n") + 1);
  strcpy (in, "GET / HTTP/1.1\r\nX-Big: ");
  strcat (in, val);
  strcat (in, "\r\n\r\n");
  expect_error ("a header block of 16385 bytes", in, DX_HTTP_ERR_HEADERS_TOO_LARGE);
  free (val);

  /* Header count. */
  strcpy (in, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < DX_HTTP_DEFAULT_MAX_HEADERS; i++)
    sprintf (in + strlen (in), "X-%d: %d\r\n", i, i);
  strcat (in, "\r\n");
  dx_http_parser_reset (p);
  const dx_http_message *m = parse_one (p, in, strlen (in), &used, NULL);
  OK (m && m->n_headers == DX_HTTP_DEFAULT_MAX_HEADERS, "100 header fields are accepted");
  in[strlen (in) - 2] = '\0';
  strcat (in, "X-Last: 1\r\n\r\n");
  expect_error ("101 header fields", in, DX_HTTP_ERR_HEADERS_TOO_LARGE);
  free (in);

  /* Body exactly at the limit; then custom limits. */
  in = malloc (DX_HTTP_DEFAULT_MAX_BODY + 100);
  int hn = sprintf (in, "POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n", DX_HTTP_DEFAULT_MAX_BODY);
  memset (in + hn, 'b', DX_HTTP_DEFAULT_MAX_BODY);
  dx_http_parser_reset (p);
  m = parse_one (p, in, (size_t) hn + DX_HTTP_DEFAULT_MAX_BODY, &used, NULL);
  OK (m && m->body_len == DX_HTTP_DEFAULT_MAX_BODY, "a body of exactly 64 KiB is accepted");
  free (in);
  dx_http_parser_free (p);

  dx_http_limits lim = {
    .max_request_line = 32, .max_header_block = 64, .max_headers = 2, .max_body = 4
  };
  p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, &lim);
  dx_http_status st;
  parse_one (p, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 38, &used, &st);
  OK (st == DX_HTTP_ERROR && dx_http_parser_error (p) == DX_HTTP_ERR_BODY_TOO_LARGE,
      "custom max_body");
  dx_http_parser_reset (p);
  parse_one (p, "GET /0123456789012345678901234 HTTP/1.1\r\n\r\n", 43, &used, &st);
  OK (st == DX_HTTP_ERROR && dx_http_parser_error (p) == DX_HTTP_ERR_START_LINE_TOO_LONG,
      "custom max_request_line");
  dx_http_parser_reset (p);
  parse_one (p, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 36, &used, &st);
  OK (st == DX_HTTP_ERROR && dx_http_parser_error (p) == DX_HTTP_ERR_HEADERS_TOO_LARGE,
      "custom max_headers");
  dx_http_parser_free (p);
}

static void
test_splits (void)
{
  static const char *inputs[] = {
    "GET /api/v1/rooms HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "POST /api/v1/rooms/lobby/messages HTTP/1.1\r\nAuthorization: Bearer t\r\n"
    "Content-Length: 11\r\n\r\n{\"text\":1}\nGET / HTTP/1.1\r\n\r\n",
    "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\nXYZ",
    "\r\n\r\nGET /a?since=5&wait=30 HTTP/1.0\nConnection: keep-alive\n\n",
    "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
    "GET / HTTP/2.0\r\n\r\n",
    "POST /x HTTP/1.1\r\n\r\n",
    "POST /x HTTP/1.1\r\nContent-Length: 70000\r\n\r\n",
    "GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n",
    "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x80",
  };
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    bool split;
    parse_all (DX_HTTP_PARSE_REQUEST, NULL, inputs[i], strlen (inputs[i]), &split);
    OK (split, "request %u: same outcome for every split", (unsigned) i);
  }
  static const char *responses[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi",
    "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
    "HTTP/1.0 200\r\n\r\nbody to EOF",
    "HTTP/1.1 2x0 OK\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof responses / sizeof responses[0]; i++) {
    bool split;
    parse_all (DX_HTTP_PARSE_RESPONSE, NULL, responses[i], strlen (responses[i]), &split);
    OK (split, "response %u: same outcome for every split", (unsigned) i);
  }
}

/* ---- responses ---- */

static void
test_responses (void)
{
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_RESPONSE, NULL);
  size_t used;
  static const char r1[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                           "Content-Length: 8\r\n\r\n{\"id\":1}HTTP/1.1 204 No Content\r\n\r\n";
  const dx_http_message *m = parse_one (p, r1, sizeof r1 - 1, &used, NULL);
  OK (m && m->status == 201 && strcmp (m->reason, "Created") == 0 && m->body_len == 8
          && m->keep_alive,
      "response with Content-Length");
  m = parse_one (p, r1 + used, sizeof r1 - 1 - used, &used, NULL);
  OK (m && m->status == 204 && m->body_len == 0, "pipelined 204 without a body");

  static const char sse[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n"
                            "1d\r\nid: 1\nevent: message\ndata: x\n\r\n";
  dx_http_parser_reset (p);
  dx_http_status st = dx_http_parser_feed (p, sse, sizeof sse - 1, &used);
  m = dx_http_parser_message (p);
  OK (st == DX_HTTP_HEADERS && m && m->chunked && used == sizeof sse - 1 - 35,
      "a streaming response stops at HEADERS; the caller can take over the body");

  dx_http_parser_reset (p);
  st = dx_http_parser_feed (p, "HTTP/1.0 200 OK\r\n\r\nabc", 22, &used);
  OK (st == DX_HTTP_HEADERS, "response without length: HEADERS");
  st = dx_http_parser_feed (p, "abc", 3, &used);
  OK (st == DX_HTTP_NEED_MORE, "body to EOF: reading");
  st = dx_http_parser_finish (p);
  m = dx_http_parser_message (p);
  OK (st == DX_HTTP_DONE && m && m->body_len == 3 && !m->keep_alive, "body ends at EOF (finish)");

  dx_http_parser_reset (p);
  dx_http_parser_set_no_body (p);
  m = parse_one (p, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 40, &used, NULL);
  OK (m && m->body_len == 0 && used == 40, "answer to HEAD has no body");

  dx_http_parser_reset (p);
  m = parse_one (p, "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 48, &used, NULL);
  OK (m && m->body_len == 0, "304 has no body");

  dx_http_parser_reset (p);
  m = parse_one (p, "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", 37, &used, NULL);
  OK (m && m->status == 404 && m->reason[0] == '\0', "empty reason phrase");

  static const char *bad[] = {
    "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n",
    "HTTP/1.1\r\n\r\n",       "HTTX/1.1 200 OK\r\n\r\n",  "HTTP/1.1 200 O\001K\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dx_http_parser_reset (p);
    parse_one (p, bad[i], strlen (bad[i]), &used, &st);
    OK (st == DX_HTTP_ERROR && dx_http_parser_error (p) == DX_HTTP_ERR_MALFORMED,
        "malformed status line %u -> error", (unsigned) i);
  }
  dx_http_parser_reset (p);
  dx_http_limits lim;
  dx_http_limits_default (&lim);
  parse_one (p, "HTTP/1.1 200 OK\r\nContent-Length: 65537\r\n\r\n", 42, &used, &st);
  OK (st == DX_HTTP_ERROR && dx_http_parser_error (p) == DX_HTTP_ERR_BODY_TOO_LARGE,
      "a response body over max_body is refused");
  dx_http_parser_free (p);
}

/* ---- query strings ---- */

static void
test_query (void)
{
  const char *q =
      "since=42&limit=10&wait=30&before=7&nick=al%20ice+x&empty=&flag&big=18446744073709551615";
  uint64_t v = 0;
  OK (dx_http_query_get_u64 (q, "since", &v) == DX_HTTP_QUERY_FOUND && v == 42, "since=42");
  OK (dx_http_query_get_u64 (q, "limit", &v) == DX_HTTP_QUERY_FOUND && v == 10, "limit=10");
  OK (dx_http_query_get_u64 (q, "wait", &v) == DX_HTTP_QUERY_FOUND && v == 30, "wait=30");
  OK (dx_http_query_get_u64 (q, "before", &v) == DX_HTTP_QUERY_FOUND && v == 7, "before=7");
  OK (dx_http_query_get_u64 (q, "big", &v) == DX_HTTP_QUERY_FOUND && v == UINT64_MAX,
      "largest uint64");
  v = 5;
  OK (dx_http_query_get_u64 (q, "missing", &v) == DX_HTTP_QUERY_NOT_FOUND && v == 5,
      "missing key, output untouched");
  OK (dx_http_query_get_u64 (q, "nick", &v) == DX_HTTP_QUERY_INVALID, "text is not a number");
  OK (dx_http_query_get_u64 (q, "empty", &v) == DX_HTTP_QUERY_INVALID,
      "empty value is not a number");
  OK (dx_http_query_get_u64 ("since=-1", "since", &v) == DX_HTTP_QUERY_INVALID, "negative");
  OK (dx_http_query_get_u64 ("since=18446744073709551616", "since", &v) == DX_HTTP_QUERY_INVALID,
      "uint64 overflow");
  OK (dx_http_query_get_u64 ("since=1e3", "since", &v) == DX_HTTP_QUERY_INVALID, "exponent");
  OK (dx_http_query_get_u64 ("since=%34%32", "since", &v) == DX_HTTP_QUERY_FOUND && v == 42,
      "percent-encoded digits");
  OK (dx_http_query_get_u64 ("s%69nce=9", "since", &v) == DX_HTTP_QUERY_FOUND && v == 9,
      "percent-encoded key");
  OK (dx_http_query_get_u64 ("since=1&since=2", "since", &v) == DX_HTTP_QUERY_FOUND && v == 1,
      "first occurrence wins");
  OK (dx_http_query_get_u64 ("", "since", &v) == DX_HTTP_QUERY_NOT_FOUND, "empty query");
  OK (dx_http_query_get_u64 ("&&since=3&", "since", &v) == DX_HTTP_QUERY_FOUND && v == 3,
      "empty pairs skipped");
  char out[32];
  size_t n;
  OK (dx_http_query_get (q, "nick", out, sizeof out, &n) == DX_HTTP_QUERY_FOUND
          && strcmp (out, "al ice x") == 0 && n == 8,
      "%%20 and + decode to spaces");
  OK (dx_http_query_get (q, "flag", out, sizeof out, &n) == DX_HTTP_QUERY_FOUND && n == 0,
      "key without '=' has an empty value");
  OK (dx_http_query_get ("a=%zz", "a", out, sizeof out, &n) == DX_HTTP_QUERY_INVALID, "bad escape");
  OK (dx_http_query_get_u64 ("x=%zz&%zz=1&since=8", "since", &v) == DX_HTTP_QUERY_FOUND && v == 8,
      "malformed pairs under other keys do not matter");
  {
    char *longkey = repeat ('k', 400);
    char qq[512];
    snprintf (qq, sizeof qq, "%s=1&limit=3", longkey);
    OK (dx_http_query_get_u64 (qq, "limit", &v) == DX_HTTP_QUERY_FOUND && v == 3,
        "a very long unrelated key is skipped");
    free (longkey);
  }
  OK (dx_http_query_get ("a=%4", "a", out, sizeof out, &n) == DX_HTTP_QUERY_INVALID,
      "truncated escape");
  OK (dx_http_query_get ("a=x%00y", "a", out, sizeof out, &n) == DX_HTTP_QUERY_INVALID,
      "escape decoding to NUL");
  OK (dx_http_query_get ("a=0123456789", "a", out, 5, &n) == DX_HTTP_QUERY_INVALID,
      "value longer than the output");
  OK (dx_http_percent_decode ("/rooms/a+b%2Fc", 14, false, out, sizeof out, &n)
          && strcmp (out, "/rooms/a+b/c") == 0,
      "path decoding keeps '+'");
  OK (!dx_http_percent_decode ("abc", 3, false, out, 3, &n), "no room for the NUL");
}

/* ---- writers ---- */

static void
test_writers (void)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  OK (dx_http_write_status_line (&b, 200, NULL) && strcmp (b.data, "HTTP/1.1 200 OK\r\n") == 0,
      "status line");
  dx_buffer_reset (&b);
  OK (dx_http_write_status_line (&b, 299, NULL) && strcmp (b.data, "HTTP/1.1 299 Unknown\r\n") == 0,
      "unknown status gets a reason");
  dx_buffer_reset (&b);
  OK (!dx_http_write_status_line (&b, 99, NULL) && b.failed && b.len == 0, "status 99 refused");
  dx_buffer_reset (&b);
  OK (!dx_http_write_header (&b, "X-Evil", "a\r\nSet-Cookie: x") && b.failed && b.len == 0,
      "header injection refused");
  dx_buffer_reset (&b);
  OK (!dx_http_write_header (&b, "Bad Name", "a") && b.failed, "non-token name refused");
  dx_buffer_reset (&b);
  OK (!dx_http_write_request_line (&b, "GET", "/a b") && b.failed, "space in target refused");
  dx_buffer_reset (&b);
  OK (dx_http_write_request_line (&b, "GET", "/x?a=1")
          && strcmp (b.data, "GET /x?a=1 HTTP/1.1\r\n") == 0,
      "request line");
  dx_buffer_reset (&b);
  OK (dx_http_write_date (&b, 784111777)
          && strcmp (b.data, "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n") == 0,
      "RFC 9110 example date");
  dx_buffer_reset (&b);
  OK (dx_http_write_date (&b, 0) && strcmp (b.data, "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n") == 0,
      "the epoch");
  dx_buffer_reset (&b);
  OK (dx_http_write_date (&b, 951782400)
          && strcmp (b.data, "Date: Tue, 29 Feb 2000 00:00:00 GMT\r\n") == 0,
      "a leap day");
  dx_buffer_reset (&b);
  OK (dx_http_write_date (&b, 1763900000)
          && strcmp (b.data, "Date: Sun, 23 Nov 2025 12:13:20 GMT\r\n") == 0,
      "a recent date");

  dx_buffer_reset (&b);
  dx_http_header extra[] = { { "Cache-Control", "no-cache" } };
  OK (dx_http_write_response (&b, 404, "application/json; charset=utf-8", extra, 1, false, "{}", 2),
      "write a response");
  STR_IS (b.data,
          "HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\n"
          "Content-Length: 2\r\nConnection: close\r\nCache-Control: no-cache\r\n\r\n{}",
          "response bytes");
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_RESPONSE, NULL);
  size_t used;
  const dx_http_message *m = parse_one (p, b.data, b.len, &used, NULL);
  OK (m && m->status == 404 && !m->keep_alive && m->body_len == 2 && used == b.len,
      "the parser reads what the writer wrote");
  dx_http_parser_free (p);

  dx_buffer_reset (&b);
  OK (dx_http_write_response (&b, 204, NULL, NULL, 0, true, "ignored", 7)
          && strcmp (b.data, "HTTP/1.1 204 No Content\r\n\r\n") == 0,
      "204 has neither Content-Length nor body");
  dx_buffer_reset (&b);
  OK (dx_http_write_response (&b, 200, "text/plain", NULL, 0, true, "ok", 2)
          && strcmp (b.data, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                             "2\r\n\r\nok")
                 == 0,
      "keep-alive response");
  dx_buffer_reset (&b);
  dx_http_header bad[] = { { "X", "a\nb" } };
  OK (!dx_http_write_response (&b, 200, NULL, bad, 1, true, "", 0) && b.failed && b.len == 0,
      "a response with a bad extra header writes nothing");
  dx_buffer_reset (&b);
  OK (dx_http_write_chunked_head (&b, 200, "text/event-stream", NULL, 0, true)
          && strcmp (b.data, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n")
                 == 0,
      "chunked head");
  dx_buffer_free (&b);
  dx_buffer_init (&b, 10);
  OK (!dx_http_write_response (&b, 200, NULL, NULL, 0, true, "", 0) && b.failed,
      "buffer ceiling reported");
  dx_buffer_free (&b);
  STR_IS (dx_http_status_reason (431), "Request Header Fields Too Large", "reason for 431");

  OK (dx_http_list_has_token ("keep-alive, Upgrade", "upgrade"), "token in a list");
  OK (dx_http_list_has_token (" ,upgrade ,", "UPGRADE"), "token with stray commas");
  OK (!dx_http_list_has_token ("upgrades", "upgrade"), "no prefix match");
  OK (!dx_http_list_has_token (NULL, "upgrade"), "NULL list");
}

int
main (void)
{
  test_simple_get ();
  test_keep_alive ();
  test_post_bodies ();
  test_pipelining ();
  test_upgrade ();
  test_targets ();
  test_errors ();
  test_limits ();
  test_splits ();
  test_responses ();
  test_query ();
  test_writers ();
  return tap_done ();
}
