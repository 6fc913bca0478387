/* Internals shared by the message units: message-decode.c (the member
 * reader), message-encode.c (the object writer) and message-http.c, which
 * uses both. Not for other code: use message.h. */
#ifndef DX_PROTOCOL_MESSAGE_PRIVATE_H
#define DX_PROTOCOL_MESSAGE_PRIVATE_H

#include "protocol/compiler.h"
#include "protocol/message.h"

/* ---- errors (message-decode.c) ---- */

/* The two error words a decoder reports; compared by address. */
extern const char dx_msg_bad_request[];
extern const char dx_msg_too_large[];

/* Fills err (if not NULL) with code, field and a formatted message; returns
 * false, so a decoder can `return dx_msg_fail (...)`. */
bool dx_msg_fail (dx_msg_error *err, const char *code, const char *field, const char *fmt, ...)
    DX_PRINTF_FORMAT (4, 5);
/* A reader error on the document itself (syntax, size, ...). */
bool dx_msg_document_error (dx_msg_error *err, const dx_json_reader *r);
/* A reader error inside the value of member key (named in the error). */
bool dx_msg_value_error (dx_msg_error *err, const dx_json_reader *r, const char *key);

/* Each name rule as the end of a "field 'x': ..." message. */
#define DX_MSG_NICK_RULE "must be " DX_NICK_RULE
#define DX_MSG_ROOM_RULE "must be " DX_ROOM_RULE
#define DX_MSG_CID_RULE "must be " DX_CID_RULE
#define DX_MSG_TOKEN_RULE "must be " DX_TOKEN_RULE
#define DX_MSG_EPOCH_RULE "must be " DX_EPOCH_RULE
#define DX_MSG_CODE_RULE "must be " DX_CODE_RULE
#define DX_MSG_PASSWORD_RULE "must be " DX_PASSWORD_RULE

/* ---- the member reader (message-decode.c) ----
 *
 * Decoding works in two passes over one object. Pass one
 * (dx_msg_collect) walks the members, skipping (and so validating) every
 * value and remembering the raw JSON slice of each member whose name is in
 * the caller's table. Pass two reads only the members the object's kind
 * uses, with the typed getters. So a member that means nothing to this
 * kind may hold any value ("unknown fields are ignored") while the members
 * it does use are checked strictly, and no allocation is needed: a slice
 * is two words. */

typedef struct {
  const char *name;
  const char *raw; /* JSON text of the value (may start with whitespace) */
  size_t len;
  unsigned count; /* times the member was given */
} dx_msg_field;

/* JSON's four whitespace bytes (RFC 8259 §2). */
bool dx_msg_is_json_ws (char c);
/* Reader limits for a document of at most max_input bytes. */
void dx_msg_json_limits (dx_json_limits *lim, size_t max_input);
/* Pass one over the object at r: fills the slices of the nf fields f. */
bool dx_msg_collect (dx_json_reader *r, dx_msg_field *f, size_t nf, dx_msg_error *err);
/* Pass one over a whole document of at most max_input bytes (longer is
 * too_large), which must hold nothing after the object. */
bool dx_msg_collect_document (const char *json, size_t len, size_t max_input, dx_msg_field *f,
                              size_t nf, dx_msg_error *err);
/* bad_request if the member was given twice. */
bool dx_msg_field_not_repeated (const dx_msg_field *x, dx_msg_error *err);
/* bad_request if the member is missing or was given twice. */
bool dx_msg_field_required (const dx_msg_field *x, dx_msg_error *err);
/* A reader over one member's value. */
void dx_msg_field_reader (dx_json_reader *r, const dx_msg_field *x);

/* The typed getters (pass two): each refuses a repeated member. */
/* A string into buf (cap incl. NUL; longer is too_large). has_nul NULL:
 * a NUL is refused; else it is reported there. len may be NULL. */
bool dx_msg_get_string (const dx_msg_field *x, char *buf, size_t cap, size_t *len, bool *has_nul,
                        dx_msg_error *err);
bool dx_msg_get_u64 (const dx_msg_field *x, uint64_t *v, dx_msg_error *err);
/* A string that ok() accepts; else "field 'x': <what>". */
typedef bool (*dx_msg_validator) (const char *, size_t);
bool dx_msg_get_name (const dx_msg_field *x, char *buf, size_t cap, dx_msg_validator ok,
                      const char *what, dx_msg_error *err);
/* A nick (DX_NICK_MAX + 1 bytes); reserved nicks only if allow_reserved. */
bool dx_msg_get_nick (const dx_msg_field *x, char *buf, bool allow_reserved, dx_msg_error *err);
/* Chat text: 1..DX_TEXT_MAX bytes, no NUL (DX_TEXT_MAX + 1 bytes). */
bool dx_msg_get_text (const dx_msg_field *x, char *buf, size_t *len, dx_msg_error *err);
/* A password (DX_PASSWORD_MAX + 1 bytes). */
bool dx_msg_get_password (const dx_msg_field *x, char *buf, dx_msg_error *err);
/* An optional cid: when given, into cid (DX_CID_MAX + 1 bytes) and *has
 * set; when absent, nothing changes. */
bool dx_msg_get_cid (const dx_msg_field *x, char *cid, bool *has, dx_msg_error *err);

/* ---- the object writer (message-encode.c) ----
 *
 * Members are appended without checking each step, because a failed
 * dx_buffer refuses every later append; dx_msg_object_end checks once and
 * rolls the buffer back to where the object began. */

typedef struct {
  dx_buffer *b;
  size_t old;      /* b->len at the '{' */
  bool was_failed; /* b had failed before: nothing to roll back */
  bool first;      /* no member written yet (no comma) */
} dx_msg_object;

void dx_msg_object_begin (dx_msg_object *o, dx_buffer *b);
/* "key": (with the comma before it when needed); the value follows. */
void dx_msg_member_key (dx_msg_object *o, const char *k);
/* A member whose value is the JSON string s / s[0..n). */
void dx_msg_member_str (dx_msg_object *o, const char *k, const char *s);
void dx_msg_member_strn (dx_msg_object *o, const char *k, const char *s, size_t n);
void dx_msg_member_u64 (dx_msg_object *o, const char *k, uint64_t v);
/* A member whose value is raw[0..n), already JSON. */
void dx_msg_member_raw (dx_msg_object *o, const char *k, const char *raw, size_t n);
/* The '}'; false (and the buffer as before the object) if anything failed. */
bool dx_msg_object_end (dx_msg_object *o);

/* Argument checks of the encoders, on NUL-terminated strings (NULL fails,
 * except for the optional cid). */
bool dx_msg_room_ok (const char *s);
bool dx_msg_nick_ok (const char *s);
bool dx_msg_cid_ok (const char *s);
bool dx_msg_str_ok (const char *s, size_t max);
/* Length of an error message cut to DX_ERROR_TEXT_MAX bytes on a UTF-8
 * boundary. */
size_t dx_msg_error_text_len (const char *s);
/* code is an error word and message valid UTF-8 once cut (*mlen). */
bool dx_msg_error_args_ok (const char *code, const char *message, size_t *mlen);

#endif
