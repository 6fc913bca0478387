#include "protocol/websocket.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/base64.h"
#include "protocol/sha1.h"
#include "protocol/utf8.h"

bool
dx_ws_close_code_valid (unsigned code)
{
  /* RFC 6455 7.4.1 + the IANA registry: 1004-1006 and 1015 are reserved
     and must never be sent; 1016-2999 are not assigned. */
  if (code >= 1000 && code <= 1003)
    return true;
  if (code >= 1007 && code <= 1014)
    return true;
  return code >= 3000 && code <= 4999;
}

/* ---- handshake ---- */

void
dx_ws_accept_key (const char *key, size_t key_len, char out[DX_WS_ACCEPT_LEN + 1])
{
  uint8_t digest[DX_SHA1_DIGEST_LEN];
  dx_sha1_ctx ctx;
  dx_sha1_init (&ctx);
  dx_sha1_update (&ctx, key, key_len);
  dx_sha1_update (&ctx, DX_WS_GUID, sizeof DX_WS_GUID - 1);
  dx_sha1_final (&ctx, digest);
  dx_base64_encode (digest, sizeof digest, out);
}

static bool
hs_fail (dx_ws_handshake *hs, dx_ws_handshake_result result, const char *message)
{
  hs->result = result;
  hs->message = message;
  return false;
}

static bool
ascii_ieq (const char *a, const char *b)
{
  for (;; a++, b++) {
    char x = (*a >= 'A' && *a <= 'Z') ? (char) (*a + 32) : *a;
    char y = (*b >= 'A' && *b <= 'Z') ? (char) (*b + 32) : *b;
    if (x != y)
      return false;
    if (!x)
      return true;
  }
}

/* True if any field named name lists token. */
static bool
any_field_has_token (const dx_http_message *m, const char *name, const char *token)
{
  for (size_t i = 0; i < m->n_headers; i++) {
    if (ascii_ieq (m->headers[i].name, name) && dx_http_list_has_token (m->headers[i].value, token))
      return true;
  }
  return false;
}

bool
dx_ws_server_handshake (const dx_http_message *req, const char *subprotocol, dx_ws_handshake *hs)
{
  memset (hs, 0, sizeof *hs);
  if (req->method != DX_HTTP_GET)
    return hs_fail (hs, DX_WS_HS_NOT_GET, "a WebSocket handshake must use GET");
  if (req->version_minor < 1)
    return hs_fail (hs, DX_WS_HS_MALFORMED, "a WebSocket handshake needs HTTP/1.1");
  if (!any_field_has_token (req, "Upgrade", "websocket"))
    return hs_fail (hs, DX_WS_HS_MALFORMED, "missing Upgrade: websocket");
  if (!any_field_has_token (req, "Connection", "upgrade"))
    return hs_fail (hs, DX_WS_HS_MALFORMED, "missing Connection: Upgrade");
  const char *key = dx_http_message_header (req, "Sec-WebSocket-Key");
  if (!key)
    return hs_fail (hs, DX_WS_HS_MALFORMED, "missing Sec-WebSocket-Key");
  uint8_t nonce[18];
  size_t nonce_len = 0;
  if (dx_http_message_header_count (req, "Sec-WebSocket-Key") != 1
      || !dx_base64_decode (key, strlen (key), nonce, sizeof nonce, &nonce_len) || nonce_len != 16)
    return hs_fail (hs, DX_WS_HS_MALFORMED, "invalid Sec-WebSocket-Key");
  const char *version = dx_http_message_header (req, "Sec-WebSocket-Version");
  if (!version)
    return hs_fail (hs, DX_WS_HS_MALFORMED, "missing Sec-WebSocket-Version");
  if (strcmp (version, "13") != 0
      || dx_http_message_header_count (req, "Sec-WebSocket-Version") != 1) {
    hs->extra_header_name = "Sec-WebSocket-Version";
    hs->extra_header_value = "13";
    return hs_fail (hs, DX_WS_HS_VERSION_UNSUPPORTED,
                    "unsupported WebSocket version (13 is supported)");
  }
  if (subprotocol && any_field_has_token (req, "Sec-WebSocket-Protocol", subprotocol))
    hs->subprotocol = subprotocol;
  dx_ws_accept_key (key, strlen (key), hs->accept);
  hs->result = DX_WS_HS_ACCEPTED;
  return true;
}

