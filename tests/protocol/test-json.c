/* JSON reader and writer: every dx_json_errc with its byte offset, every
 * escape (surrogate pairs, lone surrogates), the depth/string/input
 * limits, wrong types and integer ranges, out-of-sequence calls, and
 * writer escaping checked by reading the output back. */
#include <stdint.h>
#include <stdlib.h>

#include "protocol/json.h"
#include "../tap.h"

/* malloc that never returns NULL (a test has no use for OOM handling). */
static void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (!p)
    abort ();
  return p;
}

/* ---- validation table: document -> error code (+ offset) ---- */

typedef struct {
  const char *name;
  const char *doc;
  size_t len;
  dx_json_errc code;
  long offset; /* -1: do not check */
} vcase;

#define VC(name, s, code, off)                                                                     \
  {                                                                                                \
    name, s, sizeof s - 1, code, off                                                               \
  }

static const vcase vcases[] = {
  /* valid documents of every kind */
  VC ("null", "null", DX_JSON_OK, -1),
  VC ("true", "true", DX_JSON_OK, -1),
  VC ("false", " false ", DX_JSON_OK, -1),
  VC ("zero", "0", DX_JSON_OK, -1),
  VC ("negative zero", "-0", DX_JSON_OK, -1),
  VC ("fraction and exponent", "-12.5e+3", DX_JSON_OK, -1),
  VC ("exponent E-", "1E-2", DX_JSON_OK, -1),
  VC ("string", "\"a\"", DX_JSON_OK, -1),
  VC ("empty object", "{}", DX_JSON_OK, -1),
  VC ("empty array", "[ ]", DX_JSON_OK, -1),
  VC ("nested", "{\"a\":[1,{\"b\":null},\"x\"],\"c\":{}}", DX_JSON_OK, -1),
  VC ("all whitespace kinds", " \t\r\n{ \"a\" : 1 }\n", DX_JSON_OK, -1),
  VC ("all short escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", DX_JSON_OK, -1),
  VC ("surrogate pair", "\"\\ud83d\\ude00\"", DX_JSON_OK, -1),
  VC ("escaped NUL accepted by the reader", "\"a\\u0000b\"", DX_JSON_OK, -1),
  VC ("raw UTF-8", "\"\xec\x95\x88\xf0\x9f\x98\x80\"", DX_JSON_OK, -1),
  VC ("DEL raw is allowed", "\"\x7f\"", DX_JSON_OK, -1),
  VC ("duplicate keys are the caller's business", "{\"a\":1,\"a\":2}", DX_JSON_OK, -1),
  /* E_EOF */
  VC ("empty input", "", DX_JSON_E_EOF, 0),
  VC ("only whitespace", "  \n", DX_JSON_E_EOF, 3),
  VC ("unterminated string", "\"abc", DX_JSON_E_EOF, 4),
  VC ("unterminated object", "{\"a\":1", DX_JSON_E_EOF, 6),
  VC ("object after colon", "{\"a\":", DX_JSON_E_EOF, 5),
  VC ("object after key", "{\"a\"", DX_JSON_E_EOF, 4),
  VC ("array after comma", "[1,", DX_JSON_E_EOF, 3),
  VC ("unterminated array", "[", DX_JSON_E_EOF, 1),
  VC ("cut literal", "tru", DX_JSON_E_EOF, 3),
  VC ("cut null", "nul", DX_JSON_E_EOF, 3),
  VC ("lone minus", "-", DX_JSON_E_EOF, 1),
  VC ("cut fraction", "1.", DX_JSON_E_EOF, 2),
  VC ("cut exponent", "1e", DX_JSON_E_EOF, 2),
  VC ("cut exponent sign", "1e+", DX_JSON_E_EOF, 3),
  VC ("cut escape", "\"\\", DX_JSON_E_EOF, 2),
  VC ("cut \\u escape", "\"\\u12", DX_JSON_E_EOF, 5),
  VC ("high surrogate at end", "\"\\ud800", DX_JSON_E_EOF, 7),
  VC ("high surrogate, cut low", "\"\\ud800\\udc", DX_JSON_E_EOF, 11),
  VC ("cut inside UTF-8", "\"\xc3", DX_JSON_E_EOF, 2),
  /* E_SYNTAX */
  VC ("bad first byte", "x", DX_JSON_E_SYNTAX, 0),
  VC ("bad literal", "trux", DX_JSON_E_SYNTAX, 3),
  VC ("capitalised literal", "True", DX_JSON_E_SYNTAX, 0),
  VC ("NaN", "NaN", DX_JSON_E_SYNTAX, 0),
  VC ("single quotes", "'a'", DX_JSON_E_SYNTAX, 0),
  VC ("comment", "/* c */ 1", DX_JSON_E_SYNTAX, 0),
  VC ("byte-order mark", "\xef\xbb\xbf{}", DX_JSON_E_SYNTAX, 0),
  VC ("vertical tab is not whitespace", "\v1", DX_JSON_E_SYNTAX, 0),
  VC ("trailing comma in array", "[1,]", DX_JSON_E_SYNTAX, 3),
  VC ("trailing comma in object", "{\"a\":1,}", DX_JSON_E_SYNTAX, 7),
  VC ("leading comma", "[,1]", DX_JSON_E_SYNTAX, 1),
  VC ("empty member", "{,}", DX_JSON_E_SYNTAX, 1),
  VC ("missing comma", "[1 2]", DX_JSON_E_SYNTAX, 3),
  VC ("missing colon", "{\"a\" 1}", DX_JSON_E_SYNTAX, 5),
  VC ("unquoted key", "{a:1}", DX_JSON_E_SYNTAX, 1),
  VC ("number key", "{1:1}", DX_JSON_E_SYNTAX, 1),
  VC ("missing value", "{\"a\":}", DX_JSON_E_SYNTAX, 5),
  VC ("mismatched closer", "[1}", DX_JSON_E_SYNTAX, 2),
  VC ("leading plus", "+1", DX_JSON_E_SYNTAX, 0),
  /* E_TRAILING */
  VC ("two values", "1 2", DX_JSON_E_TRAILING, 2),
  VC ("garbage after object", "{}x", DX_JSON_E_TRAILING, 2),
  VC ("two objects", "{} {}", DX_JSON_E_TRAILING, 3),
  VC ("NUL after value", "{}\0", DX_JSON_E_TRAILING, 2),
  /* E_UTF8 */
  VC ("0xFF in string", "\"a\xff\"", DX_JSON_E_UTF8, 2),
  VC ("overlong in string", "\"\xc0\xaf\"", DX_JSON_E_UTF8, 1),
  VC ("UTF-8 surrogate in string", "\"\xed\xa0\x80\"", DX_JSON_E_UTF8, 2),
  VC ("stray continuation", "\"ab\x80\"", DX_JSON_E_UTF8, 3),
  VC ("sequence cut by quote", "\"\xe2\x82\"", DX_JSON_E_UTF8, 3),
  VC ("sequence cut by escape", "\"\xc3\\n\"", DX_JSON_E_UTF8, 2),
  VC ("invalid UTF-8 in a key", "{\"\xff\":1}", DX_JSON_E_UTF8, 2),
  /* E_CONTROL */
  VC ("raw newline", "\"a\nb\"", DX_JSON_E_CONTROL, 2),
  VC ("raw tab", "\"\t\"", DX_JSON_E_CONTROL, 1),
  VC ("raw NUL", "\"\0\"", DX_JSON_E_CONTROL, 1),
  VC ("raw 0x1F", "\"\x1f\"", DX_JSON_E_CONTROL, 1),
  /* E_ESCAPE */
  VC ("unknown escape", "\"\\x\"", DX_JSON_E_ESCAPE, 1),
  VC ("escaped single quote", "\"\\'\"", DX_JSON_E_ESCAPE, 1),
  VC ("bad hex", "\"\\u12G4\"", DX_JSON_E_ESCAPE, 1),
  VC ("short \\u before quote", "\"\\u12\"", DX_JSON_E_ESCAPE, 1),
  VC ("uppercase U", "\"\\U0041\"", DX_JSON_E_ESCAPE, 1),
  VC ("bad hex in low surrogate", "\"\\ud800\\uzzzz\"", DX_JSON_E_ESCAPE, 7),
  /* E_SURROGATE */
  VC ("lone low surrogate", "\"\\udc00\"", DX_JSON_E_SURROGATE, 1),
  VC ("lone high surrogate", "\"\\ud800\"", DX_JSON_E_SURROGATE, 1),
  VC ("high then text", "\"\\ud800x\"", DX_JSON_E_SURROGATE, 1),
  VC ("high then other escape", "\"\\ud800\\n\"", DX_JSON_E_SURROGATE, 1),
  VC ("high then high", "\"\\ud800\\ud800\"", DX_JSON_E_SURROGATE, 1),
  VC ("high then BMP", "\"\\udbff\\u0041\"", DX_JSON_E_SURROGATE, 1),
  VC ("low then high", "\"\\udc00\\ud800\"", DX_JSON_E_SURROGATE, 1),
  /* E_NUMBER */
  VC ("leading zero", "01", DX_JSON_E_NUMBER, 1),
  VC ("negative leading zero", "-01", DX_JSON_E_NUMBER, 2),
  VC ("minus letter", "-a", DX_JSON_E_NUMBER, 1),
  VC ("dot without digits", "1.e3", DX_JSON_E_NUMBER, 2),
  VC ("leading dot", "[.5]", DX_JSON_E_SYNTAX, 1),
  VC ("two dots", "1.2.3", DX_JSON_E_NUMBER, 3),
  VC ("exponent without digits", "1ex", DX_JSON_E_NUMBER, 2),
  VC ("double exponent", "1e5e5", DX_JSON_E_NUMBER, 3),
  VC ("number in array glued", "[1-2]", DX_JSON_E_NUMBER, 2),
  VC ("hex number", "0x10", DX_JSON_E_TRAILING, 1),
};

