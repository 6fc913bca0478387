/* Encoding the message model (message.h): the object writer the HTTP
 * bodies share, and the socket objects. */
#include "protocol/message-private.h"

#include <string.h>

#include "protocol/utf8.h"

/* ---- the object writer (message-private.h) ---- */

void
dx_msg_object_begin (dx_msg_object *o, dx_buffer *b)
{
  o->b = b;
  o->old = b->len;
  o->was_failed = b->failed;
  o->first = true;
  dx_buffer_append_char (b, '{');
}

void
dx_msg_member_key (dx_msg_object *o, const char *k)
{
  if (!o->first)
    dx_buffer_append_char (o->b, ',');
  o->first = false;
  dx_json_write_key (o->b, k);
}

void
dx_msg_member_str (dx_msg_object *o, const char *k, const char *s)
{
  dx_msg_member_key (o, k);
  dx_json_write_cstr (o->b, s);
}

void
dx_msg_member_strn (dx_msg_object *o, const char *k, const char *s, size_t n)
{
  dx_msg_member_key (o, k);
  dx_json_write_string (o->b, s, n);
}

void
dx_msg_member_u64 (dx_msg_object *o, const char *k, uint64_t v)
{
  dx_msg_member_key (o, k);
  dx_json_write_u64 (o->b, v);
}

void
dx_msg_member_raw (dx_msg_object *o, const char *k, const char *raw, size_t n)
{
  dx_msg_member_key (o, k);
  dx_json_write_raw (o->b, raw, n);
}

bool
dx_msg_object_end (dx_msg_object *o)
{
  dx_buffer_append_char (o->b, '}');
  if (o->b->failed) {
    if (o->b->data && !o->was_failed) {
      o->b->len = o->old;
      o->b->data[o->old] = '\0';
    }
    return false;
  }
  return true;
}

bool
dx_msg_room_ok (const char *s)
{
  return s && dx_room_valid (s, strlen (s));
}

bool
dx_msg_nick_ok (const char *s)
{
  return s && dx_nick_valid (s, strlen (s));
}

bool
dx_msg_cid_ok (const char *s)
{
  return !s || dx_cid_valid (s, strlen (s)); /* NULL = omitted */
}

bool
dx_msg_str_ok (const char *s, size_t max)
{
  return s && strlen (s) <= max && dx_utf8_valid (s, strlen (s));
}

/* Length of message cut to DX_ERROR_TEXT_MAX bytes on a UTF-8 boundary. */
size_t
dx_msg_error_text_len (const char *s)
{
  size_t n = strlen (s);
  if (n <= DX_ERROR_TEXT_MAX)
    return n;
  n = DX_ERROR_TEXT_MAX;
  while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
    n--;
  return n;
}

bool
dx_msg_error_args_ok (const char *code, const char *message, size_t *mlen)
{
  if (!code || !dx_code_valid (code, strlen (code)) || !message)
    return false;
  *mlen = dx_msg_error_text_len (message);
  return dx_utf8_valid (message, *mlen);
}

/* ---- socket objects ---- */

static bool
begin_typed_object (dx_msg_object *o, dx_buffer *b, const char *type)
{
  dx_msg_object_begin (o, b);
  dx_msg_member_str (o, "type", type);
  return true;
}

bool
dx_encode_message (dx_buffer *b, const dx_chat_message *m)
{
  if (!m || !dx_msg_room_ok (m->room) || !dx_msg_nick_ok (m->from)
      || !dx_text_valid (m->text, m->text_len) || !dx_msg_cid_ok (m->cid))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "message");
  dx_msg_member_str (&o, "room", m->room);
  dx_msg_member_u64 (&o, "id", m->id);
  dx_msg_member_str (&o, "from", m->from);
  dx_msg_member_strn (&o, "text", m->text, m->text_len);
  dx_msg_member_u64 (&o, "ts", m->ts);
  if (m->cid)
    dx_msg_member_str (&o, "cid", m->cid);
  return dx_msg_object_end (&o);
}

