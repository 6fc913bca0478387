/* The chat value model and its JSON codec: every object of docs/protocol.md §3,
 * §4 (HTTP bodies and answers) and §5 (socket events). One public header
 * for three units: message-decode.c (dx_msg_decode and the other decoders'
 * member reader), message-encode.c (the socket objects' encoders) and
 * message-http.c (the HTTP bodies), whose internals meet in
 * message-private.h.
 *
 * DECODING. dx_msg_decode turns one JSON document (an NDJSON line or a
 * WebSocket text message) into a dx_msg. Fields the type does not know are
 * ignored (any JSON value, validated and skipped); a repeated known field,
 * a missing required field, a wrong JSON type, an invalid name or an
 * over-long value is an error described by dx_msg_error:
 *   code    — the docs/protocol.md error word to send back: "bad_request",
 *             or "too_large" (document over its limit, see dx_msg_decode; text over
 *             DX_TEXT_MAX bytes, or any other string over its limit);
 *   field   — the JSON member at fault ("room", "text", ...; "" for the
 *             document itself, e.g. a syntax error);
 *   message — one human line ready to put in an error event / HTTP body,
 *             e.g. "field 'room': must be 1-32 characters of [a-z0-9_-]".
 * On error *out is unspecified (partly filled); nothing else changes.
 *
 * ENCODING. Every encoder appends exactly one JSON object (no newline) to
 * a dx_buffer and returns true, or returns false leaving b->len as it was
 * (a field that breaks docs/protocol.md §2, e.g. an invalid room or text that
 * is not valid UTF-8, or the buffer's ceiling / out of memory, in which
 * case b->failed is also set). Output field order is fixed and documented
 * in docs/protocol.md; integers are written as plain decimal.
 * dx_msg_encode_line / dx_ndjson_append_line add the '\n' for raw TCP.
 *
 * ping "t": kept VERBATIM. docs/protocol.md §5 says "<client value>", so any JSON
 * value is accepted (number, string, object, array, true/false/null), its
 * exact JSON text is kept (surrounding whitespace trimmed), and it is echoed
 * byte for byte in the pong — 1.5e3, -7, 12345678901234567890, "abc" and
 * {"k":[1,2]} all come back exactly as sent. dx_msg.t points INTO the
 * decoded document (no copy, no extra limit beyond the document's): it is
 * valid as long as that input is. A ping without "t" is answered by a pong
 * without "t". */
#ifndef DX_PROTOCOL_MESSAGE_H
#define DX_PROTOCOL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"
#include "protocol/json.h"
#include "protocol/names.h"

#define DX_ERROR_TEXT_MAX 512 /* bytes of an error event's "message" */

typedef enum {
  DX_MSG_NONE = 0,
  /* client -> server */
  DX_MSG_HELLO,
  DX_MSG_JOIN,
  DX_MSG_LEAVE,
  DX_MSG_SEND,
  DX_MSG_PING,
  /* server -> client */
  DX_MSG_WELCOME,
  DX_MSG_JOINED,
  DX_MSG_LEFT,
  DX_MSG_ACK,
  DX_MSG_PONG,
  DX_MSG_MESSAGE,
  DX_MSG_PRESENCE,
  DX_MSG_ERROR,
} dx_msg_type;

/* The "type" word of a message type ("hello", ...); NULL for DX_MSG_NONE. */
const char *dx_msg_type_name (dx_msg_type t);

/* Which side's objects a decoder accepts. */
typedef enum {
  DX_MSG_FROM_CLIENT, /* hello join leave send ping (the server decodes these) */
  DX_MSG_FROM_SERVER, /* welcome joined left ack pong message presence error */
  DX_MSG_FROM_ANY,
} dx_msg_dir;

