/* The HTTP bodies and answers of docs/protocol.md §4 (message.h). */
#include "protocol/message-private.h"

#include <string.h>

/* A request body is at most 64 KiB (docs/protocol.md §4); answers are
 * bounded by what a poll may return. */
#define HTTP_BODY_MAX (64 * 1024)
#define ANSWER_MAX (32u * 1024 * 1024) /* a poll answer of 1000 long messages */

bool
dx_decode_session_request (const char *json, size_t len, dx_session_request *out, dx_msg_error *err)
{
  dx_msg_field f[] = { { "nick", NULL, 0, 0 }, { "password", NULL, 0, 0 } };
  memset (out, 0, sizeof *out);
  if (!dx_msg_collect_document (json, len, HTTP_BODY_MAX, f, 2, err))
    return false;
  if (!dx_msg_field_required (&f[0], err) || !dx_msg_get_nick (&f[0], out->nick, false, err))
    return false;
  if (f[1].count) {
    if (!dx_msg_get_password (&f[1], out->password, err))
      return false;
    out->has_password = true;
  }
  return true;
}

bool
dx_encode_session_request (dx_buffer *b, const char *nick, const char *password)
{
  if (!dx_msg_nick_ok (nick) || (password && !dx_password_valid (password, strlen (password))))
    return false;
  dx_msg_object o;
  dx_msg_object_begin (&o, b);
  dx_msg_member_str (&o, "nick", nick);
  if (password)
    dx_msg_member_str (&o, "password", password);
  return dx_msg_object_end (&o);
}

bool
dx_decode_post_body (const char *json, size_t len, dx_post_body *out, dx_msg_error *err)
{
  dx_msg_field f[] = { { "text", NULL, 0, 0 }, { "cid", NULL, 0, 0 } };
  memset (out, 0, sizeof *out);
  if (!dx_msg_collect_document (json, len, HTTP_BODY_MAX, f, 2, err))
    return false;
  if (!dx_msg_field_required (&f[0], err)
      || !dx_msg_get_text (&f[0], out->text, &out->text_len, err))
    return false;
  if (!dx_msg_get_cid (&f[1], out->cid, &out->has_cid, err))
    return false;
  return true;
}

bool
dx_encode_post_body (dx_buffer *b, const char *text, size_t text_len, const char *cid)
{
  if (!dx_text_valid (text, text_len) || !dx_msg_cid_ok (cid))
    return false;
  dx_msg_object o;
  dx_msg_object_begin (&o, b);
  dx_msg_member_strn (&o, "text", text, text_len);
  if (cid)
    dx_msg_member_str (&o, "cid", cid);
  return dx_msg_object_end (&o);
}

bool
dx_encode_session_answer (dx_buffer *b, const char *token, const char *nick)
{
  if (!token || !dx_token_valid (token, strlen (token)) || !dx_msg_nick_ok (nick))
    return false;
  dx_msg_object o;
  dx_msg_object_begin (&o, b);
  dx_msg_member_str (&o, "token", token);
  dx_msg_member_str (&o, "nick", nick);
  return dx_msg_object_end (&o);
}

bool
dx_decode_session_answer (const char *json, size_t len, char token[DX_TOKEN_MAX + 1],
                          char nick[DX_NICK_MAX + 1], dx_msg_error *err)
{
  dx_msg_field f[] = { { "token", NULL, 0, 0 }, { "nick", NULL, 0, 0 } };
  if (!dx_msg_collect_document (json, len, HTTP_BODY_MAX, f, 2, err))
    return false;
  return dx_msg_field_required (&f[0], err)
         && dx_msg_get_name (&f[0], token, DX_TOKEN_MAX + 1, dx_token_valid, DX_MSG_TOKEN_RULE, err)
         && dx_msg_field_required (&f[1], err) && dx_msg_get_nick (&f[1], nick, true, err);
}

bool
dx_encode_post_answer (dx_buffer *b, uint64_t id, uint64_t ts)
{
  dx_msg_object o;
  dx_msg_object_begin (&o, b);
  dx_msg_member_u64 (&o, "id", id);
  dx_msg_member_u64 (&o, "ts", ts);
  return dx_msg_object_end (&o);
}