bool
dx_ws_write_handshake_response (dx_buffer *out, const dx_ws_handshake *hs)
{
  if (hs->result != DX_WS_HS_ACCEPTED) {
    out->failed = true;
    return false;
  }
  bool ok = dx_http_write_status_line (out, 101, NULL)
            && dx_http_write_header (out, "Upgrade", "websocket")
            && dx_http_write_header (out, "Connection", "Upgrade")
            && dx_http_write_header (out, "Sec-WebSocket-Accept", hs->accept);
  if (ok && hs->subprotocol)
    ok = dx_http_write_header (out, "Sec-WebSocket-Protocol", hs->subprotocol);
  return ok && dx_http_write_end_headers (out);
}

bool
dx_ws_write_client_handshake (dx_buffer *out, const char *host, const char *target,
                              const uint8_t nonce[16], const char *subprotocol,
                              const dx_http_header *extra, size_t n_extra,
                              char expected_accept[DX_WS_ACCEPT_LEN + 1])
{
  char key[DX_BASE64_ENCODED_LEN (16) + 1];
  size_t key_len = dx_base64_encode (nonce, 16, key);
  bool ok = dx_http_write_request_line (out, "GET", target)
            && dx_http_write_header (out, "Host", host)
            && dx_http_write_header (out, "Upgrade", "websocket")
            && dx_http_write_header (out, "Connection", "Upgrade")
            && dx_http_write_header (out, "Sec-WebSocket-Key", key)
            && dx_http_write_header (out, "Sec-WebSocket-Version", "13");
  if (ok && subprotocol)
    ok = dx_http_write_header (out, "Sec-WebSocket-Protocol", subprotocol);
  for (size_t i = 0; ok && i < n_extra; i++)
    ok = dx_http_write_header (out, extra[i].name, extra[i].value);
  ok = ok && dx_http_write_end_headers (out);
  if (ok)
    dx_ws_accept_key (key, key_len, expected_accept);
  return ok;
}

static bool
why (const char **out, const char *text)
{
  if (out)
    *out = text;
  return false;
}

bool
dx_ws_check_server_handshake (const dx_http_message *resp, const char *expected_accept,
                              const char *offered_subprotocol, const char **why_out)
{
  if (resp->status != 101)
    return why (why_out, "the server did not answer 101 Switching Protocols");
  if (!any_field_has_token (resp, "Upgrade", "websocket"))
    return why (why_out, "missing Upgrade: websocket in the answer");
  if (!any_field_has_token (resp, "Connection", "upgrade"))
    return why (why_out, "missing Connection: Upgrade in the answer");
  const char *accept = dx_http_message_header (resp, "Sec-WebSocket-Accept");
  if (!accept || strcmp (accept, expected_accept) != 0
      || dx_http_message_header_count (resp, "Sec-WebSocket-Accept") != 1)
    return why (why_out, "wrong Sec-WebSocket-Accept");
  const char *proto = dx_http_message_header (resp, "Sec-WebSocket-Protocol");
  if (proto
      && (!offered_subprotocol || strcmp (proto, offered_subprotocol) != 0
          || dx_http_message_header_count (resp, "Sec-WebSocket-Protocol") != 1))
    return why (why_out, "the server chose a subprotocol that was not offered");
  if (dx_http_message_header (resp, "Sec-WebSocket-Extensions"))
    return why (why_out, "the server chose an extension that was not offered");
  return true;
}

/* ---- frame encoding ---- */

