/* WebSocket: RFC 6455 handshake example and section 5.7 frames, the
 * decoder's every error and close code, and split-at-every-byte. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/websocket.h"
#include "../tap.h"

static const uint8_t MASK[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* ---- handshake ---- */

static bool
handshake (const char *req, dx_ws_handshake *hs)
{
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_REQUEST, NULL);
  size_t used;
  bool ok = false;
  if (dx_http_parser_feed (p, req, strlen (req), &used) == DX_HTTP_DONE)
    ok = dx_ws_server_handshake (dx_http_parser_message (p), "duplex.v1", hs);
  else
    hs->message = NULL;
  dx_http_parser_free (p);
  return ok;
}

#define WS_REQ(extra) "GET /api/v1/ws HTTP/1.1\r\nHost: server.example.com\r\n" extra "\r\n"

static void
expect_refused (const char *name, const char *req, dx_ws_handshake_result result)
{
  dx_ws_handshake hs;
  bool ok = handshake (req, &hs);
  OK (!ok && hs.result == result && hs.message, "%s -> refusal %d (got %d)", name, (int) result,
      (int) hs.result);
}

static void
test_handshake (void)
{
  char accept[DX_WS_ACCEPT_LEN + 1];
  dx_ws_accept_key ("dGhlIHNhbXBsZSBub25jZQ==", 24, accept);
  STR_IS (accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455 accept key example");

  dx_ws_handshake hs;
  const char *good = WS_REQ ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Origin: http://example.com\r\n"
                             "Sec-WebSocket-Protocol: chat, duplex.v1\r\n"
                             "Sec-WebSocket-Version: 13\r\n");
  OK (handshake (good, &hs) && hs.result == DX_WS_HS_ACCEPTED && hs.message == NULL,
      "RFC 6455 1.3 request accepted");
  STR_IS (hs.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "accept value");
  STR_IS (hs.subprotocol, "duplex.v1", "the caller's subprotocol is selected when offered");
  dx_buffer b;
  dx_buffer_init (&b, 0);
  OK (dx_ws_write_handshake_response (&b, &hs), "101 written");
  STR_IS (b.data,
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
          "Sec-WebSocket-Protocol: duplex.v1\r\n\r\n",
          "101 response bytes");
  dx_buffer_free (&b);

  OK (handshake (WS_REQ ("Upgrade: WebSocket\r\nConnection: keep-alive, upgrade\r\n"
                         "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
                         "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Version: 13\r\n"),
                 &hs)
          && hs.subprotocol == NULL,
      "case-insensitive tokens; no subprotocol unless the caller's is offered");
  dx_buffer_init (&b, 0);
  OK (dx_ws_write_handshake_response (&b, &hs) && !strstr (b.data, "Sec-WebSocket-Protocol"),
      "no Sec-WebSocket-Protocol in the 101 then");
  dx_buffer_free (&b);

  expect_refused ("POST",
                  "POST /api/v1/ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Content-Length: 0\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n",
                  DX_WS_HS_NOT_GET);
  expect_refused ("HTTP/1.0",
                  "GET /api/v1/ws HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n",
                  DX_WS_HS_MALFORMED);
  expect_refused ("no Upgrade",
                  WS_REQ ("Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n"),
                  DX_WS_HS_MALFORMED);
  expect_refused ("Upgrade: h2c",
                  WS_REQ ("Upgrade: h2c\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n"),
                  DX_WS_HS_MALFORMED);
  expect_refused ("no Connection: Upgrade",
                  WS_REQ ("Upgrade: websocket\r\nConnection: keep-alive\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n"),
                  DX_WS_HS_MALFORMED);
  expect_refused ("no Sec-WebSocket-Key",
                  WS_REQ ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Version: 13\r\n"),
                  DX_WS_HS_MALFORMED);
  expect_refused ("key of 15 bytes",
                  WS_REQ ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P\r\n"
                          "Sec-WebSocket-Version: 13\r\n"),
                  DX_WS_HS_MALFORMED);
  expect_refused ("key not base64",
                  WS_REQ ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: not-a-valid-key!!!!!!!==\r\n"
                          "Sec-WebSocket-Version: 13\r\n"),
                  DX_WS_HS_MALFORMED);
  expect_refused ("two keys",
                  WS_REQ ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
                          "Sec-WebSocket-Version: 13\r\n"),
                  DX_WS_HS_MALFORMED);
  expect_refused ("no version",
                  WS_REQ ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
                  DX_WS_HS_MALFORMED);
  expect_refused ("version 8",
                  WS_REQ ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 8\r\n"),
                  DX_WS_HS_VERSION_UNSUPPORTED);
  handshake (WS_REQ ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 8\r\n"),
             &hs);
  OK (hs.extra_header_name && strcmp (hs.extra_header_name, "Sec-WebSocket-Version") == 0
          && strcmp (hs.extra_header_value, "13") == 0,
      "426 carries Sec-WebSocket-Version: 13");
  dx_buffer_init (&b, 0);
  OK (!dx_ws_write_handshake_response (&b, &hs), "no 101 for a refused handshake");
  dx_buffer_free (&b);

  /* Client side against the server side. */
  uint8_t nonce[16];
  for (int i = 0; i < 16; i++)
    nonce[i] = (uint8_t) (i + 1);
  char expected[DX_WS_ACCEPT_LEN + 1];
  dx_buffer_init (&b, 0);
  dx_http_header extra[] = { { "Origin", "http://localhost" } };
  OK (dx_ws_write_client_handshake (&b, "127.0.0.1:8080", "/api/v1/ws", nonce, "duplex.v1", extra,
                                    1, expected),
      "client handshake written");
  OK (strstr (b.data, "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n") != NULL,
      "the nonce is base64-encoded in the key");
  OK (handshake (b.data, &hs) && strcmp (hs.accept, expected) == 0,
      "our server accepts our client, and the accept values agree");
  dx_buffer_reset (&b);
  dx_ws_write_handshake_response (&b, &hs);
  dx_http_parser *p = dx_http_parser_new (DX_HTTP_PARSE_RESPONSE, NULL);
  size_t used;
  const char *why = NULL;
  OK (dx_http_parser_feed (p, b.data, b.len, &used) == DX_HTTP_DONE
          && dx_ws_check_server_handshake (dx_http_parser_message (p), expected, "duplex.v1", &why),
      "the client accepts the server's 101");
  OK (!dx_ws_check_server_handshake (dx_http_parser_message (p),
                                     "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "duplex.v1", &why)
          && why,
      "a wrong accept value is refused (%s)", why ? why : "");
  OK (!dx_ws_check_server_handshake (dx_http_parser_message (p), expected, NULL, &why),
      "a subprotocol that was not offered is refused");
  dx_http_parser_reset (p);
  const char *r200 = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  OK (dx_http_parser_feed (p, r200, strlen (r200), &used) == DX_HTTP_DONE
          && !dx_ws_check_server_handshake (dx_http_parser_message (p), expected, NULL, &why),
      "a 200 is not a handshake");
  dx_http_parser_free (p);
  dx_buffer_free (&b);
}