bool
dx_decode_post_answer (const char *json, size_t len, uint64_t *id, uint64_t *ts, dx_msg_error *err)
{
  dx_msg_field f[] = { { "id", NULL, 0, 0 }, { "ts", NULL, 0, 0 } };
  if (!dx_msg_collect_document (json, len, HTTP_BODY_MAX, f, 2, err))
    return false;
  return dx_msg_field_required (&f[0], err) && dx_msg_get_u64 (&f[0], id, err)
         && dx_msg_field_required (&f[1], err) && dx_msg_get_u64 (&f[1], ts, err);
}

bool
dx_encode_poll_answer_begin (dx_buffer *b)
{
  return dx_buffer_append (b, "{\"messages\":[", 13);
}

bool
dx_encode_poll_answer_item (dx_buffer *b, size_t index, const char *json, size_t len)
{
  if (!json || len == 0)
    return false;
  size_t old = b->len;
  if (index > 0 && !dx_buffer_append_char (b, ','))
    return false;
  if (!dx_buffer_append (b, json, len)) {
    if (b->data) {
      b->len = old;
      b->data[old] = '\0';
    }
    return false;
  }
  return true;
}

bool
dx_encode_poll_answer_end (dx_buffer *b, uint64_t last_id, const char *epoch)
{
  if (!epoch || !dx_epoch_valid (epoch, strlen (epoch)))
    return false;
  return dx_buffer_append (b, "],\"last_id\":", 12) && dx_buffer_append_u64 (b, last_id)
         && dx_buffer_append (b, ",\"epoch\":", 9) && dx_json_write_cstr (b, epoch)
         && dx_buffer_append_char (b, '}');
}

bool
dx_encode_poll_answer (dx_buffer *b, const dx_chat_message *msgs, size_t n, uint64_t last_id,
                       const char *epoch)
{
  size_t old = b->len;
  bool was_failed = b->failed;
  bool ok = epoch && dx_epoch_valid (epoch, strlen (epoch)) && dx_encode_poll_answer_begin (b);
  for (size_t i = 0; ok && i < n; i++) {
    if (i > 0)
      ok = dx_buffer_append_char (b, ',');
    ok = ok && dx_encode_message (b, &msgs[i]);
  }
  ok = ok && dx_encode_poll_answer_end (b, last_id, epoch);
  if (!ok && b->data && !was_failed) {
    b->len = old;
    b->data[old] = '\0';
  }
  return ok;
}

bool
dx_decode_poll_answer (const char *json, size_t len, dx_poll_message_cb on_message, void *user,
                       uint64_t *last_id, char epoch[DX_EPOCH_MAX + 1], dx_msg_error *err)
{
  dx_msg_field f[] = { { "messages", NULL, 0, 0 },
                       { "last_id", NULL, 0, 0 },
                       { "epoch", NULL, 0, 0 } };
  if (!dx_msg_collect_document (json, len, ANSWER_MAX, f, 3, err))
    return false;
  if (!dx_msg_field_required (&f[1], err) || !dx_msg_get_u64 (&f[1], last_id, err)
      || !dx_msg_field_required (&f[2], err)
      || !dx_msg_get_name (&f[2], epoch, DX_EPOCH_MAX + 1, dx_epoch_valid, DX_MSG_EPOCH_RULE, err)
      || !dx_msg_field_required (&f[0], err))
    return false;
  dx_json_reader r;
  dx_msg_field_reader (&r, &f[0]);
  if (!dx_json_array_begin (&r))
    return dx_msg_fail (err, dx_msg_bad_request, "messages", "field 'messages': must be an array");
  dx_msg m;
  int k;
  while ((k = dx_json_array_next (&r)) > 0) {
    if (!dx_msg_decode_chat_message (&r, &m, err))
      return false;
    if (on_message && !on_message (&m, user))
      return dx_msg_fail (err, dx_msg_bad_request, "messages", "aborted");
  }
  if (k < 0)
    return dx_msg_value_error (err, &r, "messages");
  return true;
}

bool
dx_encode_rooms (dx_buffer *b, const dx_room_info *rooms, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!dx_msg_room_ok (rooms[i].name))
      return false;
  size_t old = b->len;
  bool was_failed = b->failed;
  dx_buffer_append (b, "{\"rooms\":[", 10);
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      dx_buffer_append_char (b, ',');
    dx_msg_object o;
    dx_msg_object_begin (&o, b);
    dx_msg_member_str (&o, "name", rooms[i].name);
    dx_msg_member_u64 (&o, "last_id", rooms[i].last_id);
    dx_msg_member_u64 (&o, "online", rooms[i].online);
    dx_buffer_append_char (b, '}');
  }
  dx_buffer_append (b, "]}", 2);
  if (b->failed) {
    if (b->data && !was_failed) {
      b->len = old;
      b->data[old] = '\0';
    }
    return false;
  }
  return true;
}