size_t
dx_ws_frame_header (uint8_t out[DX_WS_MAX_HEADER], bool fin, dx_ws_opcode opcode,
                    uint64_t payload_len, const uint8_t *mask)
{
  size_t n = 0;
  out[n++] = (uint8_t) ((fin ? 0x80 : 0) | (opcode & 0x0F));
  uint8_t m = mask ? 0x80 : 0;
  if (payload_len < 126) {
    out[n++] = (uint8_t) (m | payload_len);
  } else if (payload_len <= 0xFFFF) {
    out[n++] = (uint8_t) (m | 126);
    out[n++] = (uint8_t) (payload_len >> 8);
    out[n++] = (uint8_t) payload_len;
  } else {
    out[n++] = (uint8_t) (m | 127);
    for (int i = 7; i >= 0; i--)
      out[n++] = (uint8_t) (payload_len >> (8 * i));
  }
  if (mask) {
    memcpy (out + n, mask, 4);
    n += 4;
  }
  return n;
}

size_t
dx_ws_peek_frame_header (const uint8_t *data, size_t len, dx_ws_frame_info *info)
{
  if (len < 2)
    return 0;
  uint8_t len7 = data[1] & 0x7F;
  bool masked = (data[1] & 0x80) != 0;
  size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  size_t need = 2 + ext + (masked ? 4 : 0);
  if (len < need)
    return 0;
  uint64_t n = len7;
  if (ext > 0) {
    n = 0;
    for (size_t i = 0; i < ext; i++)
      n = n << 8 | data[2 + i];
  }
  info->fin = (data[0] & 0x80) != 0;
  info->opcode = (dx_ws_opcode) (data[0] & 0x0F);
  info->masked = masked;
  info->payload_len = n;
  info->header_len = need;
  return need;
}

void
dx_ws_mask (uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
  size_t k = (size_t) (offset & 3);
  size_t i = 0;
  /* Align to the key, then XOR 8 bytes at a time. */
  while (i < len && k != 0) {
    data[i++] ^= mask[k];
    k = (k + 1) & 3;
  }
  uint32_t m32;
  memcpy (&m32, mask, 4);
  uint64_t m64 = (uint64_t) m32 << 32 | m32;
  for (; i + 8 <= len; i += 8) {
    uint64_t v;
    memcpy (&v, data + i, 8);
    v ^= m64;
    memcpy (data + i, &v, 8);
  }
  for (k = 0; i < len; i++, k++)
    data[i] ^= mask[k & 3];
}

bool
dx_ws_encode_frame (dx_buffer *out, bool fin, dx_ws_opcode opcode, const void *payload, size_t len,
                    const uint8_t *mask)
{
  if (opcode >= 8 && (len > DX_WS_MAX_CONTROL_PAYLOAD || !fin))
    return false;
  uint8_t hdr[DX_WS_MAX_HEADER];
  size_t hn = dx_ws_frame_header (hdr, fin, opcode, len, mask);
  if (len > SIZE_MAX / 2 || !dx_buffer_reserve (out, hn + len))
    return false;
  size_t start = out->len;
  dx_buffer_append (out, hdr, hn);
  if (len) {
    dx_buffer_append (out, payload, len);
    if (mask)
      dx_ws_mask ((uint8_t *) out->data + start + hn, len, mask, 0);
  }
  return true;
}

bool
dx_ws_encode_close (dx_buffer *out, unsigned code, const char *reason, size_t reason_len,
                    const uint8_t *mask)
{
  uint8_t payload[DX_WS_MAX_CONTROL_PAYLOAD];
  if (!reason)
    reason_len = 0;
  if (code == 0) {
    if (reason_len)
      return false;
    return dx_ws_encode_frame (out, true, DX_WS_OP_CLOSE, NULL, 0, mask);
  }
  if (!dx_ws_close_code_valid (code) || reason_len > DX_WS_MAX_CONTROL_PAYLOAD - 2
      || (reason_len && !dx_utf8_valid (reason, reason_len)))
    return false;
  payload[0] = (uint8_t) (code >> 8);
  payload[1] = (uint8_t) code;
  if (reason_len)
    memcpy (payload + 2, reason, reason_len);
  return dx_ws_encode_frame (out, true, DX_WS_OP_CLOSE, payload, reason_len + 2, mask);
}