/* One decoded object. Which fields are meaningful depends on type:
 *   hello    nick|token (has_nick/has_token; exactly one), password (has_password)
 *   join     room, since (has_since)
 *   leave    room
 *   send     room, text/text_len, cid (has_cid)
 *   ping     t/t_len (has_t)
 *   welcome  nick, token, server, epoch ("" if the server sent none)
 *   joined   room, last_id, epoch
 *   left     room
 *   ack      room, id, ts, cid (has_cid)
 *   pong     t/t_len (has_t), ts
 *   message  room, id, from, text/text_len, ts, cid (has_cid)
 *   presence room, nick, joined (true: "state":"join", false: "leave")
 *   error    code, text/text_len (the "message" member), retry_after
 *            (has_retry_after; milliseconds, rate_limited), cid (has_cid)
 * Strings are NUL-terminated; text never contains NUL (rejected). */
typedef struct {
  dx_msg_type type;
  bool has_nick, has_token, has_password, has_since, has_cid, has_t, has_retry_after;
  bool joined;
  uint64_t id, since, last_id, ts, retry_after;
  char nick[DX_NICK_MAX + 1];
  char from[DX_NICK_MAX + 1];
  char room[DX_ROOM_MAX + 1];
  char token[DX_TOKEN_MAX + 1];
  char password[DX_PASSWORD_MAX + 1];
  char cid[DX_CID_MAX + 1];
  char epoch[DX_EPOCH_MAX + 1];
  char server[DX_SERVER_MAX + 1];
  char code[DX_CODE_MAX + 1];
  const char *t; /* verbatim JSON text of any value, inside the decoded input */
  size_t t_len;
  char text[DX_TEXT_MAX + 1]; /* send/message text, or an error's message */
  size_t text_len;
} dx_msg;

typedef struct {
  const char *code;  /* "bad_request" or "too_large" (static string) */
  char field[33];    /* member at fault, "" for the whole document */
  char message[200]; /* human-readable, NUL-terminated */
} dx_msg_error;

/* The "type" named by a JSON object, whatever else it holds and whether
 * or not the rest is valid (a server answers "not_authenticated" before
 * hello whatever the error). DX_MSG_NONE if json is not an object with a
 * string "type" naming a known type (either direction). */
dx_msg_type dx_msg_peek_type (const char *json, size_t len);

/* Zero a dx_msg (all has_* false, strings empty). */
void dx_msg_clear (dx_msg *m);

/* The longest object a server may send: a message whose 4096 bytes of
 * text are all control characters, each written as a 6-byte \u00XX escape,
 * plus the other members. Clients size their line / frame limit for what
 * they RECEIVE with this, not DX_LINE_MAX (which bounds what they send). */
#define DX_MSG_ENCODED_MAX (6 * DX_TEXT_MAX + 1024)

/* Decode one document. Its length is limited by direction: at most
 * DX_LINE_MAX for DX_MSG_FROM_CLIENT (docs/protocol.md §5), DX_MSG_ENCODED_MAX
 * for DX_MSG_FROM_SERVER / FROM_ANY (so everything the encoders write
 * decodes); longer is too_large. Objects not of direction dir are rejected
 * as "unknown type". err may be NULL. */
bool dx_msg_decode (const char *json, size_t len, dx_msg_dir dir, dx_msg *out, dx_msg_error *err);
/* Decode one message-type object at the reader's position (e.g. an element
 * of a poll answer's "messages"); "type" may be absent but if present must
 * be "message". Leaves the reader after the object. */
bool dx_msg_decode_chat_message (dx_json_reader *r, dx_msg *out, dx_msg_error *err);

/* Encode any dx_msg (fields as listed above; reserved nicks allowed, so
 * the server can encode the ticker's messages). */
bool dx_msg_encode (dx_buffer *b, const dx_msg *m);
/* dx_msg_encode plus '\n' (one NDJSON line). */
bool dx_msg_encode_line (dx_buffer *b, const dx_msg *m);

/* ---- direct encoders (no dx_msg needed; same validation) ---- */

/* A stored chat message, as the server's store/hub hands it around. */
typedef struct {
  const char *room;
  uint64_t id;
  const char *from;
  const char *text;
  size_t text_len;
  uint64_t ts;
  const char *cid; /* NULL if the sender gave none */
} dx_chat_message;