bool
dx_decode_rooms (const char *json, size_t len, dx_room_cb on_room, void *user, dx_msg_error *err)
{
  dx_msg_field f[] = { { "rooms", NULL, 0, 0 } };
  if (!dx_msg_collect_document (json, len, ANSWER_MAX, f, 1, err)
      || !dx_msg_field_required (&f[0], err))
    return false;
  dx_json_reader r;
  dx_msg_field_reader (&r, &f[0]);
  if (!dx_json_array_begin (&r))
    return dx_msg_fail (err, dx_msg_bad_request, "rooms", "field 'rooms': must be an array");
  int k;
  while ((k = dx_json_array_next (&r)) > 0) {
    dx_msg_field g[] = { { "name", NULL, 0, 0 },
                         { "last_id", NULL, 0, 0 },
                         { "online", NULL, 0, 0 } };
    char name[DX_ROOM_MAX + 1];
    uint64_t last = 0, online = 0;
    if (!dx_msg_collect (&r, g, 3, err))
      return false;
    if (!dx_msg_field_required (&g[0], err)
        || !dx_msg_get_name (&g[0], name, sizeof name, dx_room_valid, DX_MSG_ROOM_RULE, err)
        || !dx_msg_field_required (&g[1], err) || !dx_msg_get_u64 (&g[1], &last, err)
        || !dx_msg_field_required (&g[2], err) || !dx_msg_get_u64 (&g[2], &online, err))
      return false;
    if (on_room && !on_room (name, last, online, user))
      return dx_msg_fail (err, dx_msg_bad_request, "rooms", "aborted");
  }
  if (k < 0)
    return dx_msg_document_error (err, &r);
  return true;
}

static bool
encode_info (dx_buffer *b, const char *server, const char *epoch, uint16_t tcp_port,
             uint16_t udp_port, const char *node)
{
  if (!dx_msg_str_ok (server, DX_SERVER_MAX) || (epoch && !dx_epoch_valid (epoch, strlen (epoch)))
      || (node && !dx_msg_str_ok (node, DX_SERVER_MAX)))
    return false;
  dx_msg_object o;
  dx_msg_object_begin (&o, b);
  dx_msg_member_str (&o, "server", server);
  if (epoch)
    dx_msg_member_str (&o, "epoch", epoch);
  dx_msg_member_u64 (&o, "tcp_port", tcp_port);
  if (udp_port) {
    dx_msg_member_u64 (&o, "udp_port", udp_port);
    dx_msg_member_raw (&o, "transports",
                       "[\"poll\",\"longpoll\",\"sse\",\"websocket\",\"tcp\",\"udp\"]", 49);
  } else
    dx_msg_member_raw (&o, "transports", "[\"poll\",\"longpoll\",\"sse\",\"websocket\",\"tcp\"]",
                       43);
  if (node) {
    dx_msg_member_str (&o, "node", node);
    dx_msg_member_raw (&o, "cluster", "true", 4);
  }
  dx_msg_member_key (&o, "limits");
  dx_buffer_printf (b, "{\"text_bytes\":%d,\"line_bytes\":%d}", DX_TEXT_MAX, DX_LINE_MAX);
  return dx_msg_object_end (&o);
}

bool
dx_encode_info (dx_buffer *b, const char *server, const char *epoch, uint16_t tcp_port)
{
  return encode_info (b, server, epoch, tcp_port, 0, NULL);
}

bool
dx_encode_info_node (dx_buffer *b, const char *server, const char *epoch, uint16_t tcp_port,
                     const char *node)
{
  return encode_info (b, server, epoch, tcp_port, 0, node);
}

bool
dx_encode_info_udp (dx_buffer *b, const char *server, const char *epoch, uint16_t tcp_port,
                    uint16_t udp_port, const char *node)
{
  return encode_info (b, server, epoch, tcp_port, udp_port, node);
}