bool
dx_encode_welcome_epoch (dx_buffer *b, const char *nick, const char *token, const char *server,
                         const char *epoch)
{
  if (!dx_msg_nick_ok (nick) || !token || !dx_token_valid (token, strlen (token))
      || !dx_msg_str_ok (server, DX_SERVER_MAX)
      || (epoch && !dx_epoch_valid (epoch, strlen (epoch))))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "welcome");
  dx_msg_member_str (&o, "nick", nick);
  dx_msg_member_str (&o, "token", token);
  dx_msg_member_str (&o, "server", server);
  if (epoch)
    dx_msg_member_str (&o, "epoch", epoch);
  return dx_msg_object_end (&o);
}

bool
dx_encode_welcome (dx_buffer *b, const char *nick, const char *token, const char *server)
{
  return dx_encode_welcome_epoch (b, nick, token, server, NULL);
}

bool
dx_encode_joined (dx_buffer *b, const char *room, uint64_t last_id, const char *epoch)
{
  if (!dx_msg_room_ok (room) || !epoch || !dx_epoch_valid (epoch, strlen (epoch)))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "joined");
  dx_msg_member_str (&o, "room", room);
  dx_msg_member_u64 (&o, "last_id", last_id);
  dx_msg_member_str (&o, "epoch", epoch);
  return dx_msg_object_end (&o);
}

/* {"type":<type>,"room":<room>}: leave and left carry nothing else. */
static bool
encode_room_only (dx_buffer *b, const char *type, const char *room)
{
  if (!dx_msg_room_ok (room))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, type);
  dx_msg_member_str (&o, "room", room);
  return dx_msg_object_end (&o);
}

bool
dx_encode_left (dx_buffer *b, const char *room)
{
  return encode_room_only (b, "left", room);
}

bool
dx_encode_ack (dx_buffer *b, const char *room, uint64_t id, uint64_t ts, const char *cid)
{
  if (!dx_msg_room_ok (room) || !dx_msg_cid_ok (cid))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "ack");
  if (cid)
    dx_msg_member_str (&o, "cid", cid);
  dx_msg_member_str (&o, "room", room);
  dx_msg_member_u64 (&o, "id", id);
  dx_msg_member_u64 (&o, "ts", ts);
  return dx_msg_object_end (&o);
}

/* t must be exactly one JSON value, with no whitespace around it (it is
 * echoed verbatim, so what is checked is what is sent). */
static bool
verbatim_t_ok (const char *t, size_t len)
{
  if (len == 0 || dx_msg_is_json_ws (t[0]) || dx_msg_is_json_ws (t[len - 1]))
    return false;
  dx_json_limits lim;
  dx_msg_json_limits (&lim, len);
  return dx_json_validate (t, len, &lim, NULL);
}

bool
dx_encode_pong (dx_buffer *b, const char *t, size_t t_len, uint64_t ts)
{
  if (t && !verbatim_t_ok (t, t_len))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "pong");
  if (t)
    dx_msg_member_raw (&o, "t", t, t_len);
  dx_msg_member_u64 (&o, "ts", ts);
  return dx_msg_object_end (&o);
}

bool
dx_encode_presence (dx_buffer *b, const char *room, const char *nick, bool joined)
{
  if (!dx_msg_room_ok (room) || !dx_msg_nick_ok (nick))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "presence");
  dx_msg_member_str (&o, "room", room);
  dx_msg_member_str (&o, "nick", nick);
  dx_msg_member_str (&o, "state", joined ? "join" : "leave");
  return dx_msg_object_end (&o);
}

bool
dx_encode_error (dx_buffer *b, const char *code, const char *message)
{
  size_t mlen;
  if (!dx_msg_error_args_ok (code, message, &mlen))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "error");
  dx_msg_member_str (&o, "code", code);
  dx_msg_member_strn (&o, "message", message, mlen);
  return dx_msg_object_end (&o);
}

bool
dx_encode_error_retry (dx_buffer *b, const char *code, const char *message, uint64_t retry_after_ms,
                       const char *cid)
{
  size_t mlen;
  if (!dx_msg_error_args_ok (code, message, &mlen) || (cid && !dx_cid_valid (cid, strlen (cid))))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "error");
  dx_msg_member_str (&o, "code", code);
  dx_msg_member_strn (&o, "message", message, mlen);
  dx_msg_member_u64 (&o, "retry_after", retry_after_ms);
  if (cid)
    dx_msg_member_str (&o, "cid", cid);
  return dx_msg_object_end (&o);
}