/* ---- decoding ---- */

enum {
  ST_HEADER,  /* reading the frame header */
  ST_PAYLOAD, /* reading the payload */
  ST_FINISHED,
};

struct dx_ws_decoder {
  dx_ws_role role;
  size_t max_message;
  int state;
  uint8_t hdr[DX_WS_MAX_HEADER];
  size_t hdr_len;
  size_t hdr_need;
  /* current frame */
  bool fin;
  uint8_t opcode;
  bool masked;
  uint8_t mask[4];
  uint64_t payload_len;
  uint64_t payload_got;
  /* message being assembled */
  bool in_message;
  bool message_ready; /* the last event was a MESSAGE: clear at next feed */
  uint8_t msg_opcode;
  dx_buffer msg;
  dx_utf8 utf8;
  dx_utf8_status utf8_status; /* after the bytes fed so far */
  /* control frame */
  uint8_t ctrl[DX_WS_MAX_CONTROL_PAYLOAD];
  size_t ctrl_len;
  dx_ws_event ev;
  unsigned close_code;
  const char *error;
};

dx_ws_decoder *
dx_ws_decoder_new (dx_ws_role role, size_t max_message)
{
  dx_ws_decoder *d = calloc (1, sizeof *d);
  if (!d)
    return NULL;
  d->role = role;
  d->max_message = max_message ? max_message : DX_WS_DEFAULT_MAX_MESSAGE;
  if (d->max_message > SIZE_MAX / 4)
    d->max_message = SIZE_MAX / 4;
  d->state = ST_HEADER;
  d->hdr_need = 2;
  dx_buffer_init (&d->msg, d->max_message + 1);
  dx_utf8_init (&d->utf8);
  return d;
}

void
dx_ws_decoder_free (dx_ws_decoder *d)
{
  if (!d)
    return;
  dx_buffer_free (&d->msg);
  free (d);
}

const dx_ws_event *
dx_ws_decoder_event (const dx_ws_decoder *d)
{
  return &d->ev;
}

unsigned
dx_ws_decoder_close_code (const dx_ws_decoder *d)
{
  return d->close_code;
}

const char *
dx_ws_decoder_error_message (const dx_ws_decoder *d)
{
  return d->error;
}

static dx_ws_status
fail (dx_ws_decoder *d, unsigned code, const char *message)
{
  d->state = ST_FINISHED;
  d->close_code = code;
  d->error = message;
  return DX_WS_ERROR;
}

/* The first two header bytes are in: check everything they decide and
   work out how long the rest of the header is. */
static dx_ws_status
check_first_bytes (dx_ws_decoder *d)
{
  uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
  d->fin = (b0 & 0x80) != 0;
  d->opcode = b0 & 0x0F;
  d->masked = (b1 & 0x80) != 0;
  uint8_t len7 = b1 & 0x7F;
  if (b0 & 0x70)
    return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "reserved bits set");
  switch (d->opcode) {
  case DX_WS_OP_CONTINUATION:
    if (!d->in_message)
      return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "continuation frame without a message");
    break;
  case DX_WS_OP_TEXT:
  case DX_WS_OP_BINARY:
    if (d->in_message)
      return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one");
    break;
  case DX_WS_OP_CLOSE:
  case DX_WS_OP_PING:
  case DX_WS_OP_PONG:
    if (!d->fin)
      return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame");
    if (len7 > DX_WS_MAX_CONTROL_PAYLOAD)
      return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "control frame payload too long");
    if (d->opcode == DX_WS_OP_CLOSE && len7 == 1)
      return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte payload");
    break;
  default: return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "unknown opcode");
  }
  if (d->role == DX_WS_ROLE_SERVER && !d->masked)
    return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "unmasked client frame");
  if (d->role == DX_WS_ROLE_CLIENT && d->masked)
    return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "masked server frame");
  d->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (d->masked ? 4 : 0);
  return DX_WS_NEED_MORE;
}