static void
test_validate_table (void)
{
  for (size_t i = 0; i < sizeof vcases / sizeof vcases[0]; i++) {
    const vcase *c = &vcases[i];
    dx_json_error e = { DX_JSON_E_USAGE, 99 };
    bool ok = dx_json_validate (c->doc, c->len, NULL, &e);
    if (c->code == DX_JSON_OK) {
      OK (ok && e.code == DX_JSON_OK, "valid: %s", c->name);
      continue;
    }
    if (!OK (!ok && e.code == c->code, "%s -> %s", c->name, dx_json_strerror (c->code)))
      printf ("#   got code %d (%s) at %zu\n", (int) e.code, dx_json_strerror (e.code), e.offset);
    if (c->offset >= 0
        && !OK (e.offset == (size_t) c->offset, "%s: offset %ld", c->name, c->offset))
      printf ("#   got offset %zu\n", e.offset);
  }
}

/* Every error code has its own text. */
static void
test_strerror (void)
{
  for (int a = DX_JSON_OK; a <= DX_JSON_E_USAGE; a++) {
    const char *s = dx_json_strerror ((dx_json_errc) a);
    bool distinct = s && *s;
    for (int b = DX_JSON_OK; b < a; b++)
      if (strcmp (s, dx_json_strerror ((dx_json_errc) b)) == 0)
        distinct = false;
    OK (distinct, "strerror %d: '%s'", a, s ? s : "(null)");
  }
}

