#include "server/redis-url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
hex_val (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Copies [s, s+len) into out (size cap) decoding %XX; false if too long or
 * a bad escape. */
static bool
copy_unescaped (const char *s, size_t len, char *out, size_t cap)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 1 < len ? hex_val (s[i + 1]) : -1;
      int lo = i + 2 < len ? hex_val (s[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
        return false;
      c = (char) (hi * 16 + lo);
      i += 2;
    }
    if (n + 1 >= cap)
      return false;
    out[n++] = c;
  }
  out[n] = '\0';
  return true;
}

static bool
fail (char *err, size_t errlen, const char *why)
{
  snprintf (err, errlen, "%s", why);
  return false;
}

/* All digits, value in [lo, hi]. */
static bool
parse_int (const char *s, size_t len, long lo, long hi, int *out)
{
  if (len == 0 || len > 9)
    return false;
  long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  if (v < lo || v > hi)
    return false;
  *out = (int) v;
  return true;
}

bool
dx_redis_url_parse (const char *s, dx_redis_url *out, char *err, size_t errlen)
{
  static const char scheme[] = "redis://";
  memset (out, 0, sizeof *out);
  out->port = DX_REDIS_DEFAULT_PORT;
  if (s == NULL || strncmp (s, scheme, sizeof scheme - 1) != 0)
    return fail (err, errlen,
                 "redis URL must start with redis:// (redis://[:PASSWORD@]HOST:PORT[/DB])");
  const char *p = s + sizeof scheme - 1;
  const char *end = p + strlen (p);
  const char *slash = memchr (p, '/', (size_t) (end - p));
  const char *auth_end = NULL;
  /* The userinfo ends at the LAST '@' before the path: a password may hold '@'. */
  for (const char *q = p; q < (slash ? slash : end); q++)
    if (*q == '@')
      auth_end = q;
  if (auth_end) {
    const char *colon = memchr (p, ':', (size_t) (auth_end - p));
    if (colon == NULL)
      return fail (err, errlen, "redis URL: the credentials must be [USER]:PASSWORD@");
    if (!copy_unescaped (p, (size_t) (colon - p), out->user, sizeof out->user)
        || !copy_unescaped (colon + 1, (size_t) (auth_end - colon - 1), out->password,
                            sizeof out->password))
      return fail (err, errlen, "redis URL: bad user or password (too long, or a bad %-escape)");
    out->has_password = true;
    p = auth_end + 1;
  }
  const char *host_end = slash ? slash : end;
  const char *port_sep = NULL;
  if (p < host_end && *p == '[') {
    const char *close = memchr (p, ']', (size_t) (host_end - p));
    if (close == NULL || close == p + 1)
      return fail (err, errlen, "redis URL: bad [IPv6] host");
    if ((size_t) (close - p - 1) >= sizeof out->host)
      return fail (err, errlen, "redis URL: host too long");
    memcpy (out->host, p + 1, (size_t) (close - p - 1));
    if (close + 1 < host_end) {
      if (close[1] != ':')
        return fail (err, errlen, "redis URL: bad [IPv6] host");
      port_sep = close + 1;
    }
  } else {
    port_sep = memchr (p, ':', (size_t) (host_end - p));
    const char *h_end = port_sep ? port_sep : host_end;
    if (h_end == p)
      return fail (err, errlen, "redis URL: no host");
    if ((size_t) (h_end - p) >= sizeof out->host)
      return fail (err, errlen, "redis URL: host too long");
    memcpy (out->host, p, (size_t) (h_end - p));
    for (const char *q = out->host; *q; q++)
      if (*q == ':' || *q == '@' || *q == '[' || *q == ']' || *q == ' ')
        return fail (err, errlen, "redis URL: bad host");
  }
  if (port_sep
      && !parse_int (port_sep + 1, (size_t) (host_end - port_sep - 1), 1, 65535, &out->port))
    return fail (err, errlen, "redis URL: the port must be 1 to 65535");
  if (slash && slash + 1 < end
      && !parse_int (slash + 1, (size_t) (end - slash - 1), 0, 1000000, &out->db))
    return fail (err, errlen, "redis URL: the database must be a number (/0, /1, ...)");
  bool v6 = strchr (out->host, ':') != NULL;
  snprintf (out->addr, sizeof out->addr, v6 ? "[%s]:%d" : "%s:%d", out->host, out->port);
  return true;
}
