/* Lookups on a parsed dx_http_message, and the grammar pieces the parser,
 * the query decoder and the writers share (http-private.h). */
#include "protocol/http-private.h"

#include <string.h>

/* ---- character classes ---- */

bool
dx_http_is_tchar (unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return c != 0 && strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

static char
lower (char c)
{
  return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

bool
dx_http_ieq (const char *a, const char *b)
{
  while (*a && *b && lower (*a) == lower (*b)) {
    a++;
    b++;
  }
  return *a == '\0' && *b == '\0';
}

bool
dx_http_ieq_n (const char *a, size_t n, const char *b)
{
  size_t i = 0;
  for (; i < n && b[i]; i++)
    if (lower (a[i]) != lower (b[i]))
      return false;
  return i == n && b[i] == '\0';
}

/* ---- lookups ---- */

const char *
dx_http_message_header (const dx_http_message *m, const char *name)
{
  for (size_t i = 0; i < m->n_headers; i++)
    if (dx_http_ieq (m->headers[i].name, name))
      return m->headers[i].value;
  return NULL;
}

size_t
dx_http_message_header_count (const dx_http_message *m, const char *name)
{
  size_t n = 0;
  for (size_t i = 0; i < m->n_headers; i++)
    if (dx_http_ieq (m->headers[i].name, name))
      n++;
  return n;
}

bool
dx_http_list_has_token (const char *value, const char *token)
{
  if (!value)
    return false;
  const char *p = value;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    const char *start = p;
    while (*p && *p != ',')
      p++;
    const char *end = p;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
      end--;
    if (end > start && dx_http_ieq_n (start, (size_t) (end - start), token))
      return true;
  }
  return false;
}

/* ---- numbers ---- */

/* Strict decimal: digits only, fits uint64. */
bool
dx_http_parse_u64 (const char *s, uint64_t *out)
{
  uint64_t v = 0;
  if (!*s)
    return false;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return false;
    unsigned d = (unsigned) (*s - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}
