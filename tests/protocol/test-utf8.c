/* UTF-8 validation: published edge cases (Markus Kuhn's "UTF-8 decoder
 * capability and stress test", RFC 3629 §4 table), split at every byte,
 * and an exhaustive comparison with a reference decoder over every 1-3
 * byte sequence and every 4-byte sequence with a plausible lead. */
#include <stdint.h>
#include <stdlib.h>

#include "protocol/utf8.h"
#include "../tap.h"

typedef struct {
  const char *name;
  const char *bytes;
  size_t len;
  int valid;  /* 1 valid, 0 invalid (REJECT), 2 truncated (PARTIAL) */
  size_t bad; /* offset of the first bad byte (invalid), or len (truncated) */
} vector;

#define V(name, s, valid, bad)                                                                     \
  {                                                                                                \
    name, s, sizeof s - 1, valid, bad                                                              \
  }

static const vector vectors[] = {
  V ("empty", "", 1, 0),
  V ("ascii", "hello, world", 1, 0),
  V ("NUL is valid UTF-8", "a\0b", 1, 0),
  V ("kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1, 0),
  V ("U+0080 first 2-byte", "\xc2\x80", 1, 0),
  V ("U+07FF last 2-byte", "\xdf\xbf", 1, 0),
  V ("U+0800 first 3-byte", "\xe0\xa0\x80", 1, 0),
  V ("U+D7FF before surrogates", "\xed\x9f\xbf", 1, 0),
  V ("U+E000 after surrogates", "\xee\x80\x80", 1, 0),
  V ("U+FFFD", "\xef\xbf\xbd", 1, 0),
  V ("U+FFFF", "\xef\xbf\xbf", 1, 0),
  V ("U+10000 first 4-byte", "\xf0\x90\x80\x80", 1, 0),
  V ("U+10FFFF last code point", "\xf4\x8f\xbf\xbf", 1, 0),
  V ("Korean", "\xec\x95\x88\xeb\x85\x95", 1, 0),
  V ("emoji", "\xf0\x9f\x98\x80", 1, 0),
  /* stray continuation bytes (Kuhn 3.1) */
  V ("lone 0x80", "\x80", 0, 0),
  V ("lone 0xBF", "a\xbf", 0, 1),
  V ("two continuations", "\x80\xbf", 0, 0),
  /* lonely start characters (3.2) */
  V ("C2 then space", "\xc2 ", 0, 1),
  V ("E0 A0 then space", "\xe0\xa0 ", 0, 2),
  V ("F0 90 80 then space", "\xf0\x90\x80 ", 0, 3),
  /* truncated at the end (3.3) */
  V ("truncated 2-byte", "\xc2", 2, 1),
  V ("truncated 3-byte", "ab\xe0\xa0", 2, 4),
  V ("truncated 4-byte", "\xf0\x90\x80", 2, 3),
  V ("truncated 4-byte after 1", "\xf4", 2, 1),
  /* impossible bytes (3.5) */
  V ("FE", "\xfe", 0, 0),
  V ("FF", "\xff", 0, 0),
  V ("FE FE FF FF", "\xfe\xfe\xff\xff", 0, 0),
  V ("F5 (above U+10FFFF lead)", "\xf5\x80\x80\x80", 0, 0),
  V ("F8 5-byte form", "\xf8\x88\x80\x80\x80", 0, 0),
  V ("FC 6-byte form", "\xfc\x84\x80\x80\x80\x80", 0, 0),
  /* overlongs (4.1, 4.2) */
  V ("overlong '/' C0 AF", "\xc0\xaf", 0, 0),
  V ("overlong '/' E0 80 AF", "\xe0\x80\xaf", 0, 1),
  V ("overlong '/' F0 80 80 AF", "\xf0\x80\x80\xaf", 0, 1),
  V ("overlong max C1 BF", "\xc1\xbf", 0, 0),
  V ("overlong max E0 9F BF", "\xe0\x9f\xbf", 0, 1),
  V ("overlong max F0 8F BF BF", "\xf0\x8f\xbf\xbf", 0, 1),
  V ("overlong NUL C0 80", "\xc0\x80", 0, 0),
  V ("overlong NUL E0 80 80", "\xe0\x80\x80", 0, 1),
  /* surrogates (5.1, 5.2) */
  V ("U+D800", "\xed\xa0\x80", 0, 1),
  V ("U+DB7F", "\xed\xad\xbf", 0, 1),
  V ("U+DFFF", "\xed\xbf\xbf", 0, 1),
  V ("paired U+D800 U+DC00", "\xed\xa0\x80\xed\xb0\x80", 0, 1),
  /* above U+10FFFF */
  V ("U+110000", "\xf4\x90\x80\x80", 0, 1),
  V ("U+13FFFF", "\xf4\xbf\xbf\xbf", 0, 1),
  /* a continuation byte missing in the middle */
  V ("3-byte missing one", "\xe2\x82x", 0, 2),
  V ("valid then invalid", "ok \xe2\x82\xac \xc3\x28", 0, 8),
};

static dx_utf8_status
expected_status (const vector *v)
{
  return v->valid == 1 ? DX_UTF8_ACCEPT : v->valid == 0 ? DX_UTF8_REJECT : DX_UTF8_PARTIAL;
}

static void
test_vectors (void)
{
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    const vector *v = &vectors[i];
    size_t bad = 12345;
    bool ok = dx_utf8_check (v->bytes, v->len, &bad);
    OK (ok == (v->valid == 1), "check: %s", v->name);
    OK (dx_utf8_valid (v->bytes, v->len) == (v->valid == 1), "valid: %s", v->name);
    if (v->valid != 1)
      OK (bad == v->bad, "offset %zu (want %zu): %s", bad, v->bad, v->name);

    /* Split at every position into two feeds, and byte by byte. */
    bool same = true;
    for (size_t cut = 0; cut <= v->len; cut++) {
      dx_utf8 s;
      dx_utf8_init (&s);
      dx_utf8_feed (&s, v->bytes, cut);
      dx_utf8_status st = dx_utf8_feed (&s, v->bytes + cut, v->len - cut);
      if (st != expected_status (v))
        same = false;
      if (st == DX_UTF8_REJECT && dx_utf8_error_offset (&s) != v->bad)
        same = false;
    }
    dx_utf8 s;
    dx_utf8_init (&s);
    dx_utf8_status st = DX_UTF8_ACCEPT;
    for (size_t k = 0; k < v->len; k++)
      st = dx_utf8_feed (&s, v->bytes + k, 1);
    if (st != expected_status (v))
      same = false;
    OK (same, "split at every byte and byte by byte: %s", v->name);
  }
}

