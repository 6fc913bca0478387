/* libFuzzer target: the JSON reader, writer and the chat codec.
 *
 * For any input:
 *  1. dx_json_validate and a generic walk (peek + the typed readers) must
 *     agree: both succeed, or both fail with the same code at the same
 *     byte offset.
 *  2. dx_msg_decode in each direction (and every HTTP body decoder): where
 *     decoding succeeds, encoding must succeed, and decoding that output
 *     must succeed, give an equal value, and re-encode to the same bytes.
 *  3. The writer: valid UTF-8 written as a JSON string reads back equal.
 * A broken property calls abort(), which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/json.h"
#include "protocol/message.h"
#include "protocol/utf8.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      abort ();                                                                                    \
  } while (0)

/* Decoded strings up to the default max_string (65536) must fit. */
static char strbuf[65536 + 1];

static bool
walk (const char *text, size_t len, dx_json_error *err)
{
  dx_json_reader r;
  dx_json_reader_init (&r, text, len, NULL);
  /* A stack of "what to do next" mirrors the reader's own. */
  bool ok = true;
  do {
    /* At a value position: read one value. */
    dx_json_type t = dx_json_peek (&r);
    switch (t) {
    case DX_JSON_NONE: ok = false; break;
    case DX_JSON_NULL: ok = dx_json_read_null (&r); break;
    case DX_JSON_TRUE:
    case DX_JSON_FALSE: {
      bool b;
      ok = dx_json_read_bool (&r, &b) && b == (t == DX_JSON_TRUE);
      break;
    }
    case DX_JSON_NUMBER: {
      double d;
      ok = dx_json_read_double (&r, &d);
      break;
    }
    case DX_JSON_STRING: {
      size_t n;
      bool nul;
      ok = dx_json_read_string (&r, strbuf, sizeof strbuf, &n, &nul);
      if (ok)
        CHECK (dx_utf8_valid (strbuf, n) && (nul == (memchr (strbuf, 0, n) != NULL)));
      break;
    }
    case DX_JSON_ARRAY: ok = dx_json_array_begin (&r); break;
    case DX_JSON_OBJECT: ok = dx_json_object_begin (&r); break;
    }
    /* Then close containers / move to the next member or element. */
    while (ok && r.depth > 0) {
      bool object = (r.kinds[(r.depth - 1) / 8] >> ((r.depth - 1) % 8)) & 1;
      char key[40];
      size_t klen;
      int k = object ? dx_json_object_next (&r, key, sizeof key, &klen) : dx_json_array_next (&r);
      if (k < 0)
        ok = false;
      else if (k == 1)
        break; /* a value follows */
    }
  } while (ok && r.depth > 0);
  ok = ok && dx_json_finish (&r);
  *err = r.error;
  return ok;
}

static bool
str_eq (const char *a, const char *b)
{
  return strcmp (a, b) == 0;
}

