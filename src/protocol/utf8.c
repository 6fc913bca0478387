#include "protocol/utf8.h"

#include <string.h>

/* The validator follows the table of RFC 3629 §4: the lead byte decides how
 * many continuation bytes follow and, for E0/ED/F0/F4, a narrower range for
 * the first of them. That single narrowed range is what rejects overlongs,
 * surrogates and values above U+10FFFF without decoding the code point. */

void
dx_utf8_init (dx_utf8 *s)
{
  s->need = 0;
  s->lo = 0x80;
  s->hi = 0xBF;
  s->status = DX_UTF8_ACCEPT;
  s->offset = 0;
}

/* Sets need/lo/hi for lead byte c; false if c cannot start a character. */
static bool
lead (dx_utf8 *s, uint8_t c)
{
  s->lo = 0x80;
  s->hi = 0xBF;
  if (c < 0x80) {
    s->need = 0;
  } else if (c >= 0xC2 && c <= 0xDF) {
    s->need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    s->need = 2;
    if (c == 0xE0)
      s->lo = 0xA0; /* overlong below U+0800 */
    else if (c == 0xED)
      s->hi = 0x9F; /* U+D800..U+DFFF surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    s->need = 3;
    if (c == 0xF0)
      s->lo = 0x90; /* overlong below U+10000 */
    else if (c == 0xF4)
      s->hi = 0x8F; /* above U+10FFFF */
  } else {
    return false; /* 80..C1 (stray continuation, overlong lead), F5..FF */
  }
  return true;
}

/* True iff one of the 8 bytes at p has its high bit set (not ASCII).
 * memcpy keeps the load legal at any alignment; compilers make it one
 * instruction. */
static bool
word_has_high_bit (const uint8_t *p)
{
  uint64_t w;
  memcpy (&w, p, sizeof w);
  return (w & 0x8080808080808080ull) != 0;
}

dx_utf8_status
dx_utf8_feed (dx_utf8 *s, const void *data, size_t len)
{
  const uint8_t *p = data;
  if (s->status == DX_UTF8_REJECT)
    return DX_UTF8_REJECT;
  for (size_t i = 0; i < len; i++) {
    if (s->need == 0) {
      /* Fast path for ASCII runs: 8 bytes at a time, then byte-wise. */
      while (len - i >= 8 && !word_has_high_bit (p + i))
        i += 8;
      if (i >= len)
        break;
    }
    uint8_t c = p[i];
    if (s->need == 0) {
      if (c < 0x80)
        continue;
      if (!lead (s, c)) {
        s->offset += i;
        s->status = DX_UTF8_REJECT;
        return DX_UTF8_REJECT;
      }
    } else {
      if (c < s->lo || c > s->hi) {
        s->offset += i;
        s->status = DX_UTF8_REJECT;
        return DX_UTF8_REJECT;
      }
      s->lo = 0x80;
      s->hi = 0xBF;
      s->need--;
    }
  }
  s->offset += len;
  s->status = s->need ? DX_UTF8_PARTIAL : DX_UTF8_ACCEPT;
  return (dx_utf8_status) s->status;
}

uint64_t
dx_utf8_error_offset (const dx_utf8 *s)
{
  return s->offset;
}

bool
dx_utf8_check (const void *data, size_t len, size_t *bad_offset)
{
  dx_utf8 s;
  dx_utf8_init (&s);
  dx_utf8_status st = dx_utf8_feed (&s, data, len);
  if (st == DX_UTF8_ACCEPT)
    return true;
  if (bad_offset)
    *bad_offset = st == DX_UTF8_REJECT ? (size_t) s.offset : len;
  return false;
}

bool
dx_utf8_valid (const void *data, size_t len)
{
  return dx_utf8_check (data, len, NULL);
}

size_t
dx_utf8_encode (uint32_t cp, char out[4])
{
  if (cp < 0x80) {
    out[0] = (char) cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char) (0xC0 | (cp >> 6));
    out[1] = (char) (0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp >= 0xD800 && cp <= 0xDFFF)
    return 0;
  if (cp < 0x10000) {
    out[0] = (char) (0xE0 | (cp >> 12));
    out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char) (0x80 | (cp & 0x3F));
    return 3;
  }
  if (cp <= 0x10FFFF) {
    out[0] = (char) (0xF0 | (cp >> 18));
    out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char) (0x80 | (cp & 0x3F));
    return 4;
  }
  return 0;
}