/* ---- limits ---- */

static char *
nested (int depth, char open, char close)
{
  char *s = xmalloc ((size_t) depth * 2 + 1);
  for (int i = 0; i < depth; i++) {
    s[i] = open;
    s[depth * 2 - 1 - i] = close;
  }
  s[depth * 2] = '\0';
  return s;
}

static void
test_limits (void)
{
  dx_json_error e;
  char *s = nested (32, '[', ']');
  OK (dx_json_validate (s, 64, NULL, &e), "depth 32 (default limit) OK");
  free (s);
  s = nested (33, '[', ']');
  OK (!dx_json_validate (s, 66, NULL, &e) && e.code == DX_JSON_E_DEPTH && e.offset == 32,
      "depth 33 -> E_DEPTH at byte 32");
  free (s);

  /* objects count as well as arrays */
  dx_json_limits lim = { 3, 0, 0 };
  OK (dx_json_validate ("{\"a\":[{}]}", 10, &lim, &e), "objects+arrays depth 3 under max 3");
  OK (!dx_json_validate ("{\"a\":[{\"b\":[]}]}", 16, &lim, &e) && e.code == DX_JSON_E_DEPTH,
      "depth 4 under max 3 -> E_DEPTH");

  /* the hard ceiling is DX_JSON_MAX_DEPTH whatever the caller asks */
  lim = (dx_json_limits){ 10000, 0, 0 };
  s = nested (DX_JSON_MAX_DEPTH, '[', ']');
  OK (dx_json_validate (s, DX_JSON_MAX_DEPTH * 2, &lim, &e), "depth 256 OK at max");
  free (s);
  s = nested (DX_JSON_MAX_DEPTH + 1, '[', ']');
  OK (!dx_json_validate (s, DX_JSON_MAX_DEPTH * 2 + 2, &lim, &e) && e.code == DX_JSON_E_DEPTH,
      "depth 257 -> E_DEPTH even with max_depth 10000");
  free (s);

  /* a very deep document stays an error, never a crash (no recursion) */
  s = nested (100000, '[', ']');
  OK (!dx_json_validate (s, 200000, &lim, &e) && e.code == DX_JSON_E_DEPTH,
      "depth 100000 -> E_DEPTH");
  free (s);

  /* max_string counts decoded bytes */
  lim = (dx_json_limits){ 0, 4, 0 };
  OK (dx_json_validate ("\"abcd\"", 6, &lim, &e), "string of 4 under max_string 4");
  OK (!dx_json_validate ("\"abcde\"", 7, &lim, &e) && e.code == DX_JSON_E_TOO_LONG,
      "string of 5 -> E_TOO_LONG");
  OK (dx_json_validate ("\"\\u00e9\\u00e9\"", 14, &lim, &e),
      "4 decoded bytes from 12 escaped bytes OK");
  OK (!dx_json_validate ("\"ab\\n\\n\\n\"", 10, &lim, &e) && e.code == DX_JSON_E_TOO_LONG,
      "5 decoded bytes via escapes -> E_TOO_LONG");
  OK (!dx_json_validate ("{\"abcdef\":1}", 12, &lim, &e) && e.code == DX_JSON_E_TOO_LONG,
      "an over-long key is limited too");

  /* max_input */
  lim = (dx_json_limits){ 0, 0, 8 };
  OK (dx_json_validate ("[1,2,30]", 8, &lim, &e), "8 bytes under max_input 8");
  OK (!dx_json_validate ("[1,2,300]", 9, &lim, &e) && e.code == DX_JSON_E_TOO_BIG && e.offset == 0,
      "9 bytes -> E_TOO_BIG");
  dx_json_reader r;
  dx_json_reader_init (&r, "[1,2,300]", 9, &lim);
  OK (dx_json_peek (&r) == DX_JSON_NONE && r.error.code == DX_JSON_E_TOO_BIG,
      "TOO_BIG is sticky from init");
}