/* The fields that type m->type carries (message.h) are equal. */
static bool
msg_equal (const dx_msg *a, const dx_msg *b)
{
  if (a->type != b->type)
    return false;
  bool cid = a->has_cid == b->has_cid && (!a->has_cid || str_eq (a->cid, b->cid));
  bool t = a->has_t == b->has_t
           && (!a->has_t || (a->t_len == b->t_len && memcmp (a->t, b->t, a->t_len) == 0));
  bool text = a->text_len == b->text_len && memcmp (a->text, b->text, a->text_len) == 0;
  switch (a->type) {
  case DX_MSG_HELLO:
    return a->has_nick == b->has_nick && a->has_token == b->has_token
           && (!a->has_nick || str_eq (a->nick, b->nick))
           && (!a->has_token || str_eq (a->token, b->token)) && a->has_password == b->has_password
           && (!a->has_password || str_eq (a->password, b->password));
  case DX_MSG_JOIN:
    return str_eq (a->room, b->room) && a->has_since == b->has_since
           && (!a->has_since || a->since == b->since);
  case DX_MSG_LEAVE:
  case DX_MSG_LEFT: return str_eq (a->room, b->room);
  case DX_MSG_SEND: return str_eq (a->room, b->room) && text && cid;
  case DX_MSG_PING: return t;
  case DX_MSG_WELCOME:
    return str_eq (a->nick, b->nick) && str_eq (a->token, b->token) && str_eq (a->server, b->server)
           && str_eq (a->epoch, b->epoch);
  case DX_MSG_JOINED:
    return str_eq (a->room, b->room) && a->last_id == b->last_id && str_eq (a->epoch, b->epoch);
  case DX_MSG_ACK: return str_eq (a->room, b->room) && a->id == b->id && a->ts == b->ts && cid;
  case DX_MSG_PONG: return t && a->ts == b->ts;
  case DX_MSG_MESSAGE:
    return str_eq (a->room, b->room) && a->id == b->id && str_eq (a->from, b->from) && text
           && a->ts == b->ts && cid;
  case DX_MSG_PRESENCE:
    return str_eq (a->room, b->room) && str_eq (a->nick, b->nick) && a->joined == b->joined;
  case DX_MSG_ERROR: return str_eq (a->code, b->code) && text;
  case DX_MSG_NONE: break;
  }
  return false;
}

static dx_msg m1, m2;

static void
check_msg (const char *text, size_t len, dx_msg_dir dir)
{
  dx_msg_error err;
  if (!dx_msg_decode (text, len, dir, &m1, &err)) {
    CHECK (err.code && (str_eq (err.code, "bad_request") || str_eq (err.code, "too_large")));
    CHECK (memchr (err.message, 0, sizeof err.message) && err.message[0]);
    return;
  }
  dx_buffer b1, b2;
  dx_buffer_init (&b1, 0);
  dx_buffer_init (&b2, 0);
  CHECK (dx_msg_encode (&b1, &m1));
  CHECK (b1.len <= DX_MSG_ENCODED_MAX && !memchr (b1.data, '\n', b1.len));
  CHECK (dx_json_validate (b1.data, b1.len, NULL, NULL));
  if (dir == DX_MSG_FROM_CLIENT && b1.len > DX_LINE_MAX) {
    /* raw DEL / escapes expanded past a client's line limit */
    CHECK (!dx_msg_decode (b1.data, b1.len, dir, &m2, &err) && str_eq (err.code, "too_large"));
    dx_buffer_free (&b1);
    return;
  }
  CHECK (dx_msg_decode (b1.data, b1.len, dir, &m2, &err));
  CHECK (msg_equal (&m1, &m2));
  CHECK (dx_msg_encode (&b2, &m2));
  CHECK (b1.len == b2.len && memcmp (b1.data, b2.data, b1.len) == 0);
  dx_buffer_free (&b1);
  dx_buffer_free (&b2);
}

static bool
any_msg (const dx_msg *m, void *user)
{
  (void) user;
  return m->type == DX_MSG_MESSAGE;
}

static bool
any_room (const char *name, uint64_t last_id, uint64_t online, void *user)
{
  (void) last_id;
  (void) online;
  (void) user;
  return dx_room_valid (name, strlen (name));
}