/* {"type":"message","room":..,"id":..,"from":..,"text":..,"ts":..[,"cid":..]} */
bool dx_encode_message (dx_buffer *b, const dx_chat_message *m);
/* server -> client events */
/* {"type":"welcome","nick":..,"token":..,"server":..[,"epoch":..]}:
 * docs/protocol.md §2 says the store's epoch appears in welcome, so a
 * server passes it;
 * epoch NULL omits it. dx_encode_welcome is the same with epoch NULL. */
bool dx_encode_welcome_epoch (dx_buffer *b, const char *nick, const char *token, const char *server,
                              const char *epoch);
bool dx_encode_welcome (dx_buffer *b, const char *nick, const char *token, const char *server);
bool dx_encode_joined (dx_buffer *b, const char *room, uint64_t last_id, const char *epoch);
bool dx_encode_left (dx_buffer *b, const char *room);
/* cid NULL = omitted */
bool dx_encode_ack (dx_buffer *b, const char *room, uint64_t id, uint64_t ts, const char *cid);
/* t NULL = ping had no "t"; else t[0..t_len) is the verbatim JSON from the ping */
bool dx_encode_pong (dx_buffer *b, const char *t, size_t t_len, uint64_t ts);
bool dx_encode_presence (dx_buffer *b, const char *room, const char *nick, bool joined);
/* {"type":"error","code":..,"message":..}; message is any UTF-8 (cut at
 * DX_ERROR_TEXT_MAX bytes on a character boundary). */
bool dx_encode_error (dx_buffer *b, const char *code, const char *message);
/* An error with "retry_after":<ms> (rate_limited, docs/protocol.md §9) and
 * the refused send's "cid" (NULL: none). */
bool dx_encode_error_retry (dx_buffer *b, const char *code, const char *message,
                            uint64_t retry_after_ms, const char *cid);
/* client -> server requests (for the GTK client and duplex-bench) */
/* exactly one of nick/token non-NULL; password NULL = omitted */
bool dx_encode_hello (dx_buffer *b, const char *nick, const char *token, const char *password);
/* has_since false = live messages only */
bool dx_encode_join (dx_buffer *b, const char *room, bool has_since, uint64_t since);
bool dx_encode_leave (dx_buffer *b, const char *room);
bool dx_encode_send (dx_buffer *b, const char *room, const char *text, size_t text_len,
                     const char *cid);
/* t NULL = no "t"; else t[0..t_len) must be one JSON number or string */
bool dx_encode_ping (dx_buffer *b, const char *t, size_t t_len);

/* ---- HTTP bodies (docs/protocol.md §4) ---- */

/* POST /api/v1/session request {"nick":..,"password":..} */
typedef struct {
  char nick[DX_NICK_MAX + 1];
  char password[DX_PASSWORD_MAX + 1];
  bool has_password;
} dx_session_request;
/* Rejects invalid and reserved nicks. len at most 64 KiB (body limit). */
bool dx_decode_session_request (const char *json, size_t len, dx_session_request *out,
                                dx_msg_error *err);
bool dx_encode_session_request (dx_buffer *b, const char *nick, const char *password);

/* POST /api/v1/rooms/{room}/messages body {"text":..,"cid":..} */
typedef struct {
  char text[DX_TEXT_MAX + 1];
  size_t text_len;
  char cid[DX_CID_MAX + 1];
  bool has_cid;
} dx_post_body;
bool dx_decode_post_body (const char *json, size_t len, dx_post_body *out, dx_msg_error *err);
bool dx_encode_post_body (dx_buffer *b, const char *text, size_t text_len, const char *cid);

/* 201 {"token":..,"nick":..} */
bool dx_encode_session_answer (dx_buffer *b, const char *token, const char *nick);
bool dx_decode_session_answer (const char *json, size_t len, char token[DX_TOKEN_MAX + 1],
                               char nick[DX_NICK_MAX + 1], dx_msg_error *err);