/* ---- strings and escapes ---- */

typedef struct {
  const char *name;
  const char *json;
  const char *want;
  size_t want_len;
  bool nul;
} scase;

#define SC(name, j, w, nul)                                                                        \
  {                                                                                                \
    name, j, w, sizeof w - 1, nul                                                                  \
  }

static const scase scases[] = {
  SC ("plain", "\"hello\"", "hello", false),
  SC ("empty", "\"\"", "", false),
  SC ("quote and backslash", "\"a\\\"b\\\\c\"", "a\"b\\c", false),
  SC ("solidus", "\"\\/\"", "/", false),
  SC ("controls", "\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", false),
  SC ("\\u0041", "\"\\u0041\"", "A", false),
  SC ("\\u00e9 2 bytes", "\"\\u00e9\"", "\xc3\xa9", false),
  SC ("\\u00E9 uppercase hex", "\"\\u00E9\"", "\xc3\xa9", false),
  SC ("\\u20ac 3 bytes", "\"\\u20ac\"", "\xe2\x82\xac", false),
  SC ("\\uffff", "\"\\uffff\"", "\xef\xbf\xbf", false),
  SC ("pair U+1F600", "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", false),
  SC ("pair U+10000", "\"\\ud800\\udc00\"", "\xf0\x90\x80\x80", false),
  SC ("pair U+10FFFF", "\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", false),
  SC ("\\u0000", "\"a\\u0000b\"", "a\0b", true),
  SC ("raw UTF-8 kept", "\"\xec\x95\x88\xeb\x85\x95\"", "\xec\x95\x88\xeb\x85\x95", false),
  SC ("mixed", "\"x\\u00e9\xc3\xa9\\ty\"", "x\xc3\xa9\xc3\xa9\ty", false),
};

static void
test_strings (void)
{
  for (size_t i = 0; i < sizeof scases / sizeof scases[0]; i++) {
    const scase *c = &scases[i];
    dx_json_reader r;
    char buf[64];
    size_t len = 999;
    bool nul = !c->nul;
    dx_json_reader_init (&r, c->json, strlen (c->json), NULL);
    bool ok = dx_json_read_string (&r, buf, sizeof buf, &len, &nul) && dx_json_finish (&r);
    OK (ok && len == c->want_len && memcmp (buf, c->want, len) == 0 && buf[len] == '\0'
            && nul == c->nul,
        "string %s", c->name);
  }

  /* the caller's buffer is a limit: cap-1 bytes fit, one more does not */
  dx_json_reader r;
  char buf[4];
  dx_json_reader_init (&r, "\"abc\"", 5, NULL);
  OK (dx_json_read_string (&r, buf, sizeof buf, NULL, NULL) && strcmp (buf, "abc") == 0,
      "3 bytes into a 4-byte buffer");
  dx_json_reader_init (&r, "\"abcd\"", 6, NULL);
  OK (!dx_json_read_string (&r, buf, sizeof buf, NULL, NULL) && r.error.code == DX_JSON_E_TOO_LONG,
      "4 bytes into a 4-byte buffer -> E_TOO_LONG");
  dx_json_reader_init (&r, "\"\\u20ac\\u20ac\"", 14, NULL);
  OK (!dx_json_read_string (&r, buf, sizeof buf, NULL, NULL) && r.error.code == DX_JSON_E_TOO_LONG,
      "6 decoded bytes into a 4-byte buffer -> E_TOO_LONG");
  dx_json_reader_init (&r, "\"a\"", 3, NULL);
  OK (!dx_json_read_string (&r, NULL, 0, NULL, NULL) && r.error.code == DX_JSON_E_USAGE,
      "no buffer -> E_USAGE");
}

