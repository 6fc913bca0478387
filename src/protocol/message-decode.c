/* Decoding the message model (message.h): the member reader the HTTP
 * bodies share, and the socket objects. */
#include "protocol/message-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool
dx_msg_is_json_ws (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *const type_names[] = {
  [DX_MSG_NONE] = NULL,           [DX_MSG_HELLO] = "hello",   [DX_MSG_JOIN] = "join",
  [DX_MSG_LEAVE] = "leave",       [DX_MSG_SEND] = "send",     [DX_MSG_PING] = "ping",
  [DX_MSG_WELCOME] = "welcome",   [DX_MSG_JOINED] = "joined", [DX_MSG_LEFT] = "left",
  [DX_MSG_ACK] = "ack",           [DX_MSG_PONG] = "pong",     [DX_MSG_MESSAGE] = "message",
  [DX_MSG_PRESENCE] = "presence", [DX_MSG_ERROR] = "error",
};

const char *
dx_msg_type_name (dx_msg_type t)
{
  if ((unsigned) t >= sizeof type_names / sizeof type_names[0])
    return NULL;
  return type_names[t];
}

void
dx_msg_clear (dx_msg *m)
{
  memset (m, 0, sizeof *m);
}

/* ---- errors ---- */

const char dx_msg_bad_request[] = "bad_request";
const char dx_msg_too_large[] = "too_large";

bool
dx_msg_fail (dx_msg_error *err, const char *code, const char *field, const char *fmt, ...)
{
  if (!err)
    return false;
  err->code = code;
  snprintf (err->field, sizeof err->field, "%s", field ? field : "");
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (err->message, sizeof err->message, fmt, ap);
  va_end (ap);
  return false;
}

/* A reader error on the document itself (syntax, size, ...). */
bool
dx_msg_document_error (dx_msg_error *err, const dx_json_reader *r)
{
  dx_json_errc c = r->error.code;
  const char *code =
      c == DX_JSON_E_TOO_BIG || c == DX_JSON_E_TOO_LONG ? dx_msg_too_large : dx_msg_bad_request;
  if (c == DX_JSON_E_TYPE) /* only object_begin can say this here */
    return dx_msg_fail (err, code, "", "expected a JSON object");
  return dx_msg_fail (err, code, "", "invalid JSON at byte %zu: %s", r->error.offset,
                      dx_json_strerror (c));
}

/* A reader error inside the value of member `key` (invalid UTF-8 in a
 * string, a lone surrogate, a bad number, ...): the member is named, so a
 * client learns which field was wrong. Over-long keys read as "". */
bool
dx_msg_value_error (dx_msg_error *err, const dx_json_reader *r, const char *key)
{
  if (!key[0])
    return dx_msg_document_error (err, r);
  dx_json_errc c = r->error.code;
  const char *code =
      c == DX_JSON_E_TOO_BIG || c == DX_JSON_E_TOO_LONG ? dx_msg_too_large : dx_msg_bad_request;
  return dx_msg_fail (err, code, key, "field '%s': invalid JSON at byte %zu: %s", key,
                      r->error.offset, dx_json_strerror (c));
}

/* ---- pass one: collect member slices ---- */

static dx_msg_field *
find_field (dx_msg_field *f, size_t nf, const char *name)
{
  for (size_t i = 0; i < nf; i++)
    if (strcmp (f[i].name, name) == 0)
      return &f[i];
  return NULL;
}

/* Read the object at r, filling the slices of the named fields. */
bool
dx_msg_collect (dx_json_reader *r, dx_msg_field *f, size_t nf, dx_msg_error *err)
{
  char key[24];
  size_t klen;
  int k;
  if (!dx_json_object_begin (r))
    return dx_msg_document_error (err, r);
  while ((k = dx_json_object_next (r, key, sizeof key, &klen)) > 0) {
    const char *at = r->p;
    if (!dx_json_skip (r))
      return dx_msg_value_error (err, r, key);
    dx_msg_field *x = key[0] ? find_field (f, nf, key) : NULL;
    if (x) {
      x->raw = at;
      x->len = (size_t) (r->p - at);
      x->count++;
    }
  }
  if (k < 0)
    return dx_msg_document_error (err, r);
  return true;
}

void
dx_msg_json_limits (dx_json_limits *lim, size_t max_input)
{
  memset (lim, 0, sizeof *lim);
  lim->max_depth = 32;
  lim->max_input = max_input;
  lim->max_string = max_input;
}

/* Collect from a whole document of at most max_input bytes. */
bool
dx_msg_collect_document (const char *json, size_t len, size_t max_input, dx_msg_field *f, size_t nf,
                         dx_msg_error *err)
{
  if (!json && len)
    return dx_msg_fail (err, dx_msg_bad_request, "", "no document");
  if (len > max_input)
    return dx_msg_fail (err, dx_msg_too_large, "", "document longer than %zu bytes", max_input);
  dx_json_limits lim;
  dx_msg_json_limits (&lim, max_input);
  dx_json_reader r;
  dx_json_reader_init (&r, json, len, &lim);
  if (!dx_msg_collect (&r, f, nf, err))
    return false;
  if (!dx_json_finish (&r))
    return dx_msg_document_error (err, &r);
  return true;
}

/* ---- pass two: typed getters ---- */

bool
dx_msg_field_not_repeated (const dx_msg_field *x, dx_msg_error *err)
{
  if (x->count > 1)
    return dx_msg_fail (err, dx_msg_bad_request, x->name, "field '%s': given more than once",
                        x->name);
  return true;
}

bool
dx_msg_field_required (const dx_msg_field *x, dx_msg_error *err)
{
  if (x->count == 0)
    return dx_msg_fail (err, dx_msg_bad_request, x->name, "field '%s': missing", x->name);
  return dx_msg_field_not_repeated (x, err);
}

/* A sub-reader over one member's value. */
void
dx_msg_field_reader (dx_json_reader *r, const dx_msg_field *x)
{
  dx_json_limits lim;
  dx_msg_json_limits (&lim, x->len);
  dx_json_reader_init (r, x->raw, x->len, &lim);
}

/* The string value of x into buf (cap incl. NUL). NUL bytes and the empty
 * string are left to the caller's validation. */
bool
dx_msg_get_string (const dx_msg_field *x, char *buf, size_t cap, size_t *len, bool *has_nul,
                   dx_msg_error *err)
{
  if (!dx_msg_field_not_repeated (x, err))
    return false;
  dx_json_reader r;
  dx_msg_field_reader (&r, x);
  size_t n = 0;
  bool nul = false;
  if (!dx_json_read_string (&r, buf, cap, &n, &nul)) {
    if (r.error.code == DX_JSON_E_TOO_LONG)
      return dx_msg_fail (err, dx_msg_too_large, x->name, "field '%s': longer than %zu bytes",
                          x->name, cap - 1);
    return dx_msg_fail (err, dx_msg_bad_request, x->name, "field '%s': must be a string", x->name);
  }
  if (len)
    *len = n;
  if (has_nul)
    *has_nul = nul;
  else if (nul)
    return dx_msg_fail (err, dx_msg_bad_request, x->name, "field '%s': must not contain NUL",
                        x->name);
  return true;
}

bool
dx_msg_get_u64 (const dx_msg_field *x, uint64_t *v, dx_msg_error *err)
{
  if (!dx_msg_field_not_repeated (x, err))
    return false;
  dx_json_reader r;
  dx_msg_field_reader (&r, x);
  if (!dx_json_read_u64 (&r, v)) {
    if (r.error.code == DX_JSON_E_RANGE)
      return dx_msg_fail (err, dx_msg_bad_request, x->name,
                          "field '%s': must be an integer between 0 and 18446744073709551615",
                          x->name);
    return dx_msg_fail (err, dx_msg_bad_request, x->name, "field '%s': must be an unsigned integer",
                        x->name);
  }
  return true;
}

bool
dx_msg_get_name (const dx_msg_field *x, char *buf, size_t cap, dx_msg_validator ok,
                 const char *what, dx_msg_error *err)
{
  size_t n;
  if (!dx_msg_get_string (x, buf, cap, &n, NULL, err))
    return false;
  if (!ok (buf, n))
    return dx_msg_fail (err, dx_msg_bad_request, x->name, "field '%s': %s", x->name, what);
  return true;
}

bool
dx_msg_get_nick (const dx_msg_field *x, char *buf, bool allow_reserved, dx_msg_error *err)
{
  if (!dx_msg_get_name (x, buf, DX_NICK_MAX + 1, dx_nick_valid, DX_MSG_NICK_RULE, err))
    return false;
  if (!allow_reserved && dx_nick_reserved (buf, strlen (buf)))
    return dx_msg_fail (err, dx_msg_bad_request, x->name, "field '%s': the nick '%s' is reserved",
                        x->name, buf);
  return true;
}

bool
dx_msg_get_text (const dx_msg_field *x, char *buf, size_t *len, dx_msg_error *err)
{
  bool nul;
  if (!dx_msg_get_string (x, buf, DX_TEXT_MAX + 1, len, &nul, err))
    return false;
  if (nul)
    return dx_msg_fail (err, dx_msg_bad_request, x->name, "field '%s': must not contain NUL",
                        x->name);
  if (*len == 0)
    return dx_msg_fail (err, dx_msg_bad_request, x->name, "field '%s': must not be empty", x->name);
  return true;
}

bool
dx_msg_get_password (const dx_msg_field *x, char *buf, dx_msg_error *err)
{
  size_t n;
  bool nul;
  if (!dx_msg_get_string (x, buf, DX_PASSWORD_MAX + 1, &n, &nul, err))
    return false;
  if (nul)
    return dx_msg_fail (err, dx_msg_bad_request, x->name, "field '%s': %s", x->name,
                        DX_MSG_PASSWORD_RULE);
  return true;
}

bool
dx_msg_get_cid (const dx_msg_field *x, char *cid, bool *has, dx_msg_error *err)
{
  if (x->count == 0)
    return true;
  if (!dx_msg_get_name (x, cid, DX_CID_MAX + 1, dx_cid_valid, DX_MSG_CID_RULE, err))
    return false;
  *has = true;
  return true;
}

/* ---- chat objects ---- */

enum {
  F_TYPE,
  F_NICK,
  F_TOKEN,
  F_PASSWORD,
  F_ROOM,
  F_SINCE,
  F_TEXT,
  F_CID,
  F_T,
  F_ID,
  F_FROM,
  F_TS,
  F_LAST_ID,
  F_EPOCH,
  F_SERVER,
  F_CODE,
  F_MESSAGE,
  F_STATE,
  F_RETRY_AFTER,
  F_COUNT
};

static void
init_msg_fields (dx_msg_field f[F_COUNT])
{
  static const char *const names[F_COUNT] = {
    "type",   "nick", "token",   "password", "room",        "since",   "text",
    "cid",    "t",    "id",      "from",     "ts",          "last_id", "epoch",
    "server", "code", "message", "state",    "retry_after",
  };
  for (int i = 0; i < F_COUNT; i++) {
    f[i].name = names[i];
    f[i].raw = NULL;
    f[i].len = 0;
    f[i].count = 0;
  }
}

static bool
read_room (dx_msg_field *f, dx_msg *m, dx_msg_error *err)
{
  return dx_msg_field_required (&f[F_ROOM], err)
         && dx_msg_get_name (&f[F_ROOM], m->room, sizeof m->room, dx_room_valid, DX_MSG_ROOM_RULE,
                             err);
}

static bool
read_chat_message (dx_msg_field *f, dx_msg *m, dx_msg_error *err)
{
  m->type = DX_MSG_MESSAGE;
  if (!read_room (f, m, err))
    return false;
  if (!dx_msg_field_required (&f[F_ID], err) || !dx_msg_get_u64 (&f[F_ID], &m->id, err))
    return false;
  if (!dx_msg_field_required (&f[F_FROM], err) || !dx_msg_get_nick (&f[F_FROM], m->from, true, err))
    return false;
  if (!dx_msg_field_required (&f[F_TEXT], err)
      || !dx_msg_get_text (&f[F_TEXT], m->text, &m->text_len, err))
    return false;
  if (!dx_msg_field_required (&f[F_TS], err) || !dx_msg_get_u64 (&f[F_TS], &m->ts, err))
    return false;
  return dx_msg_get_cid (&f[F_CID], m->cid, &m->has_cid, err);
}

static bool
read_verbatim_t (dx_msg_field *f, dx_msg *m, dx_msg_error *err)
{
  dx_msg_field *x = &f[F_T];
  if (x->count == 0)
    return true;
  if (!dx_msg_field_not_repeated (x, err))
    return false;
  /* Any value, already validated by the member walk: keep its text as is
   * (an echo must not re-encode), without the whitespace around it. */
  const char *p = x->raw, *e = x->raw + x->len;
  while (p < e && dx_msg_is_json_ws (*p))
    p++;
  while (e > p && dx_msg_is_json_ws (e[-1]))
    e--;
  m->t = p;
  m->t_len = (size_t) (e - p);
  m->has_t = true;
  return true;
}

static bool
read_members_of_type (dx_msg_field *f, dx_msg *m, dx_msg_error *err)
{
  switch (m->type) {
  case DX_MSG_HELLO:
    if (f[F_NICK].count && f[F_TOKEN].count)
      return dx_msg_fail (err, dx_msg_bad_request, "token",
                          "give either 'nick' or 'token', not both");
    if (f[F_NICK].count) {
      if (!dx_msg_get_nick (&f[F_NICK], m->nick, false, err))
        return false;
      m->has_nick = true;
    } else if (f[F_TOKEN].count) {
      if (!dx_msg_get_name (&f[F_TOKEN], m->token, sizeof m->token, dx_token_valid,
                            DX_MSG_TOKEN_RULE, err))
        return false;
      m->has_token = true;
    } else {
      return dx_msg_fail (err, dx_msg_bad_request, "nick", "field 'nick' or 'token': missing");
    }
    if (f[F_PASSWORD].count) {
      if (!dx_msg_get_password (&f[F_PASSWORD], m->password, err))
        return false;
      m->has_password = true;
    }
    return true;
  case DX_MSG_JOIN:
    if (!read_room (f, m, err))
      return false;
    if (f[F_SINCE].count) {
      if (!dx_msg_get_u64 (&f[F_SINCE], &m->since, err))
        return false;
      m->has_since = true;
    }
    return true;
  case DX_MSG_LEAVE:
  case DX_MSG_LEFT: return read_room (f, m, err);
  case DX_MSG_SEND:
    if (!read_room (f, m, err))
      return false;
    if (!dx_msg_field_required (&f[F_TEXT], err)
        || !dx_msg_get_text (&f[F_TEXT], m->text, &m->text_len, err))
      return false;
    return dx_msg_get_cid (&f[F_CID], m->cid, &m->has_cid, err);
  case DX_MSG_PING: return read_verbatim_t (f, m, err);
  case DX_MSG_WELCOME:
    return dx_msg_field_required (&f[F_NICK], err)
           && dx_msg_get_nick (&f[F_NICK], m->nick, true, err)
           && dx_msg_field_required (&f[F_TOKEN], err)
           && dx_msg_get_name (&f[F_TOKEN], m->token, sizeof m->token, dx_token_valid,
                               DX_MSG_TOKEN_RULE, err)
           && dx_msg_field_required (&f[F_SERVER], err)
           && dx_msg_get_string (&f[F_SERVER], m->server, sizeof m->server, NULL, NULL, err)
           && (f[F_EPOCH].count == 0
               || dx_msg_get_name (&f[F_EPOCH], m->epoch, sizeof m->epoch, dx_epoch_valid,
                                   DX_MSG_EPOCH_RULE, err))
           && (m->has_nick = m->has_token = true);
  case DX_MSG_JOINED:
    return read_room (f, m, err) && dx_msg_field_required (&f[F_LAST_ID], err)
           && dx_msg_get_u64 (&f[F_LAST_ID], &m->last_id, err)
           && dx_msg_field_required (&f[F_EPOCH], err)
           && dx_msg_get_name (&f[F_EPOCH], m->epoch, sizeof m->epoch, dx_epoch_valid,
                               DX_MSG_EPOCH_RULE, err);
  case DX_MSG_ACK:
    if (!read_room (f, m, err) || !dx_msg_field_required (&f[F_ID], err)
        || !dx_msg_get_u64 (&f[F_ID], &m->id, err) || !dx_msg_field_required (&f[F_TS], err)
        || !dx_msg_get_u64 (&f[F_TS], &m->ts, err))
      return false;
    return dx_msg_get_cid (&f[F_CID], m->cid, &m->has_cid, err);
  case DX_MSG_PONG:
    return read_verbatim_t (f, m, err) && dx_msg_field_required (&f[F_TS], err)
           && dx_msg_get_u64 (&f[F_TS], &m->ts, err);
  case DX_MSG_MESSAGE: return read_chat_message (f, m, err);
  case DX_MSG_PRESENCE: {
    char state[8];
    if (!read_room (f, m, err) || !dx_msg_field_required (&f[F_NICK], err)
        || !dx_msg_get_nick (&f[F_NICK], m->nick, true, err)
        || !dx_msg_field_required (&f[F_STATE], err))
      return false;
    if (!dx_msg_get_string (&f[F_STATE], state, sizeof state, NULL, NULL, err)
        || (strcmp (state, "join") != 0 && strcmp (state, "leave") != 0))
      return dx_msg_fail (err, dx_msg_bad_request, "state",
                          "field 'state': must be \"join\" or \"leave\"");
    m->joined = strcmp (state, "join") == 0;
    m->has_nick = true;
    return true;
  }
  case DX_MSG_ERROR:
    if (!dx_msg_field_required (&f[F_CODE], err)
        || !dx_msg_get_name (&f[F_CODE], m->code, sizeof m->code, dx_code_valid, DX_MSG_CODE_RULE,
                             err)
        || !dx_msg_field_required (&f[F_MESSAGE], err))
      return false;
    {
      bool nul;
      if (!dx_msg_get_string (&f[F_MESSAGE], m->text, sizeof m->text, &m->text_len, &nul, err))
        return false;
      if (nul)
        return dx_msg_fail (err, dx_msg_bad_request, "message",
                            "field 'message': must not contain NUL");
      /* Cut like dx_encode_error does, so decode -> encode -> decode is
       * stable; the text is only shown to a human. */
      m->text_len = dx_msg_error_text_len (m->text);
      m->text[m->text_len] = '\0';
    }
    /* rate_limited (docs/protocol.md §9): when to try again, in ms. */
    if (f[F_RETRY_AFTER].count) {
      if (!dx_msg_get_u64 (&f[F_RETRY_AFTER], &m->retry_after, err))
        return false;
      m->has_retry_after = true;
    }
    return dx_msg_get_cid (&f[F_CID], m->cid, &m->has_cid, err);
  case DX_MSG_NONE: break;
  }
  return dx_msg_fail (err, dx_msg_bad_request, "type", "field 'type': unknown type");
}

static bool
direction_allows (dx_msg_dir dir, dx_msg_type t)
{
  bool from_client = t >= DX_MSG_HELLO && t <= DX_MSG_PING;
  bool from_server = t >= DX_MSG_WELCOME && t <= DX_MSG_ERROR;
  return dir == DX_MSG_FROM_ANY      ? (from_client || from_server)
         : dir == DX_MSG_FROM_CLIENT ? from_client
                                     : from_server;
}

dx_msg_type
dx_msg_peek_type (const char *json, size_t len)
{
  dx_json_limits lim;
  dx_msg_json_limits (&lim, len);
  dx_json_reader r;
  dx_json_reader_init (&r, json, len, &lim);
  if (!dx_json_object_begin (&r))
    return DX_MSG_NONE;
  char key[8];
  int k;
  while ((k = dx_json_object_next (&r, key, sizeof key, NULL)) > 0) {
    if (strcmp (key, "type") == 0) {
      char name[16];
      if (!dx_json_read_string (&r, name, sizeof name, NULL, NULL))
        return DX_MSG_NONE;
      for (size_t i = 1; i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp (name, type_names[i]) == 0)
          return (dx_msg_type) i;
      return DX_MSG_NONE;
    }
    if (!dx_json_skip (&r))
      return DX_MSG_NONE;
  }
  return DX_MSG_NONE;
}

bool
dx_msg_decode (const char *json, size_t len, dx_msg_dir dir, dx_msg *out, dx_msg_error *err)
{
  dx_msg_field f[F_COUNT];
  init_msg_fields (f);
  dx_msg_clear (out);
  size_t max = dir == DX_MSG_FROM_CLIENT ? DX_LINE_MAX : DX_MSG_ENCODED_MAX;
  if (!dx_msg_collect_document (json, len, max, f, F_COUNT, err))
    return false;
  char type[16];
  if (!dx_msg_field_required (&f[F_TYPE], err))
    return false;
  if (!dx_msg_get_string (&f[F_TYPE], type, sizeof type, NULL, NULL, err)) {
    if (err && err->code == dx_msg_too_large)
      return dx_msg_fail (err, dx_msg_bad_request, "type", "field 'type': unknown type");
    return false;
  }
  for (int t = DX_MSG_HELLO; t <= DX_MSG_ERROR; t++)
    if (strcmp (type, type_names[t]) == 0 && direction_allows (dir, (dx_msg_type) t))
      out->type = (dx_msg_type) t;
  if (out->type == DX_MSG_NONE)
    return dx_msg_fail (err, dx_msg_bad_request, "type", "field 'type': unknown type '%s'", type);
  return read_members_of_type (f, out, err);
}

bool
dx_msg_decode_chat_message (dx_json_reader *r, dx_msg *out, dx_msg_error *err)
{
  dx_msg_field f[F_COUNT];
  init_msg_fields (f);
  dx_msg_clear (out);
  if (!dx_msg_collect (r, f, F_COUNT, err))
    return false;
  if (f[F_TYPE].count) {
    char type[16];
    if (!dx_msg_get_string (&f[F_TYPE], type, sizeof type, NULL, NULL, err)
        || strcmp (type, "message") != 0)
      return dx_msg_fail (err, dx_msg_bad_request, "type", "field 'type': must be \"message\"");
  }
  return read_chat_message (f, out, err);
}