/* ---- frames ---- */

typedef struct {
  char text[8192];
  size_t len;
} log_t;

static void logf_ (log_t *l, const char *fmt, ...)
#if defined(__MINGW32__)
    __attribute__ ((format (gnu_printf, 2, 3)))
#elif defined(__GNUC__)
    __attribute__ ((format (printf, 2, 3)))
#endif
    ;
static void
logf_ (log_t *l, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  if (l->len < sizeof l->text)
    l->len += (size_t) vsnprintf (l->text + l->len, sizeof l->text - l->len, fmt, ap);
  va_end (ap);
}

/* Decode in pieces ending at cuts[]; log each event. */
static void
decode_cuts (dx_ws_role role, size_t max, const uint8_t *in, size_t len, const size_t *cuts,
             size_t n_cuts, log_t *l)
{
  dx_ws_decoder *d = dx_ws_decoder_new (role, max);
  size_t pos = 0;
  bool finished = false;
  l->len = 0;
  l->text[0] = '\0';
  for (size_t k = 0; k <= n_cuts && !finished; k++) {
    size_t end = k < n_cuts ? cuts[k] : len;
    while (!finished) {
      size_t used = 0;
      dx_ws_status st = dx_ws_decoder_feed (d, in + pos, end - pos, &used);
      pos += used;
      const dx_ws_event *e = dx_ws_decoder_event (d);
      if (st == DX_WS_NEED_MORE)
        break;
      switch (st) {
      case DX_WS_MESSAGE:
        logf_ (l, "%s(%u:%.*s)", e->opcode == DX_WS_OP_TEXT ? "T" : "B", (unsigned) e->len,
               (int) (e->len > 40 ? 40 : e->len), (const char *) e->data);
        break;
      case DX_WS_PING:
      case DX_WS_PONG:
        logf_ (l, "%s(%.*s)", st == DX_WS_PING ? "PING" : "PONG", (int) e->len,
               (const char *) e->data);
        break;
      case DX_WS_CLOSE:
        logf_ (l, "CLOSE(%u,%.*s)@%u", e->close_code, (int) e->len, (const char *) e->data,
               (unsigned) pos);
        finished = true;
        break;
      case DX_WS_ERROR:
        logf_ (l, "ERROR(%u)", dx_ws_decoder_close_code (d));
        finished = true;
        break;
      default: logf_ (l, "?"); finished = true;
      }
    }
  }
  dx_ws_decoder_free (d);
}