/* 201 {"id":..,"ts":..} */
bool dx_encode_post_answer (dx_buffer *b, uint64_t id, uint64_t ts);
bool dx_decode_post_answer (const char *json, size_t len, uint64_t *id, uint64_t *ts,
                            dx_msg_error *err);

/* 200 {"messages":[...],"last_id":M,"epoch":".."}, written in three steps
 * so the server can splice in messages it encoded once (dx_encode_message
 * output): begin, then item for each (index 0, 1, 2, ... decides the
 * commas), then end. item appends json verbatim (the caller vouches it is
 * one valid JSON object). */
bool dx_encode_poll_answer_begin (dx_buffer *b);
bool dx_encode_poll_answer_item (dx_buffer *b, size_t index, const char *json, size_t len);
bool dx_encode_poll_answer_end (dx_buffer *b, uint64_t last_id, const char *epoch);
/* All at once from structs. */
bool dx_encode_poll_answer (dx_buffer *b, const dx_chat_message *msgs, size_t n, uint64_t last_id,
                            const char *epoch);
/* Decode a poll answer: on_message is called for each message, in order
 * (return false from it to stop with an error "aborted"). */
typedef bool (*dx_poll_message_cb) (const dx_msg *m, void *user);
bool dx_decode_poll_answer (const char *json, size_t len, dx_poll_message_cb on_message, void *user,
                            uint64_t *last_id, char epoch[DX_EPOCH_MAX + 1], dx_msg_error *err);

/* 200 {"rooms":[{"name":..,"last_id":..,"online":..},...]} */
typedef struct {
  const char *name;
  uint64_t last_id;
  uint64_t online;
} dx_room_info;
bool dx_encode_rooms (dx_buffer *b, const dx_room_info *rooms, size_t n);
/* on_room gets a name valid only during the call. */
typedef bool (*dx_room_cb) (const char *name, uint64_t last_id, uint64_t online, void *user);
bool dx_decode_rooms (const char *json, size_t len, dx_room_cb on_room, void *user,
                      dx_msg_error *err);

/* 200 {"server":"duplexd/<v>","epoch":"..","tcp_port":P,
 *      "transports":["poll","longpoll","sse","websocket","tcp"],
 *      "limits":{"text_bytes":4096,"line_bytes":16384}}
 * epoch may be NULL (omitted). */
bool dx_encode_info (dx_buffer *b, const char *server, const char *epoch, uint16_t tcp_port);
/* The same for one node of several (docs/protocol.md §7): adds
 * "node":"<node>","cluster":true. */
bool dx_encode_info_node (dx_buffer *b, const char *server, const char *epoch, uint16_t tcp_port,
                          const char *node);
/* Either of the above (node may be NULL), with "udp_port" and "udp" among
 * the transports when udp_port is not 0 (docs/protocol.md §8: --udp). */
bool dx_encode_info_udp (dx_buffer *b, const char *server, const char *epoch, uint16_t tcp_port,
                         uint16_t udp_port, const char *node);
typedef struct {
  char server[DX_SERVER_MAX + 1];
  char epoch[DX_EPOCH_MAX + 1]; /* "" if absent */
  uint16_t tcp_port;
  uint64_t text_bytes, line_bytes; /* 0 if absent */
} dx_info;
bool dx_decode_info (const char *json, size_t len, dx_info *out, dx_msg_error *err);

/* 200 {"ts":<ms>} */
bool dx_encode_time (dx_buffer *b, uint64_t ts);
bool dx_decode_time (const char *json, size_t len, uint64_t *ts, dx_msg_error *err);

/* Error envelope {"error":{"code":..,"message":..}} (message cut as in
 * dx_encode_error). */
bool dx_encode_http_error (dx_buffer *b, const char *code, const char *message);
bool dx_decode_http_error (const char *json, size_t len, char code[DX_CODE_MAX + 1],
                           char message[DX_ERROR_TEXT_MAX + 1], dx_msg_error *err);

#endif