static void
check_http_bodies (const char *text, size_t len)
{
  dx_msg_error err;
  dx_buffer b;
  dx_buffer_init (&b, 0);

  dx_session_request sr, sr2;
  if (dx_decode_session_request (text, len, &sr, &err)) {
    CHECK (dx_encode_session_request (&b, sr.nick, sr.has_password ? sr.password : NULL));
    CHECK (dx_decode_session_request (b.data, b.len, &sr2, &err));
    CHECK (str_eq (sr.nick, sr2.nick) && sr.has_password == sr2.has_password
           && str_eq (sr.password, sr2.password));
  }
  dx_buffer_reset (&b);
  static dx_post_body pb, pb2;
  if (dx_decode_post_body (text, len, &pb, &err)) {
    CHECK (dx_encode_post_body (&b, pb.text, pb.text_len, pb.has_cid ? pb.cid : NULL));
    CHECK (dx_decode_post_body (b.data, b.len, &pb2, &err));
    CHECK (pb.text_len == pb2.text_len && memcmp (pb.text, pb2.text, pb.text_len) == 0
           && pb.has_cid == pb2.has_cid && str_eq (pb.cid, pb2.cid));
  }
  dx_buffer_reset (&b);
  char token[DX_TOKEN_MAX + 1], nick[DX_NICK_MAX + 1];
  if (dx_decode_session_answer (text, len, token, nick, &err)) {
    char token2[DX_TOKEN_MAX + 1], nick2[DX_NICK_MAX + 1];
    CHECK (dx_encode_session_answer (&b, token, nick));
    CHECK (dx_decode_session_answer (b.data, b.len, token2, nick2, &err));
    CHECK (str_eq (token, token2) && str_eq (nick, nick2));
  }
  dx_buffer_reset (&b);
  uint64_t id, ts, id2, ts2;
  if (dx_decode_post_answer (text, len, &id, &ts, &err)) {
    CHECK (dx_encode_post_answer (&b, id, ts));
    CHECK (dx_decode_post_answer (b.data, b.len, &id2, &ts2, &err) && id == id2 && ts == ts2);
  }
  dx_buffer_reset (&b);
  if (dx_decode_time (text, len, &ts, &err)) {
    CHECK (dx_encode_time (&b, ts));
    CHECK (dx_decode_time (b.data, b.len, &ts2, &err) && ts == ts2);
  }
  dx_buffer_reset (&b);
  char code[DX_CODE_MAX + 1], message[DX_ERROR_TEXT_MAX + 1];
  if (dx_decode_http_error (text, len, code, message, &err)) {
    char code2[DX_CODE_MAX + 1], message2[DX_ERROR_TEXT_MAX + 1];
    CHECK (dx_encode_http_error (&b, code, message));
    CHECK (dx_decode_http_error (b.data, b.len, code2, message2, &err));
    CHECK (str_eq (code, code2) && str_eq (message, message2));
  }
  dx_info info;
  if (dx_decode_info (text, len, &info, &err))
    CHECK (info.server[0] == '\0' || dx_utf8_valid (info.server, strlen (info.server)));
  uint64_t last;
  char epoch[DX_EPOCH_MAX + 1];
  if (dx_decode_poll_answer (text, len, any_msg, NULL, &last, epoch, &err))
    CHECK (dx_epoch_valid (epoch, strlen (epoch)));
  (void) dx_decode_rooms (text, len, any_room, NULL, &err);
  dx_buffer_free (&b);
}

static void
check_writer (const char *text, size_t len)
{
  if (!dx_utf8_valid (text, len) || len > 65536)
    return;
  dx_buffer b;
  dx_buffer_init (&b, 0);
  CHECK (dx_json_write_string (&b, text, len));
  for (size_t i = 0; i < b.len; i++)
    CHECK ((unsigned char) b.data[i] >= 0x20 && b.data[i] != 0x7f);
  dx_json_reader r;
  dx_json_reader_init (&r, b.data, b.len, NULL);
  size_t n;
  CHECK (dx_json_read_string (&r, strbuf, sizeof strbuf, &n, NULL) && dx_json_finish (&r));
  CHECK (n == len && memcmp (strbuf, text, len) == 0);
  dx_buffer_free (&b);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  dx_json_error ev, ew;
  bool v = dx_json_validate (text, size, NULL, &ev);
  bool w = walk (text, size, &ew);
  CHECK (v == w);
  if (!v)
    CHECK (ev.code == ew.code && ev.offset == ew.offset && ev.offset <= size);
  check_msg (text, size, DX_MSG_FROM_CLIENT);
  check_msg (text, size, DX_MSG_FROM_SERVER);
  check_msg (text, size, DX_MSG_FROM_ANY);
  check_http_bodies (text, size);
  check_writer (text, size);
  return 0;
}