static bool
decode_check (const char *name, dx_ws_role role, size_t max, const uint8_t *in, size_t len,
              const char *want)
{
  log_t whole, other;
  decode_cuts (role, max, in, len, NULL, 0, &whole);
  bool ok = strcmp (whole.text, want) == 0;
  if (!OK (ok, "%s", name))
    printf ("#   got  %s\n#   want %s\n", whole.text, want);
  bool split = true;
  if (len <= 2048) {
    for (size_t cut = 0; cut <= len && split; cut++) {
      decode_cuts (role, max, in, len, &cut, 1, &other);
      if (strcmp (other.text, whole.text) != 0) {
        printf ("# split at %zu: %s\n", cut, other.text);
        split = false;
      }
    }
  }
  size_t *cuts = malloc ((len + 1) * sizeof *cuts);
  for (size_t i = 0; i <= len; i++)
    cuts[i] = i;
  decode_cuts (role, max, in, len, cuts, len + 1, &other);
  free (cuts);
  if (strcmp (other.text, whole.text) != 0) {
    printf ("# byte by byte: %s\n", other.text);
    split = false;
  }
  OK (split, "%s: same events for every split", name);
  return ok && split;
}

/* Append a masked (client) frame. */
static void
cframe (dx_buffer *b, bool fin, dx_ws_opcode op, const void *data, size_t len)
{
  uint8_t hdr[DX_WS_MAX_HEADER];
  size_t hn = dx_ws_frame_header (hdr, fin, op, len, MASK);
  dx_buffer_append (b, hdr, hn);
  size_t at = b->len;
  dx_buffer_append (b, data, len);
  dx_ws_mask ((uint8_t *) b->data + at, len, MASK, 0);
}