/* ---- numbers ---- */

static void
test_numbers (void)
{
  static const struct {
    const char *json;
    bool ok;
    uint64_t v;
    dx_json_errc code;
  } u[] = {
    { "0", true, 0, 0 },
    { "42", true, 42, 0 },
    { "18446744073709551615", true, UINT64_MAX, 0 },
    { "18446744073709551616", false, 0, DX_JSON_E_RANGE },
    { "99999999999999999999999", false, 0, DX_JSON_E_RANGE },
    { "-1", false, 0, DX_JSON_E_RANGE },
    { "1.5", false, 0, DX_JSON_E_TYPE },
    { "1e3", false, 0, DX_JSON_E_TYPE },
    { "\"1\"", false, 0, DX_JSON_E_TYPE },
    { "true", false, 0, DX_JSON_E_TYPE },
    { "null", false, 0, DX_JSON_E_TYPE },
    { "[1]", false, 0, DX_JSON_E_TYPE },
    { "{}", false, 0, DX_JSON_E_TYPE },
    { "01", false, 0, DX_JSON_E_NUMBER },
    { "x", false, 0, DX_JSON_E_SYNTAX },
  };
  for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
    dx_json_reader r;
    uint64_t v = 7;
    dx_json_reader_init (&r, u[i].json, strlen (u[i].json), NULL);
    bool ok = dx_json_read_u64 (&r, &v) && dx_json_finish (&r);
    if (u[i].ok)
      OK (ok && v == u[i].v, "u64 %s", u[i].json);
    else
      OK (!ok && r.error.code == u[i].code, "u64 %s -> %s", u[i].json,
          dx_json_strerror (u[i].code));
  }

  static const struct {
    const char *json;
    bool ok;
    int64_t v;
  } s[] = {
    { "0", true, 0 },
    { "-0", true, 0 },
    { "-42", true, -42 },
    { "9223372036854775807", true, INT64_MAX },
    { "-9223372036854775808", true, INT64_MIN },
    { "9223372036854775808", false, 0 },
    { "-9223372036854775809", false, 0 },
  };
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
    dx_json_reader r;
    int64_t v = 7;
    dx_json_reader_init (&r, s[i].json, strlen (s[i].json), NULL);
    bool ok = dx_json_read_i64 (&r, &v) && dx_json_finish (&r);
    if (s[i].ok)
      OK (ok && v == s[i].v, "i64 %s", s[i].json);
    else
      OK (!ok && r.error.code == DX_JSON_E_RANGE, "i64 %s -> E_RANGE", s[i].json);
  }

  static const struct {
    const char *json;
    double v;
  } d[] = {
    { "0", 0.0 },
    { "-0.0", -0.0 },
    { "1.5", 1.5 },
    { "-2.25e2", -225.0 },
    { "1E3", 1000.0 },
    { "1e-2", 0.01 },
    { "123456789", 123456789.0 },
    { "0.000125", 0.000125 },
    { "9007199254740993", 9007199254740992.0 },
  };
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
    dx_json_reader r;
    double v = -1;
    dx_json_reader_init (&r, d[i].json, strlen (d[i].json), NULL);
    bool ok = dx_json_read_double (&r, &v) && dx_json_finish (&r);
    double diff = v - d[i].v;
    if (diff < 0)
      diff = -diff;
    OK (ok && diff <= 1e-12 * (d[i].v < 0 ? -d[i].v : d[i].v + 1), "double %s", d[i].json);
  }
  dx_json_reader r;
  double dv;
  dx_json_reader_init (&r, "1e999", 5, NULL);
  OK (dx_json_read_double (&r, &dv) && dv > 1e308, "1e999 -> huge, no crash");
  dx_json_reader_init (&r, "1e-999", 6, NULL);
  OK (dx_json_read_double (&r, &dv) && dv == 0.0, "1e-999 -> 0");
  dx_json_reader_init (&r, "\"1\"", 3, NULL);
  OK (!dx_json_read_double (&r, &dv) && r.error.code == DX_JSON_E_TYPE,
      "double of a string -> E_TYPE");
}

/* ---- other scalars, wrong types ---- */

