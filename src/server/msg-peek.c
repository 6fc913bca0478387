#include "server/msg-peek.h"

#include "protocol/json.h"
#include "protocol/names.h"

#include <string.h>

static dx_json_limits
limits (void)
{
  dx_json_limits l = { 0, DX_LINE_MAX, DX_LINE_MAX };
  return l;
}

bool
dx_peek_type (const char *json, size_t len, char *type, size_t cap)
{
  dx_json_limits l = limits ();
  dx_json_reader r;
  dx_json_reader_init (&r, json, len, &l);
  if (!dx_json_object_begin (&r))
    return false;
  char key[16];
  int k;
  while ((k = dx_json_object_next (&r, key, sizeof key, NULL)) > 0)
    {
      if (strcmp (key, "type") == 0)
        return dx_json_read_string (&r, type, cap, NULL, NULL);
      if (!dx_json_skip (&r))
        return false;
    }
  return false;
}

static bool
is_ws (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool
dx_peek_ping (const char *json, size_t len, const char **t, size_t *t_len)
{
  dx_json_limits l = limits ();
  dx_json_reader r;
  dx_json_reader_init (&r, json, len, &l);
  *t = NULL;
  *t_len = 0;
  if (!dx_json_object_begin (&r))
    return false;
  bool is_ping = false, seen_type = false;
  char key[16];
  int k;
  while ((k = dx_json_object_next (&r, key, sizeof key, NULL)) > 0)
    {
      if (strcmp (key, "type") == 0)
        {
          char type[16];
          if (seen_type || !dx_json_read_string (&r, type, sizeof type, NULL, NULL))
            return false;
          seen_type = true;
          is_ping = strcmp (type, "ping") == 0;
        }
      else if (strcmp (key, "t") == 0)
        {
          if (*t != NULL || dx_json_peek (&r) == DX_JSON_NONE)
            return false;
          /* The reader is positioned before the value: its span is what
           * dx_json_skip walks over, minus surrounding whitespace. */
          const char *start = r.p;
          if (!dx_json_skip (&r))
            return false;
          const char *end = r.p;
          while (start < end && (is_ws (*start) || *start == ':'))
            start++;
          while (end > start && is_ws (end[-1]))
            end--;
          *t = start;
          *t_len = (size_t) (end - start);
        }
      else if (!dx_json_skip (&r))
        return false;
    }
  return k == 0 && dx_json_finish (&r) && is_ping;
}

bool
dx_encode_pong_raw (dx_buffer *b, const char *t, size_t t_len, uint64_t ts)
{
  size_t mark = b->len;
  bool ok = dx_buffer_append_str (b, "{\"type\":\"pong\"");
  if (t)
    ok = ok && dx_buffer_append_char (b, ',') && dx_json_write_key (b, "t")
         && dx_json_write_raw (b, t, t_len);
  ok = ok && dx_buffer_append_char (b, ',') && dx_json_write_key (b, "ts")
       && dx_json_write_u64 (b, ts) && dx_buffer_append_char (b, '}');
  if (!ok)
    b->len = mark;
  return ok;
}
