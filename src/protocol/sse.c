#include "protocol/sse.h"

#include <stdlib.h>
#include <string.h>

/* ---- encoder ---- */

static bool
has_line_break (const char *s)
{
  return strpbrk (s, "\r\n") != NULL;
}

bool
dx_sse_encode_event (dx_buffer *out, const char *id, const char *event, const char *data,
                     size_t len)
{
  if ((id && has_line_break (id)) || (event && has_line_break (event))
      || (len && memchr (data, '\0', len)))
    return false;
  bool ok = true;
  if (id)
    ok = dx_buffer_append (out, "id: ", 4) && dx_buffer_append_str (out, id)
         && dx_buffer_append_char (out, '\n');
  if (ok && event)
    ok = dx_buffer_append (out, "event: ", 7) && dx_buffer_append_str (out, event)
         && dx_buffer_append_char (out, '\n');
  /* One data line per line of the payload: LF, CRLF and CR all end a line,
     exactly as the parser on the other side will read them. */
  size_t i = 0;
  do {
    size_t start = i;
    while (i < len && data[i] != '\n' && data[i] != '\r')
      i++;
    ok = ok && dx_buffer_append (out, "data: ", 6)
         && dx_buffer_append (out, data + start, i - start) && dx_buffer_append_char (out, '\n');
    if (i < len) {
      if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
        i++;
      i++;
      if (i == len) { /* a trailing line break: the last line is empty */
        ok = ok && dx_buffer_append (out, "data: \n", 7);
      }
    } else {
      break;
    }
  } while (ok && i < len);
  return ok && dx_buffer_append_char (out, '\n');
}

bool
dx_sse_encode_event_u64 (dx_buffer *out, uint64_t id, const char *event, const char *data,
                         size_t len)
{
  char tmp[24];
  size_t n = sizeof tmp - 1;
  tmp[n] = '\0';
  do {
    tmp[--n] = (char) ('0' + id % 10);
    id /= 10;
  } while (id);
  return dx_sse_encode_event (out, tmp + n, event, data, len);
}

bool
dx_sse_encode_comment (dx_buffer *out, const char *text)
{
  if (!text || has_line_break (text))
    return false;
  return dx_buffer_append (out, ": ", 2) && dx_buffer_append_str (out, text)
         && dx_buffer_append (out, "\n\n", 2);
}

bool
dx_sse_encode_retry (dx_buffer *out, uint64_t ms)
{
  return dx_buffer_append (out, "retry: ", 7) && dx_buffer_append_u64 (out, ms)
         && dx_buffer_append (out, "\n\n", 2);
}

/* ---- parser ---- */

struct dx_sse_parser {
  size_t max_line;
  size_t max_data;
  dx_buffer line;    /* the line being read */
  dx_buffer data;    /* data buffer of the event being built */
  dx_buffer type;    /* event type buffer */
  dx_buffer id;      /* last event ID buffer */
  dx_buffer last_id; /* last event ID string (set at each blank line) */
  dx_buffer ev_data; /* the dispatched event */
  dx_buffer ev_type;
  dx_buffer comment;
  dx_sse_event event;
  int64_t retry;
  unsigned bom_matched; /* BOM bytes matched at the start of the stream */
  bool bom_done;
  bool cr_pending; /* the last line ended in CR: skip a following LF */
  bool failed;
};

dx_sse_parser *
dx_sse_parser_new (size_t max_line, size_t max_data)
{
  dx_sse_parser *p = calloc (1, sizeof *p);
  if (!p)
    return NULL;
  p->max_line = max_line ? max_line : 65536;
  p->max_data = max_data ? max_data : 1024 * 1024;
  dx_buffer_init (&p->line, p->max_line);
  dx_buffer_init (&p->data, p->max_data + 1);
  dx_buffer_init (&p->type, p->max_line);
  dx_buffer_init (&p->id, p->max_line);
  dx_buffer_init (&p->last_id, p->max_line);
  dx_buffer_init (&p->ev_data, p->max_data + 1);
  dx_buffer_init (&p->ev_type, p->max_line);
  dx_buffer_init (&p->comment, p->max_line);
  p->retry = -1;
  if (!dx_buffer_append (&p->last_id, "", 0)) {
    dx_sse_parser_free (p);
    return NULL;
  }
  return p;
}

void
dx_sse_parser_free (dx_sse_parser *p)
{
  if (!p)
    return;
  dx_buffer_free (&p->line);
  dx_buffer_free (&p->data);
  dx_buffer_free (&p->type);
  dx_buffer_free (&p->id);
  dx_buffer_free (&p->last_id);
  dx_buffer_free (&p->ev_data);
  dx_buffer_free (&p->ev_type);
  dx_buffer_free (&p->comment);
  free (p);
}

const dx_sse_event *
dx_sse_parser_event (const dx_sse_parser *p)
{
  return &p->event;
}

const char *
dx_sse_parser_comment (const dx_sse_parser *p)
{
  return p->comment.data ? p->comment.data : "";
}