static void
test_scalars (void)
{
  dx_json_reader r;
  bool b = false;
  dx_json_reader_init (&r, "true", 4, NULL);
  OK (dx_json_read_bool (&r, &b) && b && dx_json_finish (&r), "bool true");
  dx_json_reader_init (&r, "false", 5, NULL);
  OK (dx_json_read_bool (&r, &b) && !b && dx_json_finish (&r), "bool false");
  dx_json_reader_init (&r, "null", 4, NULL);
  OK (!dx_json_read_bool (&r, &b) && r.error.code == DX_JSON_E_TYPE, "bool of null -> E_TYPE");
  dx_json_reader_init (&r, "fals", 4, NULL);
  OK (!dx_json_read_bool (&r, &b) && r.error.code == DX_JSON_E_EOF, "bool 'fals' -> E_EOF");
  dx_json_reader_init (&r, "null", 4, NULL);
  OK (dx_json_read_null (&r) && dx_json_finish (&r), "null");
  dx_json_reader_init (&r, "0", 1, NULL);
  OK (!dx_json_read_null (&r) && r.error.code == DX_JSON_E_TYPE, "null of 0 -> E_TYPE");
  char buf[8];
  dx_json_reader_init (&r, "12", 2, NULL);
  OK (!dx_json_read_string (&r, buf, sizeof buf, NULL, NULL) && r.error.code == DX_JSON_E_TYPE,
      "string of a number -> E_TYPE");
  dx_json_reader_init (&r, "\"x\"", 3, NULL);
  OK (!dx_json_object_begin (&r) && r.error.code == DX_JSON_E_TYPE, "object of a string -> E_TYPE");
  dx_json_reader_init (&r, "{}", 2, NULL);
  OK (!dx_json_array_begin (&r) && r.error.code == DX_JSON_E_TYPE, "array of an object -> E_TYPE");
  dx_json_reader_init (&r, "?", 1, NULL);
  OK (!dx_json_object_begin (&r) && r.error.code == DX_JSON_E_SYNTAX, "object of '?' -> E_SYNTAX");

  /* peek tells the type without consuming */
  static const struct {
    const char *json;
    dx_json_type t;
  } p[] = {
    { "null", DX_JSON_NULL }, { "false", DX_JSON_FALSE }, { "true", DX_JSON_TRUE },
    { "-1", DX_JSON_NUMBER }, { "\"\"", DX_JSON_STRING }, { " [", DX_JSON_ARRAY },
    { "{", DX_JSON_OBJECT },
  };
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
    dx_json_reader_init (&r, p[i].json, strlen (p[i].json), NULL);
    OK (dx_json_peek (&r) == p[i].t && r.error.code == DX_JSON_OK && dx_json_peek (&r) == p[i].t,
        "peek '%s'", p[i].json);
  }
  dx_json_reader_init (&r, "", 0, NULL);
  OK (dx_json_peek (&r) == DX_JSON_NONE && r.error.code == DX_JSON_E_EOF, "peek empty -> E_EOF");
  dx_json_reader_init (&r, "}", 1, NULL);
  OK (dx_json_peek (&r) == DX_JSON_NONE && r.error.code == DX_JSON_E_SYNTAX,
      "peek '}' -> E_SYNTAX");
  dx_json_reader_init (&r, NULL, 0, NULL);
  OK (dx_json_peek (&r) == DX_JSON_NONE && r.error.code == DX_JSON_E_EOF, "NULL text -> E_EOF");

  /* raw scalars (ping "t") */
  static const char *const raws[] = { "1.5e3", "-7", "12345678901234567890", "\"a\\u00e9\"", "0" };
  for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++) {
    char doc[64];
    snprintf (doc, sizeof doc, "[ %s ]", raws[i]);
    const char *raw = NULL;
    size_t n = 0;
    dx_json_reader_init (&r, doc, strlen (doc), NULL);
    bool ok = dx_json_array_begin (&r) && dx_json_array_next (&r) == 1
              && dx_json_read_raw_scalar (&r, &raw, &n) && dx_json_array_next (&r) == 0
              && dx_json_finish (&r);
    OK (ok && n == strlen (raws[i]) && memcmp (raw, raws[i], n) == 0, "raw scalar %s verbatim",
        raws[i]);
  }
  const char *raw;
  size_t n;
  static const char *const not_raw[] = { "true", "null", "[1]", "{}" };
  for (size_t i = 0; i < 4; i++) {
    dx_json_reader_init (&r, not_raw[i], strlen (not_raw[i]), NULL);
    OK (!dx_json_read_raw_scalar (&r, &raw, &n) && r.error.code == DX_JSON_E_TYPE,
        "raw scalar of %s -> E_TYPE", not_raw[i]);
  }
  dx_json_reader_init (&r, "01", 2, NULL);
  OK (!dx_json_read_raw_scalar (&r, &raw, &n) && r.error.code == DX_JSON_E_NUMBER,
      "raw scalar validates numbers");
  dx_json_reader_init (&r, "\"\\ud800\"", 8, NULL);
  OK (!dx_json_read_raw_scalar (&r, &raw, &n) && r.error.code == DX_JSON_E_SURROGATE,
      "raw scalar validates strings");
}

