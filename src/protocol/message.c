#include "protocol/compiler.h"
#include "protocol/message.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "protocol/utf8.h"

/* Decoding works in two passes over one object. Pass one walks the
 * members, skipping (and so validating) every value and remembering the
 * raw JSON slice of each member whose name we know. Pass two, once the
 * "type" is known, reads only the members that type uses. This is what
 * lets a member that means nothing to this type hold any value ("unknown
 * fields are ignored") while the members it does use are checked strictly,
 * and it needs no allocation: a slice is two words. */

#define HTTP_BODY_MAX (64 * 1024)
#define ANSWER_MAX (32u * 1024 * 1024) /* a poll answer of 1000 long messages */

/* JSON's four whitespace bytes (RFC 8259 §2). */
static bool
is_json_ws (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *const type_names[] = {
  [DX_MSG_NONE] = NULL,          [DX_MSG_HELLO] = "hello",     [DX_MSG_JOIN] = "join",
  [DX_MSG_LEAVE] = "leave",      [DX_MSG_SEND] = "send",       [DX_MSG_PING] = "ping",
  [DX_MSG_WELCOME] = "welcome",  [DX_MSG_JOINED] = "joined",   [DX_MSG_LEFT] = "left",
  [DX_MSG_ACK] = "ack",          [DX_MSG_PONG] = "pong",       [DX_MSG_MESSAGE] = "message",
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

/* Length of an error message cut to DX_ERROR_TEXT_MAX bytes (below). */
static size_t cut_message (const char *s);

/* ---- errors ---- */

static const char BAD_REQUEST[] = "bad_request";
static const char TOO_LARGE[] = "too_large";

static bool
merr (dx_msg_error *err, const char *code, const char *field, const char *fmt, ...)
    DX_PRINTF_FORMAT (4, 5);

static bool
merr (dx_msg_error *err, const char *code, const char *field, const char *fmt, ...)
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
static bool
doc_error (dx_msg_error *err, const dx_json_reader *r)
{
  dx_json_errc c = r->error.code;
  const char *code = c == DX_JSON_E_TOO_BIG || c == DX_JSON_E_TOO_LONG ? TOO_LARGE : BAD_REQUEST;
  if (c == DX_JSON_E_TYPE) /* only object_begin can say this here */
    return merr (err, code, "", "expected a JSON object");
  return merr (err, code, "", "invalid JSON at byte %zu: %s", r->error.offset,
               dx_json_strerror (c));
}

/* A reader error inside the value of member `key` (invalid UTF-8 in a
 * string, a lone surrogate, a bad number, ...): the member is named, so a
 * client learns which field was wrong. Over-long keys read as "". */
static bool
value_error (dx_msg_error *err, const dx_json_reader *r, const char *key)
{
  if (!key[0])
    return doc_error (err, r);
  dx_json_errc c = r->error.code;
  const char *code = c == DX_JSON_E_TOO_BIG || c == DX_JSON_E_TOO_LONG ? TOO_LARGE : BAD_REQUEST;
  return merr (err, code, key, "field '%s': invalid JSON at byte %zu: %s", key, r->error.offset,
               dx_json_strerror (c));
}

/* ---- pass one: collect member slices ---- */

typedef struct {
  const char *name;
  const char *raw; /* JSON text of the value (may start with whitespace) */
  size_t len;
  unsigned count;
} field;

static field *
find (field *f, size_t nf, const char *name)
{
  for (size_t i = 0; i < nf; i++)
    if (strcmp (f[i].name, name) == 0)
      return &f[i];
  return NULL;
}

/* Read the object at r, filling the slices of the named fields. */
static bool
collect (dx_json_reader *r, field *f, size_t nf, dx_msg_error *err)
{
  char key[24];
  size_t klen;
  int k;
  if (!dx_json_object_begin (r))
    return doc_error (err, r);
  while ((k = dx_json_object_next (r, key, sizeof key, &klen)) > 0) {
    const char *at = r->p;
    if (!dx_json_skip (r))
      return value_error (err, r, key);
    field *x = key[0] ? find (f, nf, key) : NULL;
    if (x) {
      x->raw = at;
      x->len = (size_t) (r->p - at);
      x->count++;
    }
  }
  if (k < 0)
    return doc_error (err, r);
  return true;
}

static void
limits_for (dx_json_limits *lim, size_t max_input)
{
  memset (lim, 0, sizeof *lim);
  lim->max_depth = 32;
  lim->max_input = max_input;
  lim->max_string = max_input;
}

/* Collect from a whole document of at most max_input bytes. */
static bool
collect_doc (const char *json, size_t len, size_t max_input, field *f, size_t nf,
             dx_msg_error *err)
{
  if (!json && len)
    return merr (err, BAD_REQUEST, "", "no document");
  if (len > max_input)
    return merr (err, TOO_LARGE, "", "document longer than %zu bytes", max_input);
  dx_json_limits lim;
  limits_for (&lim, max_input);
  dx_json_reader r;
  dx_json_reader_init (&r, json, len, &lim);
  if (!collect (&r, f, nf, err))
    return false;
  if (!dx_json_finish (&r))
    return doc_error (err, &r);
  return true;
}

/* ---- pass two: typed getters ---- */

static bool
once (const field *x, dx_msg_error *err)
{
  if (x->count > 1)
    return merr (err, BAD_REQUEST, x->name, "field '%s': given more than once", x->name);
  return true;
}

static bool
required (const field *x, dx_msg_error *err)
{
  if (x->count == 0)
    return merr (err, BAD_REQUEST, x->name, "field '%s': missing", x->name);
  return once (x, err);
}

/* A sub-reader over one member's value. */
static void
sub_reader (dx_json_reader *r, const field *x)
{
  dx_json_limits lim;
  limits_for (&lim, x->len);
  dx_json_reader_init (r, x->raw, x->len, &lim);
}

/* The string value of x into buf (cap incl. NUL). NUL bytes and the empty
 * string are left to the caller's validation. */
static bool
get_string (const field *x, char *buf, size_t cap, size_t *len, bool *has_nul, dx_msg_error *err)
{
  if (!once (x, err))
    return false;
  dx_json_reader r;
  sub_reader (&r, x);
  size_t n = 0;
  bool nul = false;
  if (!dx_json_read_string (&r, buf, cap, &n, &nul)) {
    if (r.error.code == DX_JSON_E_TOO_LONG)
      return merr (err, TOO_LARGE, x->name, "field '%s': longer than %zu bytes", x->name,
                   cap - 1);
    return merr (err, BAD_REQUEST, x->name, "field '%s': must be a string", x->name);
  }
  if (len)
    *len = n;
  if (has_nul)
    *has_nul = nul;
  else if (nul)
    return merr (err, BAD_REQUEST, x->name, "field '%s': must not contain NUL", x->name);
  return true;
}

static bool
get_u64 (const field *x, uint64_t *v, dx_msg_error *err)
{
  if (!once (x, err))
    return false;
  dx_json_reader r;
  sub_reader (&r, x);
  if (!dx_json_read_u64 (&r, v)) {
    if (r.error.code == DX_JSON_E_RANGE)
      return merr (err, BAD_REQUEST, x->name,
                   "field '%s': must be an integer between 0 and 18446744073709551615", x->name);
    return merr (err, BAD_REQUEST, x->name, "field '%s': must be an unsigned integer", x->name);
  }
  return true;
}

/* Named string kinds with their validators and messages. */
typedef bool (*validator) (const char *, size_t);

static bool
get_name (const field *x, char *buf, size_t cap, validator ok, const char *what,
          dx_msg_error *err)
{
  size_t n;
  if (!get_string (x, buf, cap, &n, NULL, err))
    return false;
  if (!ok (buf, n))
    return merr (err, BAD_REQUEST, x->name, "field '%s': %s", x->name, what);
  return true;
}

#define NICK_RULE "must be " DX_NICK_RULE
#define ROOM_RULE "must be " DX_ROOM_RULE
#define CID_RULE "must be " DX_CID_RULE
#define TOKEN_RULE "must be " DX_TOKEN_RULE
#define EPOCH_RULE "must be " DX_EPOCH_RULE
#define CODE_RULE "must be " DX_CODE_RULE
#define PASSWORD_RULE "must be " DX_PASSWORD_RULE

static bool
get_nick (const field *x, char *buf, bool allow_reserved, dx_msg_error *err)
{
  if (!get_name (x, buf, DX_NICK_MAX + 1, dx_nick_valid, NICK_RULE, err))
    return false;
  if (!allow_reserved && dx_nick_reserved (buf, strlen (buf)))
    return merr (err, BAD_REQUEST, x->name, "field '%s': the nick '%s' is reserved", x->name,
                 buf);
  return true;
}

static bool
get_text (const field *x, char *buf, size_t *len, dx_msg_error *err)
{
  bool nul;
  if (!get_string (x, buf, DX_TEXT_MAX + 1, len, &nul, err))
    return false;
  if (nul)
    return merr (err, BAD_REQUEST, x->name, "field '%s': must not contain NUL", x->name);
  if (*len == 0)
    return merr (err, BAD_REQUEST, x->name, "field '%s': must not be empty", x->name);
  return true;
}

static bool
get_password (const field *x, char *buf, dx_msg_error *err)
{
  size_t n;
  bool nul;
  if (!get_string (x, buf, DX_PASSWORD_MAX + 1, &n, &nul, err))
    return false;
  if (nul)
    return merr (err, BAD_REQUEST, x->name, "field '%s': %s", x->name, PASSWORD_RULE);
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
  F_COUNT
};

static void
msg_fields (field f[F_COUNT])
{
  static const char *const names[F_COUNT] = {
    "type", "nick", "token", "password", "room",   "since", "text",    "cid",   "t",
    "id",   "from", "ts",    "last_id",  "epoch", "server", "code", "message", "state",
  };
  for (int i = 0; i < F_COUNT; i++) {
    f[i].name = names[i];
    f[i].raw = NULL;
    f[i].len = 0;
    f[i].count = 0;
  }
}

static bool
fill_chat_message (field *f, dx_msg *m, dx_msg_error *err)
{
  m->type = DX_MSG_MESSAGE;
  if (!required (&f[F_ROOM], err) || !get_name (&f[F_ROOM], m->room, sizeof m->room, dx_room_valid, ROOM_RULE, err))
    return false;
  if (!required (&f[F_ID], err) || !get_u64 (&f[F_ID], &m->id, err))
    return false;
  if (!required (&f[F_FROM], err) || !get_nick (&f[F_FROM], m->from, true, err))
    return false;
  if (!required (&f[F_TEXT], err) || !get_text (&f[F_TEXT], m->text, &m->text_len, err))
    return false;
  if (!required (&f[F_TS], err) || !get_u64 (&f[F_TS], &m->ts, err))
    return false;
  if (f[F_CID].count) {
    if (!get_name (&f[F_CID], m->cid, sizeof m->cid, dx_cid_valid, CID_RULE, err))
      return false;
    m->has_cid = true;
  }
  return true;
}

static bool
fill_room_only (field *f, dx_msg *m, dx_msg_error *err)
{
  return required (&f[F_ROOM], err) &&
         get_name (&f[F_ROOM], m->room, sizeof m->room, dx_room_valid, ROOM_RULE, err);
}

static bool
fill_t (field *f, dx_msg *m, dx_msg_error *err)
{
  field *x = &f[F_T];
  if (x->count == 0)
    return true;
  if (!once (x, err))
    return false;
  /* Any value, already validated by the member walk: keep its text as is
   * (an echo must not re-encode), without the whitespace around it. */
  const char *p = x->raw, *e = x->raw + x->len;
  while (p < e && is_json_ws (*p))
    p++;
  while (e > p && is_json_ws (e[-1]))
    e--;
  m->t = p;
  m->t_len = (size_t) (e - p);
  m->has_t = true;
  return true;
}

static bool
fill_by_type (field *f, dx_msg *m, dx_msg_error *err)
{
  switch (m->type) {
  case DX_MSG_HELLO:
    if (f[F_NICK].count && f[F_TOKEN].count)
      return merr (err, BAD_REQUEST, "token", "give either 'nick' or 'token', not both");
    if (f[F_NICK].count) {
      if (!get_nick (&f[F_NICK], m->nick, false, err))
        return false;
      m->has_nick = true;
    } else if (f[F_TOKEN].count) {
      if (!get_name (&f[F_TOKEN], m->token, sizeof m->token, dx_token_valid, TOKEN_RULE, err))
        return false;
      m->has_token = true;
    } else {
      return merr (err, BAD_REQUEST, "nick", "field 'nick' or 'token': missing");
    }
    if (f[F_PASSWORD].count) {
      if (!get_password (&f[F_PASSWORD], m->password, err))
        return false;
      m->has_password = true;
    }
    return true;
  case DX_MSG_JOIN:
    if (!fill_room_only (f, m, err))
      return false;
    if (f[F_SINCE].count) {
      if (!get_u64 (&f[F_SINCE], &m->since, err))
        return false;
      m->has_since = true;
    }
    return true;
  case DX_MSG_LEAVE:
  case DX_MSG_LEFT:
    return fill_room_only (f, m, err);
  case DX_MSG_SEND:
    if (!fill_room_only (f, m, err))
      return false;
    if (!required (&f[F_TEXT], err) || !get_text (&f[F_TEXT], m->text, &m->text_len, err))
      return false;
    if (f[F_CID].count) {
      if (!get_name (&f[F_CID], m->cid, sizeof m->cid, dx_cid_valid, CID_RULE, err))
        return false;
      m->has_cid = true;
    }
    return true;
  case DX_MSG_PING:
    return fill_t (f, m, err);
  case DX_MSG_WELCOME:
    return required (&f[F_NICK], err) && get_nick (&f[F_NICK], m->nick, true, err) &&
           required (&f[F_TOKEN], err) &&
           get_name (&f[F_TOKEN], m->token, sizeof m->token, dx_token_valid, TOKEN_RULE, err) &&
           required (&f[F_SERVER], err) &&
           get_string (&f[F_SERVER], m->server, sizeof m->server, NULL, NULL, err) &&
           (f[F_EPOCH].count == 0 ||
            get_name (&f[F_EPOCH], m->epoch, sizeof m->epoch, dx_epoch_valid, EPOCH_RULE, err)) &&
           (m->has_nick = m->has_token = true);
  case DX_MSG_JOINED:
    return fill_room_only (f, m, err) && required (&f[F_LAST_ID], err) &&
           get_u64 (&f[F_LAST_ID], &m->last_id, err) && required (&f[F_EPOCH], err) &&
           get_name (&f[F_EPOCH], m->epoch, sizeof m->epoch, dx_epoch_valid, EPOCH_RULE, err);
  case DX_MSG_ACK:
    if (!fill_room_only (f, m, err) || !required (&f[F_ID], err) ||
        !get_u64 (&f[F_ID], &m->id, err) || !required (&f[F_TS], err) ||
        !get_u64 (&f[F_TS], &m->ts, err))
      return false;
    if (f[F_CID].count) {
      if (!get_name (&f[F_CID], m->cid, sizeof m->cid, dx_cid_valid, CID_RULE, err))
        return false;
      m->has_cid = true;
    }
    return true;
  case DX_MSG_PONG:
    return fill_t (f, m, err) && required (&f[F_TS], err) && get_u64 (&f[F_TS], &m->ts, err);
  case DX_MSG_MESSAGE:
    return fill_chat_message (f, m, err);
  case DX_MSG_PRESENCE: {
    char state[8];
    if (!fill_room_only (f, m, err) || !required (&f[F_NICK], err) ||
        !get_nick (&f[F_NICK], m->nick, true, err) || !required (&f[F_STATE], err))
      return false;
    if (!get_string (&f[F_STATE], state, sizeof state, NULL, NULL, err) ||
        (strcmp (state, "join") != 0 && strcmp (state, "leave") != 0))
      return merr (err, BAD_REQUEST, "state", "field 'state': must be \"join\" or \"leave\"");
    m->joined = strcmp (state, "join") == 0;
    m->has_nick = true;
    return true;
  }
  case DX_MSG_ERROR:
    if (!required (&f[F_CODE], err) ||
        !get_name (&f[F_CODE], m->code, sizeof m->code, dx_code_valid, CODE_RULE, err) ||
        !required (&f[F_MESSAGE], err))
      return false;
    {
      bool nul;
      if (!get_string (&f[F_MESSAGE], m->text, sizeof m->text, &m->text_len, &nul, err))
        return false;
      if (nul)
        return merr (err, BAD_REQUEST, "message", "field 'message': must not contain NUL");
      /* Cut like dx_encode_error does, so decode -> encode -> decode is
       * stable; the text is only shown to a human. */
      m->text_len = cut_message (m->text);
      m->text[m->text_len] = '\0';
    }
    return true;
  case DX_MSG_NONE:
    break;
  }
  return merr (err, BAD_REQUEST, "type", "field 'type': unknown type");
}

static bool
direction_allows (dx_msg_dir dir, dx_msg_type t)
{
  bool from_client = t >= DX_MSG_HELLO && t <= DX_MSG_PING;
  bool from_server = t >= DX_MSG_WELCOME && t <= DX_MSG_ERROR;
  return dir == DX_MSG_FROM_ANY ? (from_client || from_server)
                                : dir == DX_MSG_FROM_CLIENT ? from_client : from_server;
}

dx_msg_type
dx_msg_peek_type (const char *json, size_t len)
{
  dx_json_limits lim;
  limits_for (&lim, len);
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
  field f[F_COUNT];
  msg_fields (f);
  dx_msg_clear (out);
  size_t max = dir == DX_MSG_FROM_CLIENT ? DX_LINE_MAX : DX_MSG_ENCODED_MAX;
  if (!collect_doc (json, len, max, f, F_COUNT, err))
    return false;
  char type[16];
  if (!required (&f[F_TYPE], err))
    return false;
  if (!get_string (&f[F_TYPE], type, sizeof type, NULL, NULL, err)) {
    if (err && err->code == TOO_LARGE)
      return merr (err, BAD_REQUEST, "type", "field 'type': unknown type");
    return false;
  }
  for (int t = DX_MSG_HELLO; t <= DX_MSG_ERROR; t++)
    if (strcmp (type, type_names[t]) == 0 && direction_allows (dir, (dx_msg_type) t))
      out->type = (dx_msg_type) t;
  if (out->type == DX_MSG_NONE)
    return merr (err, BAD_REQUEST, "type", "field 'type': unknown type '%s'", type);
  return fill_by_type (f, out, err);
}

bool
dx_msg_decode_chat_message (dx_json_reader *r, dx_msg *out, dx_msg_error *err)
{
  field f[F_COUNT];
  msg_fields (f);
  dx_msg_clear (out);
  if (!collect (r, f, F_COUNT, err))
    return false;
  if (f[F_TYPE].count) {
    char type[16];
    if (!get_string (&f[F_TYPE], type, sizeof type, NULL, NULL, err) ||
        strcmp (type, "message") != 0)
      return merr (err, BAD_REQUEST, "type", "field 'type': must be \"message\"");
  }
  return fill_chat_message (f, out, err);
}

/* ---- encoding ---- */

/* An object being written: members are appended without checking each
 * step, because a failed dx_buffer refuses every later append; obj_end
 * checks once and rolls the buffer back to where the object began. */
typedef struct {
  dx_buffer *b;
  size_t old;
  bool was_failed;
  bool first;
} obj;

static void
obj_begin (obj *o, dx_buffer *b)
{
  o->b = b;
  o->old = b->len;
  o->was_failed = b->failed;
  o->first = true;
  dx_buffer_append_char (b, '{');
}

static void
key (obj *o, const char *k)
{
  if (!o->first)
    dx_buffer_append_char (o->b, ',');
  o->first = false;
  dx_json_write_key (o->b, k);
}

static void
k_str (obj *o, const char *k, const char *s)
{
  key (o, k);
  dx_json_write_cstr (o->b, s);
}

static void
k_strn (obj *o, const char *k, const char *s, size_t n)
{
  key (o, k);
  dx_json_write_string (o->b, s, n);
}

static void
k_u64 (obj *o, const char *k, uint64_t v)
{
  key (o, k);
  dx_json_write_u64 (o->b, v);
}

static void
k_raw (obj *o, const char *k, const char *raw, size_t n)
{
  key (o, k);
  dx_json_write_raw (o->b, raw, n);
}

static bool
obj_end (obj *o)
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

static bool
room_ok (const char *s)
{
  return s && dx_room_valid (s, strlen (s));
}

static bool
nick_ok (const char *s)
{
  return s && dx_nick_valid (s, strlen (s));
}

static bool
cid_ok (const char *s)
{
  return !s || dx_cid_valid (s, strlen (s)); /* NULL = omitted */
}

static bool
str_ok (const char *s, size_t max)
{
  return s && strlen (s) <= max && dx_utf8_valid (s, strlen (s));
}

static bool
type_member (obj *o, dx_buffer *b, const char *type)
{
  obj_begin (o, b);
  k_str (o, "type", type);
  return true;
}

bool
dx_encode_message (dx_buffer *b, const dx_chat_message *m)
{
  if (!m || !room_ok (m->room) || !nick_ok (m->from) || !dx_text_valid (m->text, m->text_len) ||
      !cid_ok (m->cid))
    return false;
  obj o;
  type_member (&o, b, "message");
  k_str (&o, "room", m->room);
  k_u64 (&o, "id", m->id);
  k_str (&o, "from", m->from);
  k_strn (&o, "text", m->text, m->text_len);
  k_u64 (&o, "ts", m->ts);
  if (m->cid)
    k_str (&o, "cid", m->cid);
  return obj_end (&o);
}

bool
dx_encode_welcome_epoch (dx_buffer *b, const char *nick, const char *token, const char *server,
                         const char *epoch)
{
  if (!nick_ok (nick) || !token || !dx_token_valid (token, strlen (token)) ||
      !str_ok (server, DX_SERVER_MAX) || (epoch && !dx_epoch_valid (epoch, strlen (epoch))))
    return false;
  obj o;
  type_member (&o, b, "welcome");
  k_str (&o, "nick", nick);
  k_str (&o, "token", token);
  k_str (&o, "server", server);
  if (epoch)
    k_str (&o, "epoch", epoch);
  return obj_end (&o);
}

bool
dx_encode_welcome (dx_buffer *b, const char *nick, const char *token, const char *server)
{
  return dx_encode_welcome_epoch (b, nick, token, server, NULL);
}

bool
dx_encode_joined (dx_buffer *b, const char *room, uint64_t last_id, const char *epoch)
{
  if (!room_ok (room) || !epoch || !dx_epoch_valid (epoch, strlen (epoch)))
    return false;
  obj o;
  type_member (&o, b, "joined");
  k_str (&o, "room", room);
  k_u64 (&o, "last_id", last_id);
  k_str (&o, "epoch", epoch);
  return obj_end (&o);
}

/* {"type":<type>,"room":<room>}: leave and left carry nothing else. */
static bool
encode_room_only (dx_buffer *b, const char *type, const char *room)
{
  if (!room_ok (room))
    return false;
  obj o;
  type_member (&o, b, type);
  k_str (&o, "room", room);
  return obj_end (&o);
}

bool
dx_encode_left (dx_buffer *b, const char *room)
{
  return encode_room_only (b, "left", room);
}

bool
dx_encode_ack (dx_buffer *b, const char *room, uint64_t id, uint64_t ts, const char *cid)
{
  if (!room_ok (room) || !cid_ok (cid))
    return false;
  obj o;
  type_member (&o, b, "ack");
  if (cid)
    k_str (&o, "cid", cid);
  k_str (&o, "room", room);
  k_u64 (&o, "id", id);
  k_u64 (&o, "ts", ts);
  return obj_end (&o);
}

/* t must be exactly one JSON value, with no whitespace around it (it is
 * echoed verbatim, so what is checked is what is sent). */
static bool
raw_t_ok (const char *t, size_t len)
{
  if (len == 0 || is_json_ws (t[0]) || is_json_ws (t[len - 1]))
    return false;
  dx_json_limits lim;
  limits_for (&lim, len);
  return dx_json_validate (t, len, &lim, NULL);
}

bool
dx_encode_pong (dx_buffer *b, const char *t, size_t t_len, uint64_t ts)
{
  if (t && !raw_t_ok (t, t_len))
    return false;
  obj o;
  type_member (&o, b, "pong");
  if (t)
    k_raw (&o, "t", t, t_len);
  k_u64 (&o, "ts", ts);
  return obj_end (&o);
}

bool
dx_encode_presence (dx_buffer *b, const char *room, const char *nick, bool joined)
{
  if (!room_ok (room) || !nick_ok (nick))
    return false;
  obj o;
  type_member (&o, b, "presence");
  k_str (&o, "room", room);
  k_str (&o, "nick", nick);
  k_str (&o, "state", joined ? "join" : "leave");
  return obj_end (&o);
}

/* Length of message cut to DX_ERROR_TEXT_MAX bytes on a UTF-8 boundary. */
static size_t
cut_message (const char *s)
{
  size_t n = strlen (s);
  if (n <= DX_ERROR_TEXT_MAX)
    return n;
  n = DX_ERROR_TEXT_MAX;
  while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
    n--;
  return n;
}

static bool
error_args_ok (const char *code, const char *message, size_t *mlen)
{
  if (!code || !dx_code_valid (code, strlen (code)) || !message)
    return false;
  *mlen = cut_message (message);
  return dx_utf8_valid (message, *mlen);
}

bool
dx_encode_error (dx_buffer *b, const char *code, const char *message)
{
  size_t mlen;
  if (!error_args_ok (code, message, &mlen))
    return false;
  obj o;
  type_member (&o, b, "error");
  k_str (&o, "code", code);
  k_strn (&o, "message", message, mlen);
  return obj_end (&o);
}

bool
dx_encode_hello (dx_buffer *b, const char *nick, const char *token, const char *password)
{
  if ((nick != NULL) == (token != NULL))
    return false;
  if (nick && !nick_ok (nick))
    return false;
  if (token && !dx_token_valid (token, strlen (token)))
    return false;
  if (password && !dx_password_valid (password, strlen (password)))
    return false;
  obj o;
  type_member (&o, b, "hello");
  if (nick)
    k_str (&o, "nick", nick);
  else
    k_str (&o, "token", token);
  if (password)
    k_str (&o, "password", password);
  return obj_end (&o);
}

bool
dx_encode_join (dx_buffer *b, const char *room, bool has_since, uint64_t since)
{
  if (!room_ok (room))
    return false;
  obj o;
  type_member (&o, b, "join");
  k_str (&o, "room", room);
  if (has_since)
    k_u64 (&o, "since", since);
  return obj_end (&o);
}

bool
dx_encode_leave (dx_buffer *b, const char *room)
{
  return encode_room_only (b, "leave", room);
}

bool
dx_encode_send (dx_buffer *b, const char *room, const char *text, size_t text_len, const char *cid)
{
  if (!room_ok (room) || !dx_text_valid (text, text_len) || !cid_ok (cid))
    return false;
  obj o;
  type_member (&o, b, "send");
  k_str (&o, "room", room);
  k_strn (&o, "text", text, text_len);
  if (cid)
    k_str (&o, "cid", cid);
  return obj_end (&o);
}

bool
dx_encode_ping (dx_buffer *b, const char *t, size_t t_len)
{
  if (t && !raw_t_ok (t, t_len))
    return false;
  obj o;
  type_member (&o, b, "ping");
  if (t)
    k_raw (&o, "t", t, t_len);
  return obj_end (&o);
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
    dx_chat_message c = { m->room, m->id,  m->from, m->text,
                          m->text_len, m->ts, m->has_cid ? m->cid : NULL };
    return dx_encode_message (b, &c);
  }
  case DX_MSG_PRESENCE: return dx_encode_presence (b, m->room, m->nick, m->joined);
  case DX_MSG_ERROR: {
    /* text may hold NUL-free text of text_len bytes; it is NUL-terminated. */
    if (memchr (m->text, '\0', m->text_len))
      return false;
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

/* ---- HTTP bodies ---- */

bool
dx_decode_session_request (const char *json, size_t len, dx_session_request *out,
                           dx_msg_error *err)
{
  field f[] = { { "nick", NULL, 0, 0 }, { "password", NULL, 0, 0 } };
  memset (out, 0, sizeof *out);
  if (!collect_doc (json, len, HTTP_BODY_MAX, f, 2, err))
    return false;
  if (!required (&f[0], err) || !get_nick (&f[0], out->nick, false, err))
    return false;
  if (f[1].count) {
    if (!get_password (&f[1], out->password, err))
      return false;
    out->has_password = true;
  }
  return true;
}

bool
dx_encode_session_request (dx_buffer *b, const char *nick, const char *password)
{
  if (!nick_ok (nick) || (password && !dx_password_valid (password, strlen (password))))
    return false;
  obj o;
  obj_begin (&o, b);
  k_str (&o, "nick", nick);
  if (password)
    k_str (&o, "password", password);
  return obj_end (&o);
}

bool
dx_decode_post_body (const char *json, size_t len, dx_post_body *out, dx_msg_error *err)
{
  field f[] = { { "text", NULL, 0, 0 }, { "cid", NULL, 0, 0 } };
  memset (out, 0, sizeof *out);
  if (!collect_doc (json, len, HTTP_BODY_MAX, f, 2, err))
    return false;
  if (!required (&f[0], err) || !get_text (&f[0], out->text, &out->text_len, err))
    return false;
  if (f[1].count) {
    if (!get_name (&f[1], out->cid, sizeof out->cid, dx_cid_valid, CID_RULE, err))
      return false;
    out->has_cid = true;
  }
  return true;
}

bool
dx_encode_post_body (dx_buffer *b, const char *text, size_t text_len, const char *cid)
{
  if (!dx_text_valid (text, text_len) || !cid_ok (cid))
    return false;
  obj o;
  obj_begin (&o, b);
  k_strn (&o, "text", text, text_len);
  if (cid)
    k_str (&o, "cid", cid);
  return obj_end (&o);
}

bool
dx_encode_session_answer (dx_buffer *b, const char *token, const char *nick)
{
  if (!token || !dx_token_valid (token, strlen (token)) || !nick_ok (nick))
    return false;
  obj o;
  obj_begin (&o, b);
  k_str (&o, "token", token);
  k_str (&o, "nick", nick);
  return obj_end (&o);
}

bool
dx_decode_session_answer (const char *json, size_t len, char token[DX_TOKEN_MAX + 1],
                          char nick[DX_NICK_MAX + 1], dx_msg_error *err)
{
  field f[] = { { "token", NULL, 0, 0 }, { "nick", NULL, 0, 0 } };
  if (!collect_doc (json, len, HTTP_BODY_MAX, f, 2, err))
    return false;
  return required (&f[0], err) &&
         get_name (&f[0], token, DX_TOKEN_MAX + 1, dx_token_valid, TOKEN_RULE, err) &&
         required (&f[1], err) && get_nick (&f[1], nick, true, err);
}

bool
dx_encode_post_answer (dx_buffer *b, uint64_t id, uint64_t ts)
{
  obj o;
  obj_begin (&o, b);
  k_u64 (&o, "id", id);
  k_u64 (&o, "ts", ts);
  return obj_end (&o);
}

bool
dx_decode_post_answer (const char *json, size_t len, uint64_t *id, uint64_t *ts,
                       dx_msg_error *err)
{
  field f[] = { { "id", NULL, 0, 0 }, { "ts", NULL, 0, 0 } };
  if (!collect_doc (json, len, HTTP_BODY_MAX, f, 2, err))
    return false;
  return required (&f[0], err) && get_u64 (&f[0], id, err) && required (&f[1], err) &&
         get_u64 (&f[1], ts, err);
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
  return dx_buffer_append (b, "],\"last_id\":", 12) && dx_buffer_append_u64 (b, last_id) &&
         dx_buffer_append (b, ",\"epoch\":", 9) && dx_json_write_cstr (b, epoch) &&
         dx_buffer_append_char (b, '}');
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
  field f[] = { { "messages", NULL, 0, 0 }, { "last_id", NULL, 0, 0 }, { "epoch", NULL, 0, 0 } };
  if (!collect_doc (json, len, ANSWER_MAX, f, 3, err))
    return false;
  if (!required (&f[1], err) || !get_u64 (&f[1], last_id, err) || !required (&f[2], err) ||
      !get_name (&f[2], epoch, DX_EPOCH_MAX + 1, dx_epoch_valid, EPOCH_RULE, err) ||
      !required (&f[0], err))
    return false;
  dx_json_reader r;
  sub_reader (&r, &f[0]);
  if (!dx_json_array_begin (&r))
    return merr (err, BAD_REQUEST, "messages", "field 'messages': must be an array");
  dx_msg m;
  int k;
  while ((k = dx_json_array_next (&r)) > 0) {
    if (!dx_msg_decode_chat_message (&r, &m, err))
      return false;
    if (on_message && !on_message (&m, user))
      return merr (err, BAD_REQUEST, "messages", "aborted");
  }
  if (k < 0)
    return value_error (err, &r, "messages");
  return true;
}

bool
dx_encode_rooms (dx_buffer *b, const dx_room_info *rooms, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!room_ok (rooms[i].name))
      return false;
  size_t old = b->len;
  bool was_failed = b->failed;
  dx_buffer_append (b, "{\"rooms\":[", 10);
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      dx_buffer_append_char (b, ',');
    obj o;
    obj_begin (&o, b);
    k_str (&o, "name", rooms[i].name);
    k_u64 (&o, "last_id", rooms[i].last_id);
    k_u64 (&o, "online", rooms[i].online);
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
  field f[] = { { "rooms", NULL, 0, 0 } };
  if (!collect_doc (json, len, ANSWER_MAX, f, 1, err) || !required (&f[0], err))
    return false;
  dx_json_reader r;
  sub_reader (&r, &f[0]);
  if (!dx_json_array_begin (&r))
    return merr (err, BAD_REQUEST, "rooms", "field 'rooms': must be an array");
  int k;
  while ((k = dx_json_array_next (&r)) > 0) {
    field g[] = { { "name", NULL, 0, 0 }, { "last_id", NULL, 0, 0 }, { "online", NULL, 0, 0 } };
    char name[DX_ROOM_MAX + 1];
    uint64_t last = 0, online = 0;
    if (!collect (&r, g, 3, err))
      return false;
    if (!required (&g[0], err) ||
        !get_name (&g[0], name, sizeof name, dx_room_valid, ROOM_RULE, err) ||
        !required (&g[1], err) || !get_u64 (&g[1], &last, err) || !required (&g[2], err) ||
        !get_u64 (&g[2], &online, err))
      return false;
    if (on_room && !on_room (name, last, online, user))
      return merr (err, BAD_REQUEST, "rooms", "aborted");
  }
  if (k < 0)
    return doc_error (err, &r);
  return true;
}

bool
dx_encode_info (dx_buffer *b, const char *server, const char *epoch, uint16_t tcp_port)
{
  if (!str_ok (server, DX_SERVER_MAX) || (epoch && !dx_epoch_valid (epoch, strlen (epoch))))
    return false;
  obj o;
  obj_begin (&o, b);
  k_str (&o, "server", server);
  if (epoch)
    k_str (&o, "epoch", epoch);
  k_u64 (&o, "tcp_port", tcp_port);
  k_raw (&o, "transports", "[\"poll\",\"longpoll\",\"sse\",\"websocket\",\"tcp\"]", 43);
  key (&o, "limits");
  dx_buffer_printf (b, "{\"text_bytes\":%d,\"line_bytes\":%d}", DX_TEXT_MAX, DX_LINE_MAX);
  return obj_end (&o);
}

bool
dx_decode_info (const char *json, size_t len, dx_info *out, dx_msg_error *err)
{
  field f[] = { { "server", NULL, 0, 0 }, { "epoch", NULL, 0, 0 }, { "tcp_port", NULL, 0, 0 },
                { "limits", NULL, 0, 0 } };
  memset (out, 0, sizeof *out);
  if (!collect_doc (json, len, HTTP_BODY_MAX, f, 4, err))
    return false;
  uint64_t port;
  if (!required (&f[0], err) ||
      !get_string (&f[0], out->server, sizeof out->server, NULL, NULL, err) ||
      !required (&f[2], err) || !get_u64 (&f[2], &port, err))
    return false;
  if (port > 65535)
    return merr (err, BAD_REQUEST, "tcp_port", "field 'tcp_port': must be at most 65535");
  out->tcp_port = (uint16_t) port;
  if (f[1].count &&
      !get_name (&f[1], out->epoch, sizeof out->epoch, dx_epoch_valid, EPOCH_RULE, err))
    return false;
  if (f[3].count) {
    field g[] = { { "text_bytes", NULL, 0, 0 }, { "line_bytes", NULL, 0, 0 } };
    dx_json_reader r;
    if (!once (&f[3], err))
      return false;
    sub_reader (&r, &f[3]);
    if (!collect (&r, g, 2, err))
      return merr (err, BAD_REQUEST, "limits", "field 'limits': must be an object");
    if (g[0].count && !get_u64 (&g[0], &out->text_bytes, err))
      return false;
    if (g[1].count && !get_u64 (&g[1], &out->line_bytes, err))
      return false;
  }
  return true;
}

bool
dx_encode_time (dx_buffer *b, uint64_t ts)
{
  obj o;
  obj_begin (&o, b);
  k_u64 (&o, "ts", ts);
  return obj_end (&o);
}

bool
dx_decode_time (const char *json, size_t len, uint64_t *ts, dx_msg_error *err)
{
  field f[] = { { "ts", NULL, 0, 0 } };
  return collect_doc (json, len, HTTP_BODY_MAX, f, 1, err) && required (&f[0], err) &&
         get_u64 (&f[0], ts, err);
}

bool
dx_encode_http_error (dx_buffer *b, const char *code, const char *message)
{
  size_t mlen;
  if (!error_args_ok (code, message, &mlen))
    return false;
  obj o;
  obj_begin (&o, b);
  key (&o, "error");
  obj in;
  obj_begin (&in, b);
  k_str (&in, "code", code);
  k_strn (&in, "message", message, mlen);
  dx_buffer_append_char (b, '}');
  return obj_end (&o);
}

bool
dx_decode_http_error (const char *json, size_t len, char code[DX_CODE_MAX + 1],
                      char message[DX_ERROR_TEXT_MAX + 1], dx_msg_error *err)
{
  field f[] = { { "error", NULL, 0, 0 } };
  if (!collect_doc (json, len, HTTP_BODY_MAX, f, 1, err) || !required (&f[0], err))
    return false;
  field g[] = { { "code", NULL, 0, 0 }, { "message", NULL, 0, 0 } };
  dx_json_reader r;
  sub_reader (&r, &f[0]);
  if (!collect (&r, g, 2, err))
    return merr (err, BAD_REQUEST, "error", "field 'error': must be an object");
  if (!required (&g[0], err) ||
      !get_name (&g[0], code, DX_CODE_MAX + 1, dx_code_valid, CODE_RULE, err) ||
      !required (&g[1], err))
    return false;
  /* A longer message than we would write is cut, not refused: it is only
   * shown to a human. */
  char tmp[DX_TEXT_MAX + 1];
  size_t n;
  if (!get_string (&g[1], tmp, sizeof tmp, &n, NULL, err))
    return false;
  size_t cut = cut_message (tmp);
  memcpy (message, tmp, cut);
  message[cut] = '\0';
  return true;
}
