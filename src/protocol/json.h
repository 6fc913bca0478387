/* Strict RFC 8259 JSON: a pull reader (no allocation at all) and a writer
 * on dx_buffer.
 *
 * READER. The caller walks one document in place:
 *
 *   dx_json_reader r;
 *   dx_json_reader_init (&r, text, len, NULL);          // NULL = default limits
 *   if (!dx_json_object_begin (&r)) ...error...
 *   char key[32]; size_t klen;
 *   int k;
 *   while ((k = dx_json_object_next (&r, key, sizeof key, &klen)) > 0) {
 *     if (strcmp (key, "id") == 0) dx_json_read_u64 (&r, &id);
 *     else dx_json_skip (&r);                            // validates, stores nothing
 *   }
 *   if (k < 0 || !dx_json_finish (&r)) ...error: r.error...
 *
 * Memory: the reader is a fixed-size struct (no heap, no recursion); decoded
 * strings go into buffers the caller sizes. Every call either advances over
 * a well-formed part of the input or fails, and a failure is sticky: the
 * first error (code + byte offset) is kept in r.error and every later call
 * returns failure. So any input ends in a value or a precise error.
 *
 * Strictness (RFC 8259, no extensions): whitespace is only SP, HT, LF, CR;
 * no comments, trailing commas, single quotes, NaN/Infinity, leading '+',
 * leading zeros, or byte-order mark; strings must be valid UTF-8 with no
 * raw control characters (< 0x20); every escape of §7 is decoded, \uXXXX
 * surrogate pairs are joined and a lone surrogate is an error; decoded
 * U+0000 (\u0000) is accepted by the reader (callers such as the chat
 * codec reject it where NUL is forbidden). Any value may be the top-level
 * value; dx_json_finish requires that only whitespace follows it.
 *
 * Duplicate object keys: the reader reports every member in order and does
 * not detect duplicates (that would need unbounded memory for unknown
 * keys). The chat codec (message.h) rejects a repeated known key and
 * ignores repeated unknown keys.
 *
 * WRITER. dx_json_write_* append to a dx_buffer and return false when the
 * buffer fails (ceiling / out of memory) or the input is not valid
 * (e.g. a string that is not valid UTF-8); the buffer then has
 * b->failed set, so a sequence of writes can be checked once at the end. */
#ifndef DX_PROTOCOL_JSON_H
#define DX_PROTOCOL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"

typedef enum {
  DX_JSON_NONE = 0, /* no value here (error, or end of the input) */
  DX_JSON_NULL,
  DX_JSON_FALSE,
  DX_JSON_TRUE,
  DX_JSON_NUMBER,
  DX_JSON_STRING,
  DX_JSON_ARRAY,
  DX_JSON_OBJECT,
} dx_json_type;

typedef enum {
  DX_JSON_OK = 0,
  DX_JSON_E_EOF,       /* input ended inside a value (or no value at all) */
  DX_JSON_E_SYNTAX,    /* unexpected byte */
  DX_JSON_E_TRAILING,  /* something other than whitespace after the value */
  DX_JSON_E_DEPTH,     /* nesting deeper than limits.max_depth */
  DX_JSON_E_TOO_LONG,  /* a string longer than limits.max_string or the caller's buffer */
  DX_JSON_E_TOO_BIG,   /* input longer than limits.max_input */
  DX_JSON_E_UTF8,      /* invalid UTF-8 inside a string */
  DX_JSON_E_CONTROL,   /* raw control character (< 0x20) inside a string */
  DX_JSON_E_ESCAPE,    /* bad escape sequence (\x, \u12G4, ...) */
  DX_JSON_E_SURROGATE, /* lone or mis-ordered UTF-16 surrogate in \u escapes */
  DX_JSON_E_NUMBER,    /* malformed number (01, 1., -, 1e, ...) */
  DX_JSON_E_TYPE,      /* well-formed, but not the type the caller asked for */
  DX_JSON_E_RANGE,     /* number out of range for the requested integer type */
  DX_JSON_E_USAGE,     /* the caller called the reader out of sequence */
} dx_json_errc;

/* Short English text for an error code ("unexpected character", ...). */
const char *dx_json_strerror (dx_json_errc code);

typedef struct {
  uint32_t max_depth; /* nesting of arrays/objects; 0 = default 32; at most 256 */
  size_t max_string;  /* decoded bytes of one string; 0 = default 65536 */
  size_t max_input;   /* bytes of the whole document; 0 = default 1 MiB */
} dx_json_limits;

#define DX_JSON_MAX_DEPTH 256

typedef struct {
  dx_json_errc code;
  size_t offset; /* byte offset in the input where the error was found */
} dx_json_error;