/* ---- walking objects and arrays, sequence errors ---- */

static void
test_walk (void)
{
  const char *doc = "{\"id\":42,\"name\":\"x\",\"list\":[1,[2],{\"a\":3}],\"n\":null,"
                    "\"\\u0074ype\":\"k\",\"averyveryverylongkeyname\":1,\"nu\\u0000l\":2}";
  dx_json_reader r;
  dx_json_reader_init (&r, doc, strlen (doc), NULL);
  char key[16];
  size_t klen;
  uint64_t id = 0;
  char name[8] = "", type[8] = "";
  int seen = 0, k;
  bool ok = dx_json_object_begin (&r);
  while (ok && (k = dx_json_object_next (&r, key, sizeof key, &klen)) > 0) {
    seen++;
    if (strcmp (key, "id") == 0)
      ok = dx_json_read_u64 (&r, &id);
    else if (strcmp (key, "name") == 0)
      ok = dx_json_read_string (&r, name, sizeof name, NULL, NULL);
    else if (strcmp (key, "type") == 0)
      ok = dx_json_read_string (&r, type, sizeof type, NULL, NULL);
    else if (seen == 6)
      ok = OK (key[0] == '\0' && klen == 24, "an over-long key reads as \"\" with its real length")
           && dx_json_skip (&r);
    else if (seen == 7)
      ok =
          OK (key[0] == '\0' && klen == 4, "a key with \\u0000 reads as \"\"") && dx_json_skip (&r);
    else
      ok = dx_json_skip (&r);
  }
  OK (ok && k == 0 && dx_json_finish (&r) && seen == 7 && id == 42 && strcmp (name, "x") == 0
          && strcmp (type, "k") == 0,
      "walk an object, skipping nested values; escaped key decoded");

  int items = 0;
  dx_json_reader_init (&r, "[ 1 , \"two\" , [3] ]", 19, NULL);
  ok = dx_json_array_begin (&r);
  while (ok && (k = dx_json_array_next (&r)) > 0) {
    items++;
    ok = dx_json_skip (&r);
  }
  OK (ok && k == 0 && items == 3 && dx_json_finish (&r), "walk an array of 3");

  /* E_USAGE: calls out of sequence */
  dx_json_reader_init (&r, "1", 1, NULL);
  OK (!dx_json_finish (&r) && r.error.code == DX_JSON_E_USAGE,
      "finish before the value -> E_USAGE");
  uint64_t v;
  dx_json_reader_init (&r, "1", 1, NULL);
  OK (dx_json_read_u64 (&r, &v) && !dx_json_read_u64 (&r, &v) && r.error.code == DX_JSON_E_USAGE,
      "a second top-level value -> E_USAGE");
  dx_json_reader_init (&r, "[1]", 3, NULL);
  OK (dx_json_array_begin (&r) && !dx_json_read_u64 (&r, &v) && r.error.code == DX_JSON_E_USAGE,
      "value without array_next -> E_USAGE");
  dx_json_reader_init (&r, "[1]", 3, NULL);
  OK (dx_json_array_begin (&r) && dx_json_object_next (&r, key, sizeof key, NULL) < 0
          && r.error.code == DX_JSON_E_USAGE,
      "object_next inside an array -> E_USAGE");
  dx_json_reader_init (&r, "{\"a\":1}", 7, NULL);
  OK (dx_json_object_begin (&r) && dx_json_object_next (&r, key, sizeof key, NULL) == 1
          && dx_json_object_next (&r, key, sizeof key, NULL) < 0 && r.error.code == DX_JSON_E_USAGE,
      "object_next before reading the member's value -> E_USAGE");
  dx_json_reader_init (&r, "1", 1, NULL);
  OK (dx_json_array_next (&r) < 0 && r.error.code == DX_JSON_E_USAGE,
      "array_next outside a container -> E_USAGE");

  /* errors are sticky and keep the first code and offset */
  dx_json_reader_init (&r, "[x, 1]", 6, NULL);
  ok = dx_json_array_begin (&r) && dx_json_array_next (&r) == 1 && dx_json_read_u64 (&r, &v);
  OK (!ok && r.error.code == DX_JSON_E_SYNTAX && r.error.offset == 1, "error at 'x'");
  OK (!dx_json_skip (&r) && dx_json_array_next (&r) < 0 && !dx_json_finish (&r)
          && r.error.code == DX_JSON_E_SYNTAX && r.error.offset == 1,
      "error is sticky (code and offset unchanged)");
}

/* ---- writer ---- */