/* The whole header is in. */
static dx_ws_status
header_done (dx_ws_decoder *d)
{
  uint8_t len7 = d->hdr[1] & 0x7F;
  size_t n = 2;
  uint64_t len = len7;
  if (len7 == 126) {
    len = (uint64_t) d->hdr[2] << 8 | d->hdr[3];
    n = 4;
  } else if (len7 == 127) {
    len = 0;
    for (int i = 0; i < 8; i++)
      len = len << 8 | d->hdr[2 + i];
    n = 10;
    if (len >> 63)
      return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "64-bit length with the top bit set");
  }
  if (d->masked)
    memcpy (d->mask, d->hdr + n, 4);
  d->payload_len = len;
  d->payload_got = 0;
  if (d->opcode < 8) {
    size_t have = d->opcode == DX_WS_OP_CONTINUATION ? d->msg.len : 0;
    if (len > d->max_message - have)
      return fail (d, DX_WS_CLOSE_TOO_BIG, "message too big");
    if (d->opcode != DX_WS_OP_CONTINUATION) {
      d->in_message = true;
      d->msg_opcode = d->opcode;
      dx_buffer_reset (&d->msg);
      dx_utf8_init (&d->utf8);
      d->utf8_status = DX_UTF8_ACCEPT;
    }
  } else {
    d->ctrl_len = 0;
  }
  d->state = ST_PAYLOAD;
  return DX_WS_NEED_MORE;
}

static dx_ws_status
control_done (dx_ws_decoder *d)
{
  d->ev.opcode = (dx_ws_opcode) d->opcode;
  d->ev.data = d->ctrl;
  d->ev.len = d->ctrl_len;
  d->ev.close_code = 0;
  if (d->opcode == DX_WS_OP_PING)
    return DX_WS_PING;
  if (d->opcode == DX_WS_OP_PONG)
    return DX_WS_PONG;
  /* close */
  d->ev.close_code = DX_WS_CLOSE_NO_STATUS;
  if (d->ctrl_len >= 2) {
    unsigned code = (unsigned) d->ctrl[0] << 8 | d->ctrl[1];
    if (!dx_ws_close_code_valid (code))
      return fail (d, DX_WS_CLOSE_PROTOCOL_ERROR, "invalid close code");
    if (!dx_utf8_valid (d->ctrl + 2, d->ctrl_len - 2))
      return fail (d, DX_WS_CLOSE_INVALID_PAYLOAD, "close reason is not valid UTF-8");
    d->ev.close_code = code;
    d->ev.data = d->ctrl + 2;
    d->ev.len = d->ctrl_len - 2;
  }
  d->state = ST_FINISHED;
  return DX_WS_CLOSE;
}

static dx_ws_status
frame_done (dx_ws_decoder *d)
{
  d->state = ST_HEADER;
  d->hdr_len = 0;
  d->hdr_need = 2;
  if (d->opcode >= 8)
    return control_done (d);
  if (!d->fin)
    return DX_WS_NEED_MORE;
  if (d->msg_opcode == DX_WS_OP_TEXT && d->utf8_status != DX_UTF8_ACCEPT)
    return fail (d, DX_WS_CLOSE_INVALID_PAYLOAD, "text message is not valid UTF-8");
  d->in_message = false;
  d->message_ready = true;
  d->ev.opcode = (dx_ws_opcode) d->msg_opcode;
  d->ev.data = (const uint8_t *) (d->msg.data ? d->msg.data : "");
  d->ev.len = d->msg.len;
  d->ev.close_code = 0;
  return DX_WS_MESSAGE;
}

