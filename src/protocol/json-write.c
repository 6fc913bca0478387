/* The JSON writer (json.h): values appended to a dx_buffer. */
#include "protocol/json.h"

#include <string.h>

#include "protocol/hex.h"
#include "protocol/json-private.h"
#include "protocol/utf8.h"

static bool
buffer_fail (dx_buffer *b)
{
  b->failed = true;
  return false;
}

bool
dx_json_write_string (dx_buffer *b, const char *s, size_t len)
{
  if (b->failed)
    return false;
  if (len && !s)
    return buffer_fail (b);
  if (!dx_utf8_valid (s, len))
    return buffer_fail (b);
  /* Most text needs no escaping: reserve once for the common case. */
  if (!dx_buffer_reserve (b, len + 2))
    return false;
  b->data[b->len++] = '"';
  size_t i = 0;
  while (i < len) {
    size_t run = i;
    while (i < len) {
      if (len - i >= 8 && !word_ends_run (s + i) && !has_byte (load8 (s + i), 0x7F)) {
        i += 8;
        continue;
      }
      unsigned char c = (unsigned char) s[i];
      if (c < 0x20 || c == '"' || c == '\\' || c == 0x7F)
        break;
      i++;
    }
    if (i > run && !dx_buffer_append (b, s + run, i - run))
      return false;
    if (i >= len)
      break;
    unsigned char c = (unsigned char) s[i++];
    char esc[6] = { '\\', 0, 0, 0, 0, 0 };
    size_t n = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = dx_hex_digit (c >> 4);
      esc[5] = dx_hex_digit (c);
      n = 6;
    }
    if (!dx_buffer_append (b, esc, n))
      return false;
  }
  return dx_buffer_append_char (b, '"');
}

bool
dx_json_write_cstr (dx_buffer *b, const char *s)
{
  if (!s)
    return buffer_fail (b);
  return dx_json_write_string (b, s, strlen (s));
}

bool
dx_json_write_u64 (dx_buffer *b, uint64_t v)
{
  return dx_buffer_append_u64 (b, v);
}

bool
dx_json_write_i64 (dx_buffer *b, int64_t v)
{
  return dx_buffer_append_i64 (b, v);
}

bool
dx_json_write_bool (dx_buffer *b, bool v)
{
  return v ? dx_buffer_append (b, "true", 4) : dx_buffer_append (b, "false", 5);
}

bool
dx_json_write_null (dx_buffer *b)
{
  return dx_buffer_append (b, "null", 4);
}

bool
dx_json_write_raw (dx_buffer *b, const char *json, size_t len)
{
  if (len && !json)
    return buffer_fail (b);
  return dx_buffer_append (b, json, len);
}

bool
dx_json_write_key (dx_buffer *b, const char *key)
{
  return dx_json_write_cstr (b, key) && dx_buffer_append_char (b, ':');
}
