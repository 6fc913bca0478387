#include "protocol/ndjson.h"

#include <string.h>

/* A line's content is limited to max_line bytes, but one more byte may be
 * held while we cannot yet know whether it is the '\r' of a "\r\n". So a
 * line is over the limit when it holds max_line + 1 bytes and the last one
 * is not '\r', or max_line + 2 bytes (no terminator after the '\r'). Both
 * tests depend only on the bytes, never on how they were chunked, which is
 * what makes the events independent of the split. */

void
dx_ndjson_init (dx_ndjson *s, size_t max_line)
{
  s->max_line = max_line ? max_line : DX_NDJSON_DEFAULT_MAX_LINE;
  dx_buffer_init (&s->partial, s->max_line + 2);
  s->skipping = false;
}

void
dx_ndjson_free (dx_ndjson *s)
{
  dx_buffer_free (&s->partial);
  s->skipping = false;
}

size_t
dx_ndjson_pending (const dx_ndjson *s)
{
  return s->skipping ? 0 : s->partial.len;
}

/* Strip the optional '\r'; false if the line is empty (skipped). */
static bool
finish_line (const char *start, size_t len, const char **line, size_t *line_len)
{
  if (len && start[len - 1] == '\r')
    len--;
  *line = start;
  *line_len = len;
  return len > 0;
}

dx_ndjson_event
dx_ndjson_next (dx_ndjson *s, const char *data, size_t len, size_t *consumed, const char **line,
                size_t *line_len)
{
  size_t pos = 0;
  *line = NULL;
  *line_len = 0;
  while (pos < len) {
    const char *nl = memchr (data + pos, '\n', len - pos);
    size_t seg = nl ? (size_t) (nl - (data + pos)) : len - pos;

    if (s->skipping) {
      pos += nl ? seg + 1 : seg;
      if (nl)
        s->skipping = false;
      continue;
    }

    size_t held = s->partial.len;
    /* Where would this line cross the limit? Check the bytes as if they
     * were appended one by one, but in O(1): only the lengths max_line + 1
     * and max_line + 2 matter. */
    size_t total = held + seg;
    if (total >= s->max_line + 1) {
      size_t k = s->max_line + 1; /* length at the first test point */
      char last = k > held ? data[pos + (k - held) - 1] : s->partial.data[k - 1];
      bool too = last != '\r' || total >= s->max_line + 2;
      /* A terminated line of exactly max_line + 1 bytes ending in '\r' is
       * fine: "\r\n" terminator. */
      if (too) {
        dx_buffer_reset (&s->partial);
        /* Drop the rest of the line, including its '\n' if present. */
        if (nl) {
          pos += seg + 1;
        } else {
          pos = len;
          s->skipping = true;
        }
        *consumed = pos;
        return DX_NDJSON_TOO_LARGE;
      }
    }

    if (!nl) {
      if (!dx_buffer_append (&s->partial, data + pos, seg)) {
        *consumed = pos;
        dx_buffer_reset (&s->partial);
        return DX_NDJSON_ERROR;
      }
      pos = len;
      break;
    }

    pos += seg + 1;
    if (held == 0) {
      /* The whole line is in this chunk: hand it out in place. */
      if (finish_line (data + pos - seg - 1, seg, line, line_len)) {
        *consumed = pos;
        return DX_NDJSON_LINE;
      }
      continue;
    }
    if (!dx_buffer_append (&s->partial, data + pos - seg - 1, seg)) {
      *consumed = pos;
      dx_buffer_reset (&s->partial);
      return DX_NDJSON_ERROR;
    }
    /* Valid until the next call: the next call resets the buffer first. */
    size_t n = s->partial.len;
    s->partial.len = 0; /* emptied logically; the bytes stay readable */
    if (finish_line (s->partial.data, n, line, line_len)) {
      *consumed = pos;
      return DX_NDJSON_LINE;
    }
  }
  *consumed = pos;
  return DX_NDJSON_NEED_MORE;
}

bool
dx_ndjson_append_line (dx_buffer *b, const char *json, size_t len)
{
  size_t old = b->len;
  if (!dx_buffer_reserve (b, len + 1))
    return false;
  if (!dx_buffer_append (b, json, len) || !dx_buffer_append_char (b, '\n')) {
    b->len = old;
    if (b->data)
      b->data[old] = '\0';
    return false;
  }
  return true;
}