/* Length of the leading run of ASCII bytes. */
static size_t
ascii_prefix (const uint8_t *p, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    memcpy (&v, p + i, 8);
    if (v & 0x8080808080808080ull)
      break;
  }
  while (i < n && p[i] < 0x80)
    i++;
  return i;
}

static dx_ws_status
read_payload (dx_ws_decoder *d, const uint8_t *data, size_t len, size_t *used)
{
  uint64_t left = d->payload_len - d->payload_got;
  size_t take = (uint64_t) len < left ? len : (size_t) left;
  uint8_t *dst;
  *used = 0;
  if (take == 0)
    return d->payload_got == d->payload_len ? frame_done (d) : DX_WS_NEED_MORE;
  if (d->opcode >= 8) {
    dst = d->ctrl + d->ctrl_len;
    memcpy (dst, data, take);
    d->ctrl_len += take;
  } else {
    size_t at = d->msg.len;
    if (!dx_buffer_append (&d->msg, data, take))
      return fail (d, DX_WS_CLOSE_TOO_BIG, "message too big");
    dst = (uint8_t *) d->msg.data + at;
  }
  if (d->masked)
    dx_ws_mask (dst, take, d->mask, d->payload_got);
  d->payload_got += take;
  *used = take;
  if (d->opcode < 8 && d->msg_opcode == DX_WS_OP_TEXT) {
    /* At a character boundary a run of ASCII keeps the text valid: skip
       such runs 8 bytes at a time; the validator sees only the rest. */
    size_t i = 0;
    while (i < take && d->utf8_status != DX_UTF8_REJECT) {
      if (d->utf8_status == DX_UTF8_ACCEPT) {
        i += ascii_prefix (dst + i, take - i);
        if (i == take)
          break;
      }
      size_t j = i + 1; /* the run of non-ASCII bytes from i */
      while (j < take && dst[j] >= 0x80)
        j++;
      d->utf8_status = dx_utf8_feed (&d->utf8, dst + i, j - i);
      i = j;
    }
    /* Fail fast at the first impossible byte (RFC 6455 8.1). */
    if (d->utf8_status == DX_UTF8_REJECT)
      return fail (d, DX_WS_CLOSE_INVALID_PAYLOAD, "text message is not valid UTF-8");
  }
  if (d->payload_got == d->payload_len)
    return frame_done (d);
  return DX_WS_NEED_MORE;
}

dx_ws_status
dx_ws_decoder_feed (dx_ws_decoder *d, const uint8_t *data, size_t len, size_t *consumed)
{
  size_t i = 0;
  *consumed = 0;
  if (d->state == ST_FINISHED)
    return DX_WS_FINISHED;
  if (d->message_ready) {
    d->message_ready = false;
    dx_buffer_reset (&d->msg);
  }
  while (i < len || (d->state == ST_PAYLOAD && d->payload_len == 0)) {
    dx_ws_status st = DX_WS_NEED_MORE;
    if (d->state == ST_HEADER) {
      size_t take = d->hdr_need - d->hdr_len;
      if (take > len - i)
        take = len - i;
      memcpy (d->hdr + d->hdr_len, data + i, take);
      d->hdr_len += take;
      i += take;
      if (d->hdr_len == 2 && d->hdr_need == 2) {
        st = check_first_bytes (d);
        if (st == DX_WS_NEED_MORE && d->hdr_need == 2)
          st = header_done (d);
      } else if (d->hdr_len == d->hdr_need) {
        st = header_done (d);
      }
    } else {
      size_t used = 0;
      st = read_payload (d, data + i, len - i, &used);
      i += used;
    }
    if (st != DX_WS_NEED_MORE) {
      *consumed = i;
      return st;
    }
  }
  *consumed = len;
  return DX_WS_NEED_MORE;
}