/* The reader. Fields are private except `error`. */
typedef struct {
  const char *start, *p, *end;
  dx_json_limits limits;
  uint32_t depth;
  /* One bit per open container: 1 = object, 0 = array. */
  uint8_t kinds[DX_JSON_MAX_DEPTH / 8];
  /* true right after '[' / '{' (no member read yet in that container) */
  bool first;
  /* in an object, a key was just read and its value is expected */
  bool want_value;
  bool done; /* the top-level value has been consumed */
  dx_json_error error;
} dx_json_reader;

/* Start reading text[0..len). limits may be NULL (defaults). If len is over
 * max_input the reader starts in error DX_JSON_E_TOO_BIG. */
void dx_json_reader_init (dx_json_reader *r, const char *text, size_t len,
                          const dx_json_limits *limits);

/* Type of the next value without consuming it; DX_JSON_NONE on error or
 * if no value can start here (sets the error only for a bad first byte
 * or end of input). */
dx_json_type dx_json_peek (dx_json_reader *r);

/* Objects. begin consumes '{'. next returns 1 and the decoded key (NUL
 * terminated) positioned before the member's value, which the caller must
 * then read or skip; 0 when '}' was consumed; -1 on error. A key that does
 * not fit in keycap-1 bytes, or that contains \u0000, is not an error (an
 * unknown member may have any name): it is reported as "" with *klen set
 * to its real decoded length, so it matches no known name. klen may be
 * NULL; key may be NULL (keycap 0) to ignore the name. */
bool dx_json_object_begin (dx_json_reader *r);
int dx_json_object_next (dx_json_reader *r, char *key, size_t keycap, size_t *klen);

/* Arrays. begin consumes '['. next returns 1 positioned before the next
 * element (which the caller must read or skip), 0 when ']' was consumed,
 * -1 on error. */
bool dx_json_array_begin (dx_json_reader *r);
int dx_json_array_next (dx_json_reader *r);

/* Scalars. Each consumes one value of the named type or fails
 * (DX_JSON_E_TYPE if the next value is of another type, leaving r in
 * error). */
/* Decoded string into buf (cap bytes incl. the terminating NUL it always
 * writes on success). *len (may be NULL) gets the decoded length, which
 * may include NUL bytes from \u0000; *has_nul (may be NULL) tells whether it
 * does. Longer than cap-1 or limits.max_string: DX_JSON_E_TOO_LONG. */
bool dx_json_read_string (dx_json_reader *r, char *buf, size_t cap, size_t *len, bool *has_nul);
/* An integer number (no fraction, no exponent) in [0, UINT64_MAX]. */
bool dx_json_read_u64 (dx_json_reader *r, uint64_t *v);
/* An integer number in [INT64_MIN, INT64_MAX]. */
bool dx_json_read_i64 (dx_json_reader *r, int64_t *v);
/* Any number as a double (strtod-free; exact for integers up to 2^53,
 * otherwise within 1 ulp-ish: fine for statistics, not for ids). */
bool dx_json_read_double (dx_json_reader *r, double *v);
bool dx_json_read_bool (dx_json_reader *r, bool *v);
bool dx_json_read_null (dx_json_reader *r);
/* Any number or string, validated, returned as its verbatim JSON text
 * (*raw points into the input, *len bytes; strings include their quotes and
 * escapes). Used to echo a ping's "t" unchanged. */
bool dx_json_read_raw_scalar (dx_json_reader *r, const char **raw, size_t *len);
/* Validate and skip the next value, whatever it is (depth-limited). */
bool dx_json_skip (dx_json_reader *r);

/* After the top-level value: true iff only whitespace remains. */
bool dx_json_finish (dx_json_reader *r);

/* Validate a whole document (any value) under limits (NULL = defaults). */
bool dx_json_validate (const char *text, size_t len, const dx_json_limits *limits,
                       dx_json_error *err);

/* ---- writer ---- */

/* A JSON string literal (with quotes) of s[0..len), which must be valid
 * UTF-8 (NUL bytes allowed, written as \u0000). Escapes '"', '\\' and
 * every control character (< 0x20 and 0x7F as \u007f; \b \f \n \r \t in
 * their short forms); everything else is copied as UTF-8. */
bool dx_json_write_string (dx_buffer *b, const char *s, size_t len);
/* Same for a NUL-terminated string. */
bool dx_json_write_cstr (dx_buffer *b, const char *s);
bool dx_json_write_u64 (dx_buffer *b, uint64_t v);
bool dx_json_write_i64 (dx_buffer *b, int64_t v);
bool dx_json_write_bool (dx_buffer *b, bool v);
bool dx_json_write_null (dx_buffer *b);
/* Append bytes that the caller knows are already valid JSON (e.g. a
 * pre-encoded message, a value from dx_json_read_raw_scalar). */
bool dx_json_write_raw (dx_buffer *b, const char *json, size_t len);
/* "key": — a member name followed by a colon; comma handling is the
 * caller's (write ',' with dx_buffer_append_char). */
bool dx_json_write_key (dx_buffer *b, const char *key);

#endif