static void
test_rfc_examples (void)
{
  static const uint8_t hello_unmasked[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
  static const uint8_t hello_masked[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                          0x7f, 0x9f, 0x4d, 0x51, 0x58 };
  static const uint8_t fragmented[] = { 0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f };
  static const uint8_t ping[] = { 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
  static const uint8_t pong_masked[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                         0x7f, 0x9f, 0x4d, 0x51, 0x58 };
  decode_check ("RFC 6455 5.7 unmasked text", DX_WS_ROLE_CLIENT, 0, hello_unmasked,
                sizeof hello_unmasked, "T(5:Hello)");
  decode_check ("RFC 6455 5.7 masked text", DX_WS_ROLE_SERVER, 0, hello_masked, sizeof hello_masked,
                "T(5:Hello)");
  decode_check ("RFC 6455 5.7 fragmented text", DX_WS_ROLE_CLIENT, 0, fragmented, sizeof fragmented,
                "T(5:Hello)");
  decode_check ("RFC 6455 5.7 unmasked ping", DX_WS_ROLE_CLIENT, 0, ping, sizeof ping,
                "PING(Hello)");
  decode_check ("RFC 6455 5.7 masked pong", DX_WS_ROLE_SERVER, 0, pong_masked, sizeof pong_masked,
                "PONG(Hello)");

  dx_buffer b;
  dx_buffer_init (&b, 0);
  dx_ws_encode_frame (&b, true, DX_WS_OP_TEXT, "Hello", 5, NULL);
  OK (b.len == sizeof hello_unmasked && memcmp (b.data, hello_unmasked, b.len) == 0,
      "encoder: unmasked text example");
  dx_buffer_reset (&b);
  dx_ws_encode_frame (&b, true, DX_WS_OP_TEXT, "Hello", 5, MASK);
  OK (b.len == sizeof hello_masked && memcmp (b.data, hello_masked, b.len) == 0,
      "encoder: masked text example");
  dx_buffer_reset (&b);
  dx_ws_encode_frame (&b, false, DX_WS_OP_TEXT, "Hel", 3, NULL);
  dx_ws_encode_frame (&b, true, DX_WS_OP_CONTINUATION, "lo", 2, NULL);
  OK (b.len == sizeof fragmented && memcmp (b.data, fragmented, b.len) == 0,
      "encoder: fragmented example");
  dx_buffer_reset (&b);
  dx_ws_encode_frame (&b, true, DX_WS_OP_PING, "Hello", 5, NULL);
  OK (b.len == sizeof ping && memcmp (b.data, ping, b.len) == 0, "encoder: ping example");
  dx_buffer_reset (&b);
  dx_ws_encode_frame (&b, true, DX_WS_OP_PONG, "Hello", 5, MASK);
  OK (b.len == sizeof pong_masked && memcmp (b.data, pong_masked, b.len) == 0,
      "encoder: masked pong example");

  /* 256 bytes: 16-bit length; 64 KiB: 64-bit length. */
  uint8_t *big = malloc (65536);
  memset (big, 0xAB, 65536);
  dx_buffer_reset (&b);
  dx_ws_encode_frame (&b, true, DX_WS_OP_BINARY, big, 256, NULL);
  OK (b.len == 4 + 256 && memcmp (b.data, "\x82\x7E\x01\x00", 4) == 0,
      "encoder: 256-byte binary uses a 16-bit length");
  log_t l;
  decode_cuts (DX_WS_ROLE_CLIENT, 0, (const uint8_t *) b.data, b.len, NULL, 0, &l);
  OK (strncmp (l.text, "B(256:", 6) == 0, "decoder: 256-byte binary message");
  dx_buffer_reset (&b);
  dx_ws_encode_frame (&b, true, DX_WS_OP_BINARY, big, 65536, NULL);
  OK (b.len == 10 + 65536 && memcmp (b.data, "\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10) == 0,
      "encoder: 64 KiB binary uses a 64-bit length");
  decode_cuts (DX_WS_ROLE_CLIENT, 65536, (const uint8_t *) b.data, b.len, NULL, 0, &l);
  OK (strncmp (l.text, "B(65536:", 8) == 0, "decoder: 64 KiB binary with max_message 64 KiB");
  decode_cuts (DX_WS_ROLE_CLIENT, 0, (const uint8_t *) b.data, b.len, NULL, 0, &l);
  STR_IS (l.text, "ERROR(1009)", "64 KiB over the Duplex 16 KiB limit -> 1009");
  uint8_t hdr[DX_WS_MAX_HEADER];
  OK (dx_ws_frame_header (hdr, true, DX_WS_OP_TEXT, 125, NULL) == 2
          && dx_ws_frame_header (hdr, true, DX_WS_OP_TEXT, 126, NULL) == 4
          && dx_ws_frame_header (hdr, true, DX_WS_OP_TEXT, 65535, NULL) == 4
          && dx_ws_frame_header (hdr, true, DX_WS_OP_TEXT, 65536, MASK) == 14,
      "header sizes at the length boundaries");
  free (big);
  dx_buffer_free (&b);
}

static void
test_decoder (void)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);

  /* A fragmented text message with control frames in between, a UTF-8
     character split across fragments, then a close. */
  cframe (&b, false, DX_WS_OP_TEXT, "{\"type\":", 8);
  cframe (&b, true, DX_WS_OP_PING, "p1", 2);
  cframe (&b, false, DX_WS_OP_CONTINUATION, "\"x\xE2\x82", 4);
  cframe (&b, true, DX_WS_OP_PONG, "", 0);
  cframe (&b, true, DX_WS_OP_CONTINUATION, "\xAC\"}", 3);
  cframe (&b, true, DX_WS_OP_TEXT, "", 0);
  cframe (&b, true, DX_WS_OP_BINARY, "\x00\x01", 2);
  uint8_t close_payload[] = { 0x03, 0xE8, 'b', 'y', 'e' };
  cframe (&b, true, DX_WS_OP_CLOSE, close_payload, sizeof close_payload);
  cframe (&b, true, DX_WS_OP_TEXT, "after", 5);
  decode_check ("fragments, interleaved control frames, close", DX_WS_ROLE_SERVER, 0,
                (const uint8_t *) b.data, b.len,
                "PING(p1)PONG()T(15:{\"type\":\"x\xE2\x82\xAC\"})T(0:)B(2:)CLOSE(1000,bye)@"
                "72");
  {
    dx_ws_decoder *d = dx_ws_decoder_new (DX_WS_ROLE_SERVER, 0);
    size_t pos = 0, used;
    dx_ws_status st;
    while ((st = dx_ws_decoder_feed (d, (const uint8_t *) b.data + pos, b.len - pos, &used))
           != DX_WS_CLOSE)
      pos += used;
    pos += used;
    OK (pos == b.len - 11, "the bytes after the close frame are not consumed");
    OK (dx_ws_decoder_feed (d, (const uint8_t *) b.data + pos, b.len - pos, &used) == DX_WS_FINISHED
            && used == 0,
        "after CLOSE the decoder is finished");
    dx_ws_decoder_free (d);
  }

  struct {
    const char *name;
    const char *bytes;
    size_t len;
    dx_ws_role role;
    const char *want;
  } errs[] = {
    { "unmasked client frame", "\x81\x02hi", 4, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "masked server frame", "\x81\x82\0\0\0\0hi", 8, DX_WS_ROLE_CLIENT, "ERROR(1002)" },
    { "RSV1 set", "\xC1\x80\0\0\0\0", 6, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "RSV3 set", "\x91\x80\0\0\0\0", 6, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "opcode 3", "\x83\x80\0\0\0\0", 6, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "opcode 0xB", "\x8B\x80\0\0\0\0", 6, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "fragmented ping", "\x09\x80\0\0\0\0", 6, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "ping of 126 bytes", "\x89\xFE\x00\x7E", 4, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "continuation without a message", "\x80\x80\0\0\0\0", 6, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "text inside a fragmented message", "\x01\x80\0\0\0\0\x81\x80\0\0\0\0", 12, DX_WS_ROLE_SERVER,
      "ERROR(1002)" },
    { "64-bit length with the top bit", "\x82\xFF\x80\0\0\0\0\0\0\0\0\0\0\0", 14, DX_WS_ROLE_SERVER,
      "ERROR(1002)" },
    { "close with a 1-byte payload", "\x88\x81\0\0\0\0\x03", 7, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "close code 1005", "\x88\x82\0\0\0\0\x03\xED", 8, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "close code 1006", "\x88\x82\0\0\0\0\x03\xEE", 8, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "close code 1004", "\x88\x82\0\0\0\0\x03\xEC", 8, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "close code 999", "\x88\x82\0\0\0\0\x03\xE7", 8, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "close code 1015", "\x88\x82\0\0\0\0\x03\xF7", 8, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "close code 2999", "\x88\x82\0\0\0\0\x0B\xB7", 8, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "close code 5000", "\x88\x82\0\0\0\0\x13\x88", 8, DX_WS_ROLE_SERVER, "ERROR(1002)" },
    { "close code 3000", "\x88\x82\0\0\0\0\x0B\xB8", 8, DX_WS_ROLE_SERVER, "CLOSE(3000,)@8" },
    { "close code 4999", "\x88\x82\0\0\0\0\x13\x87", 8, DX_WS_ROLE_SERVER, "CLOSE(4999,)@8" },
    { "close code 1014", "\x88\x82\0\0\0\0\x03\xF6", 8, DX_WS_ROLE_SERVER, "CLOSE(1014,)@8" },
    { "empty close", "\x88\x80\0\0\0\0", 6, DX_WS_ROLE_SERVER, "CLOSE(1005,)@6" },
    { "close reason not UTF-8", "\x88\x83\0\0\0\0\x03\xE8\xFF", 9, DX_WS_ROLE_SERVER,
      "ERROR(1007)" },
    { "text not UTF-8", "\x81\x82\0\0\0\0\xC0\xAF", 8, DX_WS_ROLE_SERVER, "ERROR(1007)" },
    { "text with a surrogate", "\x81\x83\0\0\0\0\xED\xA0\x80", 9, DX_WS_ROLE_SERVER,
      "ERROR(1007)" },
    { "text ending inside a character", "\x81\x82\0\0\0\0\xE2\x82", 8, DX_WS_ROLE_SERVER,
      "ERROR(1007)" },
    { "fragmented text ending inside a character", "\x01\x81\0\0\0\0\xE2\x80\x81\0\0\0\0\x82", 14,
      DX_WS_ROLE_SERVER, "ERROR(1007)" },
    { "invalid UTF-8 fails fast, before the frame ends", "\x81\x8A\0\0\0\0\xFF", 7,
      DX_WS_ROLE_SERVER, "ERROR(1007)" },
    { "binary is not checked for UTF-8", "\x82\x81\0\0\0\0\xFF", 7, DX_WS_ROLE_SERVER,
      "B(1:\xFF)" },
    { "frame over 16 KiB decided from the header", "\x81\xFE\x40\x01\0\0\0\0", 8, DX_WS_ROLE_SERVER,
      "ERROR(1009)" },
    { "64-bit length over the limit", "\x82\xFF\0\0\0\x01\0\0\0\0\0\0\0\0", 14, DX_WS_ROLE_SERVER,
      "ERROR(1009)" },
  };
  for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
    decode_check (errs[i].name, errs[i].role, 0, (const uint8_t *) errs[i].bytes, errs[i].len,
                  errs[i].want);

  /* Size limit: exactly 16 KiB passes, one more byte across fragments fails. */
  char *text = malloc (16385);
  memset (text, 'a', 16385);
  dx_buffer_reset (&b);
  cframe (&b, false, DX_WS_OP_TEXT, text, 8192);
  cframe (&b, true, DX_WS_OP_CONTINUATION, text, 8192);
  decode_check ("a 16 KiB message in two fragments", DX_WS_ROLE_SERVER, 0, (const uint8_t *) b.data,
                b.len, "T(16384:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)");
  dx_buffer_reset (&b);
  cframe (&b, false, DX_WS_OP_TEXT, text, 8192);
  cframe (&b, true, DX_WS_OP_PING, "", 0);
  cframe (&b, true, DX_WS_OP_CONTINUATION, text, 8193);
  decode_check ("16 KiB + 1 across fragments -> 1009", DX_WS_ROLE_SERVER, 0,
                (const uint8_t *) b.data, b.len, "PING()ERROR(1009)");
  dx_buffer_reset (&b);
  cframe (&b, true, DX_WS_OP_TEXT, text, 10);
  cframe (&b, true, DX_WS_OP_TEXT, text, 10);
  decode_check ("custom max_message applies per message", DX_WS_ROLE_SERVER, 10,
                (const uint8_t *) b.data, b.len, "T(10:aaaaaaaaaa)T(10:aaaaaaaaaa)");
  free (text);

  /* Many small frames, split at every byte. */
  dx_buffer_reset (&b);
  for (int i = 0; i < 20; i++) {
    char msg[32];
    int n = snprintf (msg, sizeof msg, "{\"n\":%d}", i);
    if (i % 3 == 0) {
      cframe (&b, false, DX_WS_OP_TEXT, msg, 3);
      cframe (&b, true, DX_WS_OP_CONTINUATION, msg + 3, (size_t) n - 3);
    } else {
      cframe (&b, true, DX_WS_OP_TEXT, msg, (size_t) n);
    }
  }
  log_t l;
  decode_cuts (DX_WS_ROLE_SERVER, 0, (const uint8_t *) b.data, b.len, NULL, 0, &l);
  decode_check ("twenty messages", DX_WS_ROLE_SERVER, 0, (const uint8_t *) b.data, b.len, l.text);
  OK (strstr (l.text, "T(8:{\"n\":19})") != NULL, "the last of twenty messages");
  dx_buffer_free (&b);
}

static void
test_encoder (void)
{
  dx_buffer b;
  dx_buffer_init (&b, 0);
  OK (dx_ws_encode_close (&b, 1000, "bye", 3, NULL) && b.len == 7
          && memcmp (b.data,
                     "\x88\x05\x03\xE8"
                     "bye",
                     7)
                 == 0,
      "close frame with code and reason");
  dx_buffer_reset (&b);
  OK (dx_ws_encode_close (&b, 0, NULL, 0, NULL) && b.len == 2
          && memcmp (b.data, "\x88\x00", 2) == 0,
      "empty close frame");
  dx_buffer_reset (&b);
  OK (dx_ws_encode_close (&b, 1009, NULL, 0, MASK) && b.len == 8, "masked close frame");
  log_t l;
  decode_cuts (DX_WS_ROLE_SERVER, 0, (const uint8_t *) b.data, b.len, NULL, 0, &l);
  STR_IS (l.text, "CLOSE(1009,)@8", "the decoder reads the masked close");
  dx_buffer_reset (&b);
  OK (!dx_ws_encode_close (&b, 1005, NULL, 0, NULL) && b.len == 0, "1005 may not be sent");
  OK (!dx_ws_encode_close (&b, 0, "x", 1, NULL), "a reason needs a code");
  char reason[124];
  memset (reason, 'r', sizeof reason);
  OK (!dx_ws_encode_close (&b, 1000, reason, 124, NULL), "reason over 123 bytes refused");
  OK (dx_ws_encode_close (&b, 1000, reason, 123, NULL) && b.len == 127,
      "reason of 123 bytes accepted");
  dx_buffer_reset (&b);
  OK (!dx_ws_encode_close (&b, 1000, "\xFF", 1, NULL), "reason not UTF-8 refused");
  uint8_t big[126] = { 0 };
  OK (!dx_ws_encode_frame (&b, true, DX_WS_OP_PING, big, 126, NULL) && b.len == 0,
      "ping over 125 bytes refused");
  OK (!dx_ws_encode_frame (&b, false, DX_WS_OP_PING, big, 1, NULL), "fragmented ping refused");
  dx_buffer_free (&b);
  dx_buffer_init (&b, 4);
  OK (!dx_ws_encode_frame (&b, true, DX_WS_OP_TEXT, "Hello", 5, NULL) && b.failed,
      "buffer ceiling reported");
  dx_buffer_free (&b);

  /* Piecewise masking equals masking at once. */
  uint8_t a[100], c[100];
  for (int i = 0; i < 100; i++)
    a[i] = c[i] = (uint8_t) (i * 7);
  dx_ws_mask (a, 100, MASK, 0);
  dx_ws_mask (c, 3, MASK, 0);
  dx_ws_mask (c + 3, 50, MASK, 3);
  dx_ws_mask (c + 53, 47, MASK, 53);
  OK (memcmp (a, c, 100) == 0, "masking piecewise with offsets equals masking at once");
  dx_ws_mask (a, 100, MASK, 0);
  bool back = true;
  for (int i = 0; i < 100; i++)
    back = back && a[i] == (uint8_t) (i * 7);
  OK (back, "masking twice unmasks");

  OK (dx_ws_close_code_valid (1000) && dx_ws_close_code_valid (1003)
          && dx_ws_close_code_valid (1007) && dx_ws_close_code_valid (1011)
          && !dx_ws_close_code_valid (1004) && !dx_ws_close_code_valid (1005)
          && !dx_ws_close_code_valid (1006) && !dx_ws_close_code_valid (1015)
          && !dx_ws_close_code_valid (0) && !dx_ws_close_code_valid (65535),
      "close code validity (RFC 6455 7.4)");
}

/* Peeking at frame headers: lengths of 7, 16 and 64 bits, masked or not,
 * and "need more" for every cut inside a header. */
static void
test_peek (void)
{
  static const struct {
    uint64_t len;
    bool masked;
    size_t header;
  } cases[] = {
    { 0, false, 2 }, { 125, false, 2 }, { 126, true, 8 }, { 65535, false, 4 }, { 65536, true, 14 }
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t hdr[DX_WS_MAX_HEADER];
    size_t n = dx_ws_frame_header (hdr, i % 2 == 0, DX_WS_OP_TEXT, cases[i].len,
                                   cases[i].masked ? MASK : NULL);
    dx_ws_frame_info info;
    bool short_ok = true;
    for (size_t cut = 0; cut < n; cut++)
      short_ok = short_ok && dx_ws_peek_frame_header (hdr, cut, &info) == 0;
    size_t got = dx_ws_peek_frame_header (hdr, n, &info);
    OK (short_ok && got == cases[i].header && n == got && info.header_len == got
            && info.payload_len == cases[i].len && info.masked == cases[i].masked
            && info.fin == (i % 2 == 0) && info.opcode == DX_WS_OP_TEXT,
        "peek: payload %llu %s: header %zu bytes", (unsigned long long) cases[i].len,
        cases[i].masked ? "masked" : "unmasked", cases[i].header);
  }
  const uint8_t ping[] = { 0x89, 0x00, 0x81 };
  dx_ws_frame_info info;
  OK (dx_ws_peek_frame_header (ping, sizeof ping, &info) == 2 && info.opcode == DX_WS_OP_PING
          && info.fin && info.payload_len == 0,
      "peek: a ping header followed by more bytes");
}

int
main (void)
{
  test_peek ();
  test_handshake ();
  test_rfc_examples ();
  test_decoder ();
  test_encoder ();
  return tap_done ();
}
