/* The JSON pull reader (json.h).
 *
 * Why one file of this size: it is a single state machine. The lexer
 * (strings, numbers, literals), the containers and the scalar readers all
 * move the same cursor and obey the same two rules, the expect_value bit
 * below and the sticky first error (fail). Split, those would become a
 * private API of a dozen functions for one struct; kept together, every
 * path that can fail is visible in one place, which is what the fuzz
 * target (tests/fuzz/fuzz-json.c) and the strictness rules rely on. */
#include "protocol/json.h"

#include <string.h>

#include "protocol/hex.h"
#include "protocol/json-private.h"
#include "protocol/utf8.h"

/* The reader is a cursor over the input plus a bit stack of the open
 * containers. `expect_value` says whether the next call may read a value
 * (at the start, after an object key, after array_next returned 1);
 * otherwise the caller must call *_next (or finish at the top level).
 * Keeping that one bit makes every out-of-order call a clean E_USAGE
 * error instead of a silently wrong parse. */

#define DEFAULT_DEPTH 32
#define DEFAULT_STRING 65536
#define DEFAULT_INPUT (1024 * 1024)

/* expect_value is the reader's want_value field. */

const char *
dx_json_strerror (dx_json_errc code)
{
  switch (code) {
  case DX_JSON_OK: return "no error";
  case DX_JSON_E_EOF: return "unexpected end of input";
  case DX_JSON_E_SYNTAX: return "unexpected character";
  case DX_JSON_E_TRAILING: return "unexpected data after the JSON value";
  case DX_JSON_E_DEPTH: return "nesting too deep";
  case DX_JSON_E_TOO_LONG: return "string too long";
  case DX_JSON_E_TOO_BIG: return "document too large";
  case DX_JSON_E_UTF8: return "invalid UTF-8 in string";
  case DX_JSON_E_CONTROL: return "control character in string";
  case DX_JSON_E_ESCAPE: return "invalid escape sequence";
  case DX_JSON_E_SURROGATE: return "unpaired UTF-16 surrogate";
  case DX_JSON_E_NUMBER: return "malformed number";
  case DX_JSON_E_TYPE: return "wrong type";
  case DX_JSON_E_RANGE: return "number out of range";
  case DX_JSON_E_USAGE: return "reader used out of sequence";
  }
  return "unknown error";
}

static bool
fail (dx_json_reader *r, dx_json_errc code, const char *at)
{
  if (r->error.code == DX_JSON_OK) {
    r->error.code = code;
    r->error.offset = (size_t) (at - r->start);
  }
  return false;
}

void
dx_json_reader_init (dx_json_reader *r, const char *text, size_t len, const dx_json_limits *limits)
{
  memset (r, 0, sizeof *r);
  if (limits)
    r->limits = *limits;
  if (r->limits.max_depth == 0)
    r->limits.max_depth = DEFAULT_DEPTH;
  if (r->limits.max_depth > DX_JSON_MAX_DEPTH)
    r->limits.max_depth = DX_JSON_MAX_DEPTH;
  if (r->limits.max_string == 0)
    r->limits.max_string = DEFAULT_STRING;
  if (r->limits.max_input == 0)
    r->limits.max_input = DEFAULT_INPUT;
  static const char empty[1] = "";
  if (!text) {
    text = empty;
    len = 0;
  }
  r->start = r->p = text;
  r->end = text + len;
  r->want_value = true;
  if (len > r->limits.max_input)
    fail (r, DX_JSON_E_TOO_BIG, text);
}