bool
dx_encode_hello (dx_buffer *b, const char *nick, const char *token, const char *password)
{
  if ((nick != NULL) == (token != NULL))
    return false;
  if (nick && !dx_msg_nick_ok (nick))
    return false;
  if (token && !dx_token_valid (token, strlen (token)))
    return false;
  if (password && !dx_password_valid (password, strlen (password)))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "hello");
  if (nick)
    dx_msg_member_str (&o, "nick", nick);
  else
    dx_msg_member_str (&o, "token", token);
  if (password)
    dx_msg_member_str (&o, "password", password);
  return dx_msg_object_end (&o);
}

bool
dx_encode_join (dx_buffer *b, const char *room, bool has_since, uint64_t since)
{
  if (!dx_msg_room_ok (room))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "join");
  dx_msg_member_str (&o, "room", room);
  if (has_since)
    dx_msg_member_u64 (&o, "since", since);
  return dx_msg_object_end (&o);
}

bool
dx_encode_leave (dx_buffer *b, const char *room)
{
  return encode_room_only (b, "leave", room);
}

bool
dx_encode_send (dx_buffer *b, const char *room, const char *text, size_t text_len, const char *cid)
{
  if (!dx_msg_room_ok (room) || !dx_text_valid (text, text_len) || !dx_msg_cid_ok (cid))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "send");
  dx_msg_member_str (&o, "room", room);
  dx_msg_member_strn (&o, "text", text, text_len);
  if (cid)
    dx_msg_member_str (&o, "cid", cid);
  return dx_msg_object_end (&o);
}

bool
dx_encode_ping (dx_buffer *b, const char *t, size_t t_len)
{
  if (t && !verbatim_t_ok (t, t_len))
    return false;
  dx_msg_object o;
  begin_typed_object (&o, b, "ping");
  if (t)
    dx_msg_member_raw (&o, "t", t, t_len);
  return dx_msg_object_end (&o);
}

bool
dx_msg_encode (dx_buffer *b, const dx_msg *m)
{
  switch (m->type) {
  case DX_MSG_HELLO:
    return dx_encode_hello (b, m->has_nick ? m->nick : NULL, m->has_token ? m->token : NULL,
                            m->has_password ? m->password : NULL);
  case DX_MSG_JOIN: return dx_encode_join (b, m->room, m->has_since, m->since);
  case DX_MSG_LEAVE: return dx_encode_leave (b, m->room);
  case DX_MSG_SEND:
    return dx_encode_send (b, m->room, m->text, m->text_len, m->has_cid ? m->cid : NULL);
  case DX_MSG_PING: return dx_encode_ping (b, m->has_t ? m->t : NULL, m->t_len);
  case DX_MSG_WELCOME:
    return dx_encode_welcome_epoch (b, m->nick, m->token, m->server, m->epoch[0] ? m->epoch : NULL);
  case DX_MSG_JOINED: return dx_encode_joined (b, m->room, m->last_id, m->epoch);
  case DX_MSG_LEFT: return dx_encode_left (b, m->room);
  case DX_MSG_ACK: return dx_encode_ack (b, m->room, m->id, m->ts, m->has_cid ? m->cid : NULL);
  case DX_MSG_PONG: return dx_encode_pong (b, m->has_t ? m->t : NULL, m->t_len, m->ts);
  case DX_MSG_MESSAGE: {
    dx_chat_message c = {
      m->room, m->id, m->from, m->text, m->text_len, m->ts, m->has_cid ? m->cid : NULL
    };
    return dx_encode_message (b, &c);
  }
  case DX_MSG_PRESENCE: return dx_encode_presence (b, m->room, m->nick, m->joined);
  case DX_MSG_ERROR: {
    /* text may hold NUL-free text of text_len bytes; it is NUL-terminated. */
    if (memchr (m->text, '\0', m->text_len))
      return false;
    if (m->has_retry_after)
      return dx_encode_error_retry (b, m->code, m->text, m->retry_after,
                                    m->has_cid ? m->cid : NULL);
    return dx_encode_error (b, m->code, m->text);
  }
  case DX_MSG_NONE: break;
  }
  return false;
}

bool
dx_msg_encode_line (dx_buffer *b, const dx_msg *m)
{
  size_t old = b->len;
  if (!dx_msg_encode (b, m))
    return false;
  if (!dx_buffer_append_char (b, '\n')) {
    if (b->data) {
      b->len = old;
      b->data[old] = '\0';
    }
    return false;
  }
  return true;
}