static void
test_sticky_reject (void)
{
  dx_utf8 s;
  dx_utf8_init (&s);
  OK (dx_utf8_feed (&s, "\xff", 1) == DX_UTF8_REJECT, "FF rejects");
  OK (dx_utf8_feed (&s, "abc", 3) == DX_UTF8_REJECT, "reject is sticky");
  OK (dx_utf8_error_offset (&s) == 0, "offset stays at the bad byte");
  dx_utf8_init (&s);
  OK (dx_utf8_feed (&s, "abc", 3) == DX_UTF8_ACCEPT, "init clears the state");
  dx_utf8 z = { 0 };
  OK (dx_utf8_feed (&z, "\xc3\xa9", 2) == DX_UTF8_ACCEPT, "zero-initialised state works");
  OK (dx_utf8_feed (&s, NULL, 0) == DX_UTF8_ACCEPT, "empty feed keeps ACCEPT");
}

/* Reference: decode by arithmetic, then apply the rules. */
static bool
ref_valid (const unsigned char *p, size_t len)
{
  size_t i = 0;
  while (i < len) {
    unsigned c = p[i];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + n >= len) /* truncated */
      return false;
    for (size_t k = 1; k <= n; k++) {
      if ((p[i + k] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

static void
test_exhaustive (void)
{
  unsigned char b[4];
  size_t mismatches = 0, checked = 0;
  for (unsigned x = 0; x < 256; x++) {
    b[0] = (unsigned char) x;
    mismatches += dx_utf8_valid (b, 1) != ref_valid (b, 1);
    checked++;
    for (unsigned y = 0; y < 256; y++) {
      b[1] = (unsigned char) y;
      mismatches += dx_utf8_valid (b, 2) != ref_valid (b, 2);
      checked++;
      if (x < 0xE0 || x > 0xF4)
        continue;
      for (unsigned z = 0; z < 256; z++) {
        b[2] = (unsigned char) z;
        mismatches += dx_utf8_valid (b, 3) != ref_valid (b, 3);
        checked++;
        if (x < 0xF0 || y < 0x80 || y > 0xBF || z < 0x80 || z > 0xBF)
          continue;
        for (unsigned w = 0x70; w < 0xD0; w++) {
          b[3] = (unsigned char) w;
          mismatches += dx_utf8_valid (b, 4) != ref_valid (b, 4);
          checked++;
        }
      }
    }
  }
  OK (mismatches == 0, "exhaustive short sequences agree with a reference decoder (%zu checked)",
      checked);
}

static void
test_encode (void)
{
  static const uint32_t cps[] = { 0,      0x41,   0x7F,   0x80,    0x7FF,   0x800,   0xD7FF,
                                  0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF };
  bool all = true;
  for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
    char out[4];
    size_t n = dx_utf8_encode (cps[i], out);
    if (n == 0 || !dx_utf8_valid (out, n))
      all = false;
    size_t want = cps[i] < 0x80 ? 1 : cps[i] < 0x800 ? 2 : cps[i] < 0x10000 ? 3 : 4;
    if (n != want)
      all = false;
  }
  OK (all, "encode produces valid, shortest forms");
  char out[4];
  OK (memcmp ((dx_utf8_encode (0x20AC, out), out), "\xe2\x82\xac", 3) == 0, "encode U+20AC");
  OK (dx_utf8_encode (0xD800, out) == 0, "encode rejects U+D800");
  OK (dx_utf8_encode (0xDFFF, out) == 0, "encode rejects U+DFFF");
  OK (dx_utf8_encode (0x110000, out) == 0, "encode rejects U+110000");
}

int
main (void)
{
  test_vectors ();
  test_sticky_reject ();
  test_exhaustive ();
  test_encode ();
  return tap_done ();
}