static void
skip_ws (dx_json_reader *r)
{
  const char *p = r->p;
  while (p < r->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  r->p = p;
}

static bool
top_is_object (const dx_json_reader *r)
{
  uint32_t i = r->depth - 1;
  return (r->kinds[i / 8] >> (i % 8)) & 1;
}

static bool
push (dx_json_reader *r, bool object)
{
  if (r->depth >= r->limits.max_depth)
    return fail (r, DX_JSON_E_DEPTH, r->p);
  uint32_t i = r->depth++;
  if (object)
    r->kinds[i / 8] |= (uint8_t) (1u << (i % 8));
  else
    r->kinds[i / 8] &= (uint8_t) ~(1u << (i % 8));
  return true;
}

/* A value (scalar or closed container) has been fully consumed. */
static void
value_done (dx_json_reader *r)
{
  r->want_value = false;
  r->first = false;
  if (r->depth == 0)
    r->done = true;
}

/* Common entry of every value reader: sequence check + whitespace. */
static bool
begin_value (dx_json_reader *r)
{
  if (r->error.code)
    return false;
  if (!r->want_value || r->done)
    return fail (r, DX_JSON_E_USAGE, r->p);
  skip_ws (r);
  if (r->p >= r->end)
    return fail (r, DX_JSON_E_EOF, r->p);
  return true;
}

static dx_json_type
type_of (char c)
{
  switch (c) {
  case '{': return DX_JSON_OBJECT;
  case '[': return DX_JSON_ARRAY;
  case '"': return DX_JSON_STRING;
  case 't': return DX_JSON_TRUE;
  case 'f': return DX_JSON_FALSE;
  case 'n': return DX_JSON_NULL;
  default:
    if (c == '-' || (c >= '0' && c <= '9'))
      return DX_JSON_NUMBER;
    return DX_JSON_NONE;
  }
}

dx_json_type
dx_json_peek (dx_json_reader *r)
{
  if (!begin_value (r))
    return DX_JSON_NONE;
  dx_json_type t = type_of (*r->p);
  if (t == DX_JSON_NONE)
    fail (r, DX_JSON_E_SYNTAX, r->p);
  return t;
}

/* ---- strings ---- */

/* Four hex digits at p (p + 4 <= end checked by the caller). */
static int32_t
hex4 (const char *p)
{
  int32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int h = dx_hex_value (p[i]);
    if (h < 0)
      return -1;
    v = v * 16 + h;
  }
  return v;
}

typedef struct {
  char *buf;     /* NULL: validate only */
  size_t cap;    /* bytes available for content (excluding the NUL) */
  size_t len;    /* decoded length */
  bool overflow; /* content did not fit in cap */
  bool has_nul;  /* a \u0000 was decoded */
} sink;

static void
sink_put (sink *s, const char *data, size_t n)
{
  if (s->buf && !s->overflow) {
    if (n > s->cap - s->len)
      s->overflow = true;
    else
      memcpy (s->buf + s->len, data, n);
  }
  s->len += n;
}

/* The hex digits of a \u escape starting at p: -1 if a byte in
 * p[0..min(4, avail)) is not hex (a bad escape, whatever follows), else the
 * value if all four are there, else -2 (input ends inside the escape). So a
 * complete document like "\u12" is E_ESCAPE, not E_EOF. */
static int32_t
hex4_avail (const char *p, const char *end)
{
  ptrdiff_t avail = end - p;
  for (ptrdiff_t i = 0; i < 4 && i < avail; i++)
    if (dx_hex_value (p[i]) < 0)
      return -1;
  return avail < 4 ? -2 : hex4 (p);
}

/* Decode one \uXXXX escape (and its low-surrogate twin) starting at p,
 * which points at the 'u'. Returns the position after it, or NULL. */
static const char *
unicode_escape (dx_json_reader *r, const char *p, sink *s)
{
  int32_t cp = hex4_avail (p + 1, r->end);
  if (cp == -2)
    return fail (r, DX_JSON_E_EOF, r->end), NULL;
  if (cp < 0)
    return fail (r, DX_JSON_E_ESCAPE, p - 1), NULL;
  const char *after = p + 5;
  if (cp >= 0xDC00 && cp <= 0xDFFF)
    return fail (r, DX_JSON_E_SURROGATE, p - 1), NULL;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    /* A high surrogate must be followed by "\\u" and a low one. */
    ptrdiff_t avail = r->end - after;
    if ((avail >= 1 && after[0] != '\\') || (avail >= 2 && after[1] != 'u'))
      return fail (r, DX_JSON_E_SURROGATE, p - 1), NULL;
    if (avail < 2)
      return fail (r, DX_JSON_E_EOF, r->end), NULL;
    int32_t lo = hex4_avail (after + 2, r->end);
    if (lo == -2)
      return fail (r, DX_JSON_E_EOF, r->end), NULL;
    if (lo < 0)
      return fail (r, DX_JSON_E_ESCAPE, after), NULL;
    if (lo < 0xDC00 || lo > 0xDFFF)
      return fail (r, DX_JSON_E_SURROGATE, p - 1), NULL;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    after += 6;
  }
  char out[4];
  size_t n = dx_utf8_encode ((uint32_t) cp, out);
  if (cp == 0)
    s->has_nul = true;
  sink_put (s, out, n);
  return after;
}