const char *
dx_sse_parser_last_event_id (const dx_sse_parser *p)
{
  return p->last_id.data ? p->last_id.data : "";
}

int64_t
dx_sse_parser_retry (const dx_sse_parser *p)
{
  return p->retry;
}

static bool
set_str (dx_buffer *b, const char *s, size_t n)
{
  dx_buffer_reset (b);
  return dx_buffer_append (b, s, n);
}

static dx_sse_status
dispatch (dx_sse_parser *p)
{
  if (!set_str (&p->last_id, p->id.data ? p->id.data : "", p->id.len))
    return DX_SSE_ERROR;
  if (p->data.len == 0) {
    dx_buffer_reset (&p->type);
    return DX_SSE_NEED_MORE;
  }
  /* The data buffer ends in the LF added after its last line: drop it. */
  p->data.len--;
  p->data.data[p->data.len] = '\0';
  dx_buffer tmp = p->ev_data;
  p->ev_data = p->data;
  p->data = tmp;
  dx_buffer_reset (&p->data);
  bool typed = p->type.len > 0;
  if (!set_str (&p->ev_type, typed ? p->type.data : "message", typed ? p->type.len : 7))
    return DX_SSE_ERROR;
  dx_buffer_reset (&p->type);
  p->event.type = p->ev_type.data;
  p->event.data = p->ev_data.data;
  p->event.data_len = p->ev_data.len;
  p->event.last_id = p->last_id.data;
  return DX_SSE_EVENT;
}

static dx_sse_status
process_field (dx_sse_parser *p, const char *line, size_t n)
{
  const char *colon = memchr (line, ':', n);
  size_t flen = colon ? (size_t) (colon - line) : n;
  const char *v = colon ? colon + 1 : line + n;
  size_t vlen = (size_t) (line + n - v);
  if (vlen && *v == ' ') {
    v++;
    vlen--;
  }
  if (flen == 5 && memcmp (line, "event", 5) == 0) {
    if (!set_str (&p->type, v, vlen))
      return DX_SSE_ERROR;
  } else if (flen == 4 && memcmp (line, "data", 4) == 0) {
    if (!dx_buffer_append (&p->data, v, vlen) || !dx_buffer_append_char (&p->data, '\n')
        || p->data.len > p->max_data + 1)
      return DX_SSE_ERROR;
  } else if (flen == 2 && memcmp (line, "id", 2) == 0) {
    if (!memchr (v, '\0', vlen) && !set_str (&p->id, v, vlen))
      return DX_SSE_ERROR;
  } else if (flen == 5 && memcmp (line, "retry", 5) == 0) {
    int64_t ms = 0;
    size_t i = 0;
    for (; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
      if (ms < INT64_MAX / 20)
        ms = ms * 10 + (v[i] - '0');
    if (vlen && i == vlen)
      p->retry = ms;
  }
  return DX_SSE_NEED_MORE;
}

static dx_sse_status
process_line (dx_sse_parser *p)
{
  const char *line = p->line.data ? p->line.data : "";
  size_t n = p->line.len;
  dx_sse_status st;
  if (n == 0)
    st = dispatch (p);
  else if (line[0] == ':')
    st = set_str (&p->comment, line + 1, n - 1) ? DX_SSE_COMMENT : DX_SSE_ERROR;
  else
    st = process_field (p, line, n);
  dx_buffer_reset (&p->line);
  return st;
}

static dx_sse_status
fail (dx_sse_parser *p)
{
  p->failed = true;
  return DX_SSE_ERROR;
}

dx_sse_status
dx_sse_parser_feed (dx_sse_parser *p, const char *data, size_t len, size_t *consumed)
{
  static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };
  size_t i = 0;
  *consumed = 0;
  if (p->failed)
    return DX_SSE_ERROR;
  while (!p->bom_done && i < len) {
    if ((unsigned char) data[i] == bom[p->bom_matched]) {
      i++;
      if (++p->bom_matched == 3)
        p->bom_done = true;
      continue;
    }
    /* Not a BOM after all: the bytes matched so far are text. */
    p->bom_done = true;
    if (!dx_buffer_append (&p->line, bom, p->bom_matched))
      return fail (p);
  }
  while (i < len) {
    char c = data[i];
    if (c == '\n' && p->cr_pending) {
      p->cr_pending = false;
      i++;
      continue;
    }
    p->cr_pending = false;
    if (c == '\r' || c == '\n') {
      p->cr_pending = c == '\r';
      i++;
      dx_sse_status st = process_line (p);
      if (st == DX_SSE_ERROR) {
        *consumed = i - 1;
        return fail (p);
      }
      if (st != DX_SSE_NEED_MORE) {
        *consumed = i;
        return st;
      }
      continue;
    }
    /* Copy the run of ordinary bytes at once. */
    size_t j = i;
    while (j < len && data[j] != '\r' && data[j] != '\n')
      j++;
    if (!dx_buffer_append (&p->line, data + i, j - i)) {
      *consumed = i;
      return fail (p);
    }
    i = j;
  }
  *consumed = len;
  return DX_SSE_NEED_MORE;
}
