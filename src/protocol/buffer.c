#include "protocol/buffer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t
effective_max (const dx_buffer *b)
{
  return b->max_len ? b->max_len : SIZE_MAX / 2;
}

void
dx_buffer_init (dx_buffer *b, size_t max_len)
{
  memset (b, 0, sizeof *b);
  b->max_len = max_len;
}

void
dx_buffer_free (dx_buffer *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void
dx_buffer_reset (dx_buffer *b)
{
  b->len = 0;
  b->failed = false;
  if (b->data)
    b->data[0] = '\0';
}

char *
dx_buffer_steal (dx_buffer *b, size_t *len)
{
  char *d = b->data;
  if (len)
    *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}

bool
dx_buffer_reserve (dx_buffer *b, size_t n)
{
  size_t max = effective_max (b);
  if (b->failed)
    return false;
  if (n > max || b->len > max - n) {
    b->failed = true;
    return false;
  }
  size_t need = b->len + n + 1; /* + NUL */
  if (need <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 4 ? need : cap * 2;
  char *d = realloc (b->data, cap);
  if (!d) {
    b->failed = true;
    return false;
  }
  b->data = d;
  b->cap = cap;
  return true;
}

bool
dx_buffer_append (dx_buffer *b, const void *data, size_t n)
{
  if (!dx_buffer_reserve (b, n))
    return false;
  if (n)
    memcpy (b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
  return true;
}

bool
dx_buffer_append_str (dx_buffer *b, const char *s)
{
  return dx_buffer_append (b, s, strlen (s));
}

bool
dx_buffer_append_char (dx_buffer *b, char c)
{
  return dx_buffer_append (b, &c, 1);
}

bool
dx_buffer_append_u64 (dx_buffer *b, uint64_t v)
{
  char tmp[24];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char) ('0' + v % 10);
    v /= 10;
  } while (v);
  return dx_buffer_append (b, tmp + i, sizeof tmp - i);
}

bool
dx_buffer_append_i64 (dx_buffer *b, int64_t v)
{
  if (v < 0) {
    if (!dx_buffer_append_char (b, '-'))
      return false;
    /* Negate in unsigned arithmetic: INT64_MIN has no positive twin. */
    return dx_buffer_append_u64 (b, (uint64_t) 0 - (uint64_t) v);
  }
  return dx_buffer_append_u64 (b, (uint64_t) v);
}

bool
dx_buffer_vprintf (dx_buffer *b, const char *fmt, va_list ap)
{
  va_list ap2;
  va_copy (ap2, ap);
  int n = vsnprintf (NULL, 0, fmt, ap2);
  va_end (ap2);
  if (n < 0 || !dx_buffer_reserve (b, (size_t) n)) {
    b->failed = true;
    return false;
  }
  vsnprintf (b->data + b->len, (size_t) n + 1, fmt, ap);
  b->len += (size_t) n;
  return true;
}

bool
dx_buffer_printf (dx_buffer *b, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  bool ok = dx_buffer_vprintf (b, fmt, ap);
  va_end (ap);
  return ok;
}

void
dx_buffer_consume (dx_buffer *b, size_t n)
{
  if (n >= b->len) {
    dx_buffer_reset (b);
    return;
  }
  memmove (b->data, b->data + n, b->len - n);
  b->len -= n;
  b->data[b->len] = '\0';
}
