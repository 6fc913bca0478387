/* Percent-decoding and application/x-www-form-urlencoded queries (http.h). */
#include "protocol/http-private.h"

#include <string.h>

#include "protocol/hex.h"

bool
dx_http_percent_decode (const char *in, size_t n, bool plus_is_space, char *out, size_t cap,
                        size_t *out_len)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= n)
        return false;
      int hi = dx_hex_value (in[i + 1]), lo = dx_hex_value (in[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      c = (char) (hi << 4 | lo);
      if (c == '\0')
        return false;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    } else if (c == '\0') {
      return false;
    }
    if (o + 1 >= cap)
      return false;
    out[o++] = c;
  }
  if (cap == 0)
    return false;
  out[o] = '\0';
  if (out_len)
    *out_len = o;
  return true;
}

dx_http_query_result
dx_http_query_get (const char *query, const char *key, char *out, size_t cap, size_t *out_len)
{
  const char *p = query;
  size_t klen = strlen (key);
  char kbuf[256];
  while (p && *p) {
    const char *amp = strchr (p, '&');
    const char *end = amp ? amp : p + strlen (p);
    const char *eq = memchr (p, '=', (size_t) (end - p));
    const char *kend = eq ? eq : end;
    size_t dk;
    /* A key that does not decode (or is too long to be one we look for)
       cannot be ours: skip it, as we skip every other unknown key. */
    if (kend > p && dx_http_percent_decode (p, (size_t) (kend - p), true, kbuf, sizeof kbuf, &dk)) {
      if (dk == klen && memcmp (kbuf, key, klen) == 0) {
        const char *v = eq ? eq + 1 : end;
        if (!dx_http_percent_decode (v, (size_t) (end - v), true, out, cap, out_len))
          return DX_HTTP_QUERY_INVALID;
        return DX_HTTP_QUERY_FOUND;
      }
    }
    p = amp ? amp + 1 : NULL;
  }
  return DX_HTTP_QUERY_NOT_FOUND;
}

dx_http_query_result
dx_http_query_get_u64 (const char *query, const char *key, uint64_t *out)
{
  char buf[32];
  dx_http_query_result r = dx_http_query_get (query, key, buf, sizeof buf, NULL);
  if (r != DX_HTTP_QUERY_FOUND)
    return r;
  uint64_t v;
  if (!dx_http_parse_u64 (buf, &v))
    return DX_HTTP_QUERY_INVALID;
  *out = v;
  return DX_HTTP_QUERY_FOUND;
}