bool
dx_decode_info (const char *json, size_t len, dx_info *out, dx_msg_error *err)
{
  dx_msg_field f[] = { { "server", NULL, 0, 0 },
                       { "epoch", NULL, 0, 0 },
                       { "tcp_port", NULL, 0, 0 },
                       { "limits", NULL, 0, 0 } };
  memset (out, 0, sizeof *out);
  if (!dx_msg_collect_document (json, len, HTTP_BODY_MAX, f, 4, err))
    return false;
  uint64_t port;
  if (!dx_msg_field_required (&f[0], err)
      || !dx_msg_get_string (&f[0], out->server, sizeof out->server, NULL, NULL, err)
      || !dx_msg_field_required (&f[2], err) || !dx_msg_get_u64 (&f[2], &port, err))
    return false;
  if (port > 65535)
    return dx_msg_fail (err, dx_msg_bad_request, "tcp_port",
                        "field 'tcp_port': must be at most 65535");
  out->tcp_port = (uint16_t) port;
  if (f[1].count
      && !dx_msg_get_name (&f[1], out->epoch, sizeof out->epoch, dx_epoch_valid, DX_MSG_EPOCH_RULE,
                           err))
    return false;
  if (f[3].count) {
    dx_msg_field g[] = { { "text_bytes", NULL, 0, 0 }, { "line_bytes", NULL, 0, 0 } };
    dx_json_reader r;
    if (!dx_msg_field_not_repeated (&f[3], err))
      return false;
    dx_msg_field_reader (&r, &f[3]);
    if (!dx_msg_collect (&r, g, 2, err))
      return dx_msg_fail (err, dx_msg_bad_request, "limits", "field 'limits': must be an object");
    if (g[0].count && !dx_msg_get_u64 (&g[0], &out->text_bytes, err))
      return false;
    if (g[1].count && !dx_msg_get_u64 (&g[1], &out->line_bytes, err))
      return false;
  }
  return true;
}

bool
dx_encode_time (dx_buffer *b, uint64_t ts)
{
  dx_msg_object o;
  dx_msg_object_begin (&o, b);
  dx_msg_member_u64 (&o, "ts", ts);
  return dx_msg_object_end (&o);
}

bool
dx_decode_time (const char *json, size_t len, uint64_t *ts, dx_msg_error *err)
{
  dx_msg_field f[] = { { "ts", NULL, 0, 0 } };
  return dx_msg_collect_document (json, len, HTTP_BODY_MAX, f, 1, err)
         && dx_msg_field_required (&f[0], err) && dx_msg_get_u64 (&f[0], ts, err);
}

bool
dx_encode_http_error (dx_buffer *b, const char *code, const char *message)
{
  size_t mlen;
  if (!dx_msg_error_args_ok (code, message, &mlen))
    return false;
  dx_msg_object o;
  dx_msg_object_begin (&o, b);
  dx_msg_member_key (&o, "error");
  dx_msg_object in;
  dx_msg_object_begin (&in, b);
  dx_msg_member_str (&in, "code", code);
  dx_msg_member_strn (&in, "message", message, mlen);
  dx_buffer_append_char (b, '}');
  return dx_msg_object_end (&o);
}

bool
dx_decode_http_error (const char *json, size_t len, char code[DX_CODE_MAX + 1],
                      char message[DX_ERROR_TEXT_MAX + 1], dx_msg_error *err)
{
  dx_msg_field f[] = { { "error", NULL, 0, 0 } };
  if (!dx_msg_collect_document (json, len, HTTP_BODY_MAX, f, 1, err)
      || !dx_msg_field_required (&f[0], err))
    return false;
  dx_msg_field g[] = { { "code", NULL, 0, 0 }, { "message", NULL, 0, 0 } };
  dx_json_reader r;
  dx_msg_field_reader (&r, &f[0]);
  if (!dx_msg_collect (&r, g, 2, err))
    return dx_msg_fail (err, dx_msg_bad_request, "error", "field 'error': must be an object");
  if (!dx_msg_field_required (&g[0], err)
      || !dx_msg_get_name (&g[0], code, DX_CODE_MAX + 1, dx_code_valid, DX_MSG_CODE_RULE, err)
      || !dx_msg_field_required (&g[1], err))
    return false;
  /* A longer message than we would write is cut, not refused: it is only
   * shown to a human. */
  char tmp[DX_TEXT_MAX + 1];
  size_t n;
  if (!dx_msg_get_string (&g[1], tmp, sizeof tmp, &n, NULL, err))
    return false;
  size_t cut = dx_msg_error_text_len (tmp);
  memcpy (message, tmp, cut);
  message[cut] = '\0';
  return true;
}
