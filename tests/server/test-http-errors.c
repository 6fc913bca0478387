/* The answer duplexd gives to each request its HTTP parser refuses
 * (docs/protocol.md §4): status and error word, through the parser with
 * the server's limits. */
#include "server/http-errors.h"

#include "../tap.h"

#include <stdlib.h>
#include <string.h>

/* Feeds a whole request to a parser with the server's limits: why it was
 * refused (DX_HTTP_ERR_NONE if it parsed). */
static dx_http_error
refusal (const char *in, size_t len)
{
  dx_http_limits lim;
  dx_server_http_limits (&lim);
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, &lim);
  size_t pos = 0, used = 0;
  dx_http_status st;
  do {
    st = dx_http_parser_feed (p, in + pos, len - pos, &used);
    pos += used;
  } while (st == DX_HTTP_HEADERS && pos < len);
  dx_http_error e = dx_http_parser_error (p);
  dx_http_parser_free (p);
  return e;
}

static void
expect (const char *name, const char *in, size_t len, int status, const char *code)
{
  dx_http_error_answer a = dx_http_error_answer_for (refusal (in, len));
  OK (a.status == status && strcmp (a.code, code) == 0, "%s -> %d %s (got %d %s)", name, status,
      code, a.status, a.code);
}

#define EXPECT(name, in, status, code) expect (name, in, sizeof in - 1, status, code)

static char *
long_request (const char *head, size_t fill, const char *tail, size_t *len)
{
  size_t h = strlen (head), t = strlen (tail);
  char *s = malloc (h + fill + t + 1);
  memcpy (s, head, h);
  memset (s + h, 'a', fill);
  memcpy (s + h + fill, tail, t + 1);
  *len = h + fill + t;
  return s;
}

int
main (void)
{
  EXPECT ("malformed request line", "GET  / HTTP/1.1\r\n\r\n", 400, "bad_request");
  EXPECT ("obs-fold", "GET / HTTP/1.1\r\nX: 1\r\n continued\r\n\r\n", 400, "bad_request");
  EXPECT ("POST without a length", "POST /x HTTP/1.1\r\n\r\n", 411, "length_required");
  EXPECT ("Content-Length over 64 KiB", "POST /x HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", 413,
          "too_large");
  EXPECT ("Transfer-Encoding gzip", "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
          "not_implemented");
  EXPECT ("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505, "version_not_supported");

  size_t len;
  /* "GET /" + path + " HTTP/1.1": 8192 bytes of request line pass. */
  char *in = long_request ("GET /", 8192 - 14, " HTTP/1.1\r\n\r\n", &len);
  OK (refusal (in, len) == DX_HTTP_ERR_NONE, "a request line of 8 KiB passes");
  free (in);
  in = long_request ("GET /", 8192 - 13, " HTTP/1.1\r\n\r\n", &len);
  expect ("a request line of 8 KiB + 1", in, len, 414, "uri_too_long");
  free (in);
  in = long_request ("GET / HTTP/1.1\r\nX: ", 16384, "\r\n\r\n", &len);
  expect ("a header block over 16 KiB", in, len, 431, "headers_too_large");
  free (in);

  static const struct {
    dx_ws_handshake_result result;
    int status;
    const char *code;
  } ws[] = {
    { DX_WS_HS_NOT_GET, 405, "method_not_allowed" },
    { DX_WS_HS_MALFORMED, 400, "bad_request" },
    { DX_WS_HS_VERSION_UNSUPPORTED, 426, "upgrade_required" },
  };
  for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
    dx_http_error_answer w = dx_ws_handshake_answer (ws[i].result);
    OK (w.status == ws[i].status && strcmp (w.code, ws[i].code) == 0,
        "a refused WebSocket handshake -> %d %s", ws[i].status, ws[i].code);
  }
  OK (dx_ws_handshake_answer (DX_WS_HS_ACCEPTED).status == 101, "an accepted one -> 101");

  dx_http_error_answer none = dx_http_error_answer_for (DX_HTTP_ERR_NO_MEMORY);
  OK (none.status == 400 && strcmp (none.code, "bad_request") == 0,
      "out of memory is answered 400 bad_request");
  return tap_done ();
}