/* Scan the string at r->p (which is '"'), decoding into s. Enforces
 * max_string. On success r->p is after the closing quote. */
static bool
scan_string (dx_json_reader *r, sink *s)
{
  const char *p = r->p + 1;
  const char *end = r->end;
  dx_utf8 u;
  dx_utf8_init (&u);
  for (;;) {
    /* A run of bytes copied as they are. */
    const char *run = p;
    while (p < end) {
      if (end - p >= 8 && !word_ends_run (p)) {
        p += 8;
        continue;
      }
      unsigned char c = (unsigned char) *p;
      if (c == '"' || c == '\\' || c < 0x20)
        break;
      p++;
    }
    if (p > run) {
      uint64_t fed = dx_utf8_error_offset (&u);
      if (dx_utf8_feed (&u, run, (size_t) (p - run)) == DX_UTF8_REJECT)
        return fail (r, DX_JSON_E_UTF8, run + (dx_utf8_error_offset (&u) - fed));
      sink_put (s, run, (size_t) (p - run));
    }
    if (s->len > r->limits.max_string)
      return fail (r, DX_JSON_E_TOO_LONG, r->p);
    if (p >= end)
      return fail (r, DX_JSON_E_EOF, end);
    unsigned char c = (unsigned char) *p;
    /* Here a character must be complete: '"', '\\' and controls are
     * never continuation bytes. */
    if (u.need != 0)
      return fail (r, DX_JSON_E_UTF8, p);
    if (c == '"') {
      r->p = p + 1;
      return true;
    }
    if (c < 0x20)
      return fail (r, DX_JSON_E_CONTROL, p);
    /* backslash */
    if (p + 1 >= end)
      return fail (r, DX_JSON_E_EOF, end);
    char e = p[1];
    char one;
    switch (e) {
    case '"': one = '"'; break;
    case '\\': one = '\\'; break;
    case '/': one = '/'; break;
    case 'b': one = '\b'; break;
    case 'f': one = '\f'; break;
    case 'n': one = '\n'; break;
    case 'r': one = '\r'; break;
    case 't': one = '\t'; break;
    case 'u':
      p = unicode_escape (r, p + 1, s);
      if (!p)
        return false;
      continue;
    default: return fail (r, DX_JSON_E_ESCAPE, p);
    }
    sink_put (s, &one, 1);
    p += 2;
  }
}

/* ---- numbers ---- */

typedef struct {
  const char *text;
  size_t len;
  bool negative, integer;
} number;

static bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