static void
test_writer (void)
{
  static const struct {
    const char *name;
    const char *in;
    size_t len;
    const char *want;
  } w[] = {
    { "plain", "hi", 2, "\"hi\"" },
    { "empty", "", 0, "\"\"" },
    { "quote backslash slash", "\"\\/", 3, "\"\\\"\\\\/\"" },
    { "short escapes", "\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"" },
    { "other controls", "\x01\x1f", 2, "\"\\u0001\\u001f\"" },
    { "DEL", "\x7f", 1, "\"\\u007f\"" },
    { "NUL", "a\0b", 3, "\"a\\u0000b\"" },
    { "UTF-8 copied", "\xc3\xa9\xf0\x9f\x98\x80", 6, "\"\xc3\xa9\xf0\x9f\x98\x80\"" },
    { "U+2028 copied", "\xe2\x80\xa8", 3, "\"\xe2\x80\xa8\"" },
  };
  dx_buffer b;
  dx_buffer_init (&b, 0);
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
    dx_buffer_reset (&b);
    OK (dx_json_write_string (&b, w[i].in, w[i].len) && strcmp (b.data, w[i].want) == 0, "write %s",
        w[i].name);
    /* and it reads back to the same bytes */
    dx_json_reader r;
    char back[64];
    size_t n;
    dx_json_reader_init (&r, b.data, b.len, NULL);
    OK (dx_json_read_string (&r, back, sizeof back, &n, NULL) && dx_json_finish (&r)
            && n == w[i].len && memcmp (back, w[i].in, n) == 0,
        "round trip %s", w[i].name);
  }

  /* every byte value 1..127 and a NUL, round trip */
  char all[128];
  for (int i = 0; i < 128; i++)
    all[i] = (char) i;
  dx_buffer_reset (&b);
  OK (dx_json_write_string (&b, all, sizeof all), "write all ASCII");
  {
    dx_json_reader r;
    char back[160];
    size_t n;
    bool nul;
    dx_json_reader_init (&r, b.data, b.len, NULL);
    OK (dx_json_read_string (&r, back, sizeof back, &n, &nul) && n == 128 && nul
            && memcmp (back, all, 128) == 0,
        "all ASCII round trip");
    bool raw_ctl = false;
    for (size_t i = 0; i < b.len; i++)
      if ((unsigned char) b.data[i] < 0x20 || b.data[i] == 0x7f)
        raw_ctl = true;
    OK (!raw_ctl, "no raw control byte in the output (NDJSON-safe)");
  }

  /* invalid UTF-8 is refused and marks the buffer failed */
  dx_buffer_reset (&b);
  OK (!dx_json_write_string (&b, "a\xff", 2) && b.failed, "write invalid UTF-8 -> false, failed");
  OK (!dx_json_write_cstr (&b, "ok"), "a failed buffer refuses later writes");
  dx_buffer_reset (&b);
  OK (!dx_json_write_string (&b, "\xed\xa0\x80", 3), "write a UTF-8 surrogate -> false");
  dx_buffer_reset (&b);
  OK (!dx_json_write_cstr (&b, NULL) && b.failed, "write_cstr NULL -> false");

  /* numbers, literals, keys */
  dx_buffer_reset (&b);
  OK (dx_buffer_append_char (&b, '[') && dx_json_write_u64 (&b, UINT64_MAX)
          && dx_buffer_append_char (&b, ',') && dx_json_write_i64 (&b, INT64_MIN)
          && dx_buffer_append_char (&b, ',') && dx_json_write_bool (&b, true)
          && dx_buffer_append_char (&b, ',') && dx_json_write_bool (&b, false)
          && dx_buffer_append_char (&b, ',') && dx_json_write_null (&b)
          && dx_buffer_append_char (&b, ',') && dx_json_write_raw (&b, "{}", 2)
          && dx_buffer_append_char (&b, ']'),
      "write scalars");
  STR_IS (b.data, "[18446744073709551615,-9223372036854775808,true,false,null,{}]", "scalars text");
  dx_buffer_reset (&b);
  OK (dx_buffer_append_char (&b, '{') && dx_json_write_key (&b, "k\"") && dx_json_write_u64 (&b, 0)
          && dx_buffer_append_char (&b, '}'),
      "write key");
  STR_IS (b.data, "{\"k\\\"\":0}", "key text escaped");
  OK (dx_json_validate (b.data, b.len, NULL, NULL), "key output is valid JSON");

  /* the ceiling */
  dx_buffer small;
  dx_buffer_init (&small, 4);
  OK (!dx_json_write_cstr (&small, "abcd") && small.failed, "write over the ceiling -> false");
  dx_buffer_free (&small);
  dx_buffer_free (&b);
}

int
main (void)
{
  test_validate_table ();
  test_strerror ();
  test_limits ();
  test_strings ();
  test_numbers ();
  test_scalars ();
  test_walk ();
  test_writer ();
  return tap_done ();
}