static bool
scan_number (dx_json_reader *r, number *n)
{
  const char *p = r->p, *end = r->end;
  n->text = p;
  n->negative = false;
  n->integer = true;
  if (*p == '-') {
    n->negative = true;
    p++;
  }
  if (p >= end)
    return fail (r, DX_JSON_E_EOF, p);
  if (*p == '0') {
    p++;
  } else if (*p >= '1' && *p <= '9') {
    while (p < end && is_digit (*p))
      p++;
  } else {
    return fail (r, DX_JSON_E_NUMBER, p);
  }
  if (p < end && *p == '.') {
    n->integer = false;
    p++;
    if (p >= end)
      return fail (r, DX_JSON_E_EOF, p);
    if (!is_digit (*p))
      return fail (r, DX_JSON_E_NUMBER, p);
    while (p < end && is_digit (*p))
      p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    n->integer = false;
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (p >= end)
      return fail (r, DX_JSON_E_EOF, p);
    if (!is_digit (*p))
      return fail (r, DX_JSON_E_NUMBER, p);
    while (p < end && is_digit (*p))
      p++;
  }
  /* "01", "1.2.3", "1e5e5", "-0-": a number glued to number characters. */
  if (p < end && (is_digit (*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
    return fail (r, DX_JSON_E_NUMBER, p);
  n->len = (size_t) (p - n->text);
  r->p = p;
  return true;
}

/* ---- literals ---- */

static bool
scan_literal (dx_json_reader *r, const char *word, size_t len)
{
  size_t avail = (size_t) (r->end - r->p);
  size_t n = avail < len ? avail : len;
  for (size_t i = 0; i < n; i++)
    if (r->p[i] != word[i])
      return fail (r, DX_JSON_E_SYNTAX, r->p + i);
  if (avail < len)
    return fail (r, DX_JSON_E_EOF, r->end);
  r->p += len;
  return true;
}

/* ---- containers ---- */

static bool
open_container (dx_json_reader *r, char c, bool object)
{
  if (!begin_value (r))
    return false;
  if (*r->p != c) {
    if (type_of (*r->p) == DX_JSON_NONE)
      return fail (r, DX_JSON_E_SYNTAX, r->p);
    return fail (r, DX_JSON_E_TYPE, r->p);
  }
  if (!push (r, object))
    return false;
  r->p++;
  r->first = true;
  r->want_value = false;
  return true;
}

bool
dx_json_object_begin (dx_json_reader *r)
{
  return open_container (r, '{', true);
}

bool
dx_json_array_begin (dx_json_reader *r)
{
  return open_container (r, '[', false);
}

/* Common start of *_next: checks, then consumes ',' or the closer.
 * Returns 1 (an item follows), 0 (closed) or -1. */
static int
next_item (dx_json_reader *r, bool object)
{
  if (r->error.code)
    return -1;
  if (r->depth == 0 || r->want_value || top_is_object (r) != object)
    return fail (r, DX_JSON_E_USAGE, r->p), -1;
  char closer = object ? '}' : ']';
  skip_ws (r);
  if (r->p >= r->end)
    return fail (r, DX_JSON_E_EOF, r->p), -1;
  if (*r->p == closer) {
    /* "[1,]" is caught below: after ',' we never come back here with
     * first == false without an item in between. */
    r->p++;
    r->depth--;
    value_done (r);
    return 0;
  }
  if (!r->first) {
    if (*r->p != ',')
      return fail (r, DX_JSON_E_SYNTAX, r->p), -1;
    r->p++;
    skip_ws (r);
    if (r->p >= r->end)
      return fail (r, DX_JSON_E_EOF, r->p), -1;
    if (*r->p == closer) /* trailing comma */
      return fail (r, DX_JSON_E_SYNTAX, r->p), -1;
  }
  r->first = false;
  return 1;
}

int
dx_json_array_next (dx_json_reader *r)
{
  int k = next_item (r, false);
  if (k == 1)
    r->want_value = true;
  return k;
}

int
dx_json_object_next (dx_json_reader *r, char *key, size_t keycap, size_t *klen)
{
  int k = next_item (r, true);
  if (k != 1)
    return k;
  if (*r->p != '"')
    return fail (r, DX_JSON_E_SYNTAX, r->p), -1;
  sink s = { key && keycap ? key : NULL, key && keycap ? keycap - 1 : 0, 0, false, false };
  if (!scan_string (r, &s))
    return -1;
  if (key && keycap) {
    if (s.overflow || s.has_nul)
      key[0] = '\0';
    else
      key[s.len] = '\0';
  }
  if (klen)
    *klen = s.len;
  skip_ws (r);
  if (r->p >= r->end)
    return fail (r, DX_JSON_E_EOF, r->p), -1;
  if (*r->p != ':')
    return fail (r, DX_JSON_E_SYNTAX, r->p), -1;
  r->p++;
  r->want_value = true;
  return 1;
}

/* ---- scalar readers ---- */

/* begin_value + check the next value is of type t (or, for booleans,
 * either literal). */
static bool
expect_type (dx_json_reader *r, dx_json_type t)
{
  if (!begin_value (r))
    return false;
  dx_json_type got = type_of (*r->p);
  if (got == DX_JSON_NONE)
    return fail (r, DX_JSON_E_SYNTAX, r->p);
  if (got == t || (t == DX_JSON_TRUE && got == DX_JSON_FALSE))
    return true;
  return fail (r, DX_JSON_E_TYPE, r->p);
}

bool
dx_json_read_string (dx_json_reader *r, char *buf, size_t cap, size_t *len, bool *has_nul)
{
  if (!expect_type (r, DX_JSON_STRING))
    return false;
  if (!buf || cap == 0)
    return fail (r, DX_JSON_E_USAGE, r->p);
  const char *at = r->p;
  sink s = { buf, cap - 1, 0, false, false };
  if (!scan_string (r, &s))
    return false;
  if (s.overflow)
    return fail (r, DX_JSON_E_TOO_LONG, at);
  buf[s.len] = '\0';
  if (len)
    *len = s.len;
  if (has_nul)
    *has_nul = s.has_nul;
  value_done (r);
  return true;
}

/* Integer digits of n (no sign) into *v; false on overflow. */
static bool
digits_u64 (const char *p, const char *end, uint64_t *v)
{
  uint64_t x = 0;
  for (; p < end; p++) {
    unsigned d = (unsigned) (*p - '0');
    if (x > (UINT64_MAX - d) / 10)
      return false;
    x = x * 10 + d;
  }
  *v = x;
  return true;
}

static bool
read_integer (dx_json_reader *r, number *n, uint64_t *mag)
{
  if (!expect_type (r, DX_JSON_NUMBER))
    return false;
  const char *at = r->p;
  if (!scan_number (r, n))
    return false;
  if (!n->integer)
    return fail (r, DX_JSON_E_TYPE, at);
  const char *d = n->text + (n->negative ? 1 : 0);
  if (!digits_u64 (d, n->text + n->len, mag))
    return fail (r, DX_JSON_E_RANGE, at);
  return true;
}

bool
dx_json_read_u64 (dx_json_reader *r, uint64_t *v)
{
  number n;
  uint64_t mag;
  const char *at = r->p;
  if (!read_integer (r, &n, &mag))
    return false;
  if (n.negative)
    return fail (r, DX_JSON_E_RANGE, at);
  *v = mag;
  value_done (r);
  return true;
}

bool
dx_json_read_i64 (dx_json_reader *r, int64_t *v)
{
  number n;
  uint64_t mag;
  const char *at = r->p;
  if (!read_integer (r, &n, &mag))
    return false;
  if (n.negative) {
    if (mag > (uint64_t) INT64_MAX + 1)
      return fail (r, DX_JSON_E_RANGE, at);
    *v = mag == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) mag;
  } else {
    if (mag > (uint64_t) INT64_MAX)
      return fail (r, DX_JSON_E_RANGE, at);
    *v = (int64_t) mag;
  }
  value_done (r);
  return true;
}

static double
pow10_int (int e)
{
  static const double small[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
  double x = 1.0;
  while (e > 22) {
    x *= 1e22;
    e -= 22;
    if (x > 1e308)
      return x;
  }
  return x * small[e];
}

bool
dx_json_read_double (dx_json_reader *r, double *v)
{
  number n;
  if (!expect_type (r, DX_JSON_NUMBER))
    return false;
  if (!scan_number (r, &n))
    return false;
  /* Up to 19 significant digits in an integer mantissa, the rest only
   * shift the exponent; no strtod because it follows the locale. */
  const char *p = n.text + (n.negative ? 1 : 0), *end = n.text + n.len;
  uint64_t mant = 0;
  int digits = 0;
  long exp10 = 0;
  bool frac = false;
  for (; p < end; p++) {
    char c = *p;
    if (c == '.') {
      frac = true;
      continue;
    }
    if (c == 'e' || c == 'E')
      break;
    if (mant == 0 && c == '0') {
      if (frac)
        exp10--;
      continue;
    }
    if (digits < 19) {
      mant = mant * 10 + (uint64_t) (c - '0');
      digits++;
      if (frac)
        exp10--;
    } else if (!frac) {
      exp10++;
    }
  }
  if (p < end) {
    p++;
    bool eneg = false;
    if (*p == '+' || *p == '-')
      eneg = *p++ == '-';
    long e = 0;
    for (; p < end; p++)
      if (e < 100000)
        e = e * 10 + (*p - '0');
    exp10 += eneg ? -e : e;
  }
  double x = (double) mant;
  if (mant != 0) {
    if (exp10 < -400)
      x = 0.0;
    else if (exp10 < -308)
      x = x / pow10_int (308) / pow10_int ((int) (-exp10 - 308));
    else if (exp10 < 0)
      x = x / pow10_int ((int) -exp10);
    else if (exp10 > 400)
      x = x * 1e308 * 10.0;
    else if (exp10 > 0)
      x = x * pow10_int ((int) exp10);
  }
  *v = n.negative ? -x : x;
  value_done (r);
  return true;
}

bool
dx_json_read_bool (dx_json_reader *r, bool *v)
{
  if (!expect_type (r, DX_JSON_TRUE))
    return false;
  bool t = *r->p == 't';
  if (!scan_literal (r, t ? "true" : "false", t ? 4 : 5))
    return false;
  *v = t;
  value_done (r);
  return true;
}

bool
dx_json_read_null (dx_json_reader *r)
{
  if (!expect_type (r, DX_JSON_NULL))
    return false;
  if (!scan_literal (r, "null", 4))
    return false;
  value_done (r);
  return true;
}

bool
dx_json_read_raw_scalar (dx_json_reader *r, const char **raw, size_t *len)
{
  if (!begin_value (r))
    return false;
  dx_json_type t = type_of (*r->p);
  if (t == DX_JSON_NONE)
    return fail (r, DX_JSON_E_SYNTAX, r->p);
  if (t != DX_JSON_NUMBER && t != DX_JSON_STRING)
    return fail (r, DX_JSON_E_TYPE, r->p);
  const char *at = r->p;
  if (t == DX_JSON_NUMBER) {
    number n;
    if (!scan_number (r, &n))
      return false;
  } else {
    sink s = { NULL, 0, 0, false, false };
    if (!scan_string (r, &s))
      return false;
  }
  *raw = at;
  *len = (size_t) (r->p - at);
  value_done (r);
  return true;
}

/* Skip one scalar at the cursor (begin_value already done). */
static bool
skip_scalar (dx_json_reader *r)
{
  switch (type_of (*r->p)) {
  case DX_JSON_STRING: {
    sink s = { NULL, 0, 0, false, false };
    if (!scan_string (r, &s))
      return false;
    break;
  }
  case DX_JSON_NUMBER: {
    number n;
    if (!scan_number (r, &n))
      return false;
    break;
  }
  case DX_JSON_TRUE:
    if (!scan_literal (r, "true", 4))
      return false;
    break;
  case DX_JSON_FALSE:
    if (!scan_literal (r, "false", 5))
      return false;
    break;
  case DX_JSON_NULL:
    if (!scan_literal (r, "null", 4))
      return false;
    break;
  default: return fail (r, DX_JSON_E_SYNTAX, r->p);
  }
  value_done (r);
  return true;
}

/* Skip the value at the cursor: a scalar, or a container opened and then
 * walked iteratively (no recursion: depth is bounded by the bit stack). */
static bool
skip_one (dx_json_reader *r)
{
  if (!begin_value (r))
    return false;
  if (*r->p == '{')
    return dx_json_object_begin (r);
  if (*r->p == '[')
    return dx_json_array_begin (r);
  return skip_scalar (r);
}

bool
dx_json_skip (dx_json_reader *r)
{
  uint32_t base = r->depth;
  if (!skip_one (r))
    return false;
  while (r->depth > base) {
    int k = top_is_object (r) ? dx_json_object_next (r, NULL, 0, NULL) : dx_json_array_next (r);
    if (k < 0)
      return false;
    if (k == 1 && !skip_one (r))
      return false;
  }
  return true;
}

bool
dx_json_finish (dx_json_reader *r)
{
  if (r->error.code)
    return false;
  if (!r->done)
    return fail (r, DX_JSON_E_USAGE, r->p);
  skip_ws (r);
  if (r->p != r->end)
    return fail (r, DX_JSON_E_TRAILING, r->p);
  return true;
}

bool
dx_json_validate (const char *text, size_t len, const dx_json_limits *limits, dx_json_error *err)
{
  dx_json_reader r;
  dx_json_reader_init (&r, text, len, limits);
  bool ok = dx_json_skip (&r) && dx_json_finish (&r);
  if (err)
    *err = r.error;
  return ok;
}
