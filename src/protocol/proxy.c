#include "protocol/proxy.h"

#include <stdio.h>
#include <string.h>

static const uint8_t v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* a.b.c.d, each 0-255 without leading zeros (they read as octal elsewhere). */
static bool
parse_v4 (const char *s, size_t len, uint8_t out[4])
{
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= len || s[i] != '.')
        return false;
      i++;
    }
    size_t start = i;
    unsigned v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
      v = v * 10 + (unsigned) (s[i++] - '0');
    if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
      return false;
    out[part] = (uint8_t) v;
  }
  return i == len;
}

static int
hexval (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static bool
parse_v6 (const char *s, size_t len, uint8_t out[16])
{
  uint16_t words[8];
  int n = 0, gap = -1;
  size_t i = 0;
  if (len >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
  } else if (len > 0 && s[0] == ':') {
    return false;
  }
  while (i < len) {
    /* A trailing dotted IPv4 takes two words. */
    size_t end = i;
    while (end < len && s[end] != ':')
      end++;
    if (memchr (s + i, '.', end - i) != NULL) {
      uint8_t v4[4];
      if (end != len || n > 6 || !parse_v4 (s + i, end - i, v4))
        return false;
      words[n++] = (uint16_t) (v4[0] << 8 | v4[1]);
      words[n++] = (uint16_t) (v4[2] << 8 | v4[3]);
      i = len;
      break;
    }
    if (end == i || end - i > 4 || n >= 8)
      return false;
    unsigned v = 0;
    for (size_t k = i; k < end; k++) {
      int h = hexval (s[k]);
      if (h < 0)
        return false;
      v = v << 4 | (unsigned) h;
    }
    words[n++] = (uint16_t) v;
    i = end;
    if (i < len) {
      i++; /* ':' */
      if (i < len && s[i] == ':') {
        if (gap >= 0)
          return false;
        gap = n;
        i++;
      } else if (i == len) {
        return false; /* a trailing single ':' */
      }
    }
  }
  if ((gap < 0 && n != 8) || (gap >= 0 && n > 7))
    return false;
  memset (out, 0, 16);
  int tail = gap < 0 ? 0 : n - gap;
  int head = n - tail;
  for (int k = 0; k < head; k++) {
    out[2 * k] = (uint8_t) (words[k] >> 8);
    out[2 * k + 1] = (uint8_t) words[k];
  }
  for (int k = 0; k < tail; k++) {
    int w = 8 - tail + k;
    out[2 * w] = (uint8_t) (words[head + k] >> 8);
    out[2 * w + 1] = (uint8_t) words[head + k];
  }
  return true;
}

bool
dx_ip_parse (const char *text, size_t len, dx_ip *out)
{
  if (len == 0 || len > 45)
    return false;
  if (memchr (text, ':', len) == NULL) {
    memcpy (out->b, v4_prefix, 12);
    return parse_v4 (text, len, out->b + 12);
  }
  return parse_v6 (text, len, out->b);
}

void
dx_ip_format (const dx_ip *ip, char *buf, size_t len)
{
  if (memcmp (ip->b, v4_prefix, 12) == 0) {
    snprintf (buf, len, "%u.%u.%u.%u", ip->b[12], ip->b[13], ip->b[14], ip->b[15]);
    return;
  }
  /* Plain full form (no :: compression): only a map key and a log. */
  snprintf (buf, len, "%x:%x:%x:%x:%x:%x:%x:%x", ip->b[0] << 8 | ip->b[1], ip->b[2] << 8 | ip->b[3],
            ip->b[4] << 8 | ip->b[5], ip->b[6] << 8 | ip->b[7], ip->b[8] << 8 | ip->b[9],
            ip->b[10] << 8 | ip->b[11], ip->b[12] << 8 | ip->b[13], ip->b[14] << 8 | ip->b[15]);
}

bool
dx_cidr_parse (const char *text, dx_cidr *out)
{
  const char *slash = strchr (text, '/');
  size_t alen = slash ? (size_t) (slash - text) : strlen (text);
  if (!dx_ip_parse (text, alen, &out->net))
    return false;
  bool v4 = memchr (text, ':', alen) == NULL;
  unsigned max = v4 ? 32 : 128, bits = max;
  if (slash) {
    const char *p = slash + 1;
    if (*p == '\0' || strlen (p) > 3)
      return false;
    bits = 0;
    for (; *p; p++) {
      if (*p < '0' || *p > '9')
        return false;
      bits = bits * 10 + (unsigned) (*p - '0');
    }
    if (bits > max)
      return false;
  }
  out->bits = v4 ? bits + 96 : bits;
  /* Clear the host bits so matching compares the network only. */
  for (unsigned k = out->bits; k < 128; k++)
    out->net.b[k / 8] &= (uint8_t) ~(0x80u >> (k % 8));
  return true;
}

bool
dx_cidr_match (const dx_cidr *c, const dx_ip *ip)
{
  for (unsigned k = 0; k < c->bits; k++) {
    uint8_t m = (uint8_t) (0x80u >> (k % 8));
    if ((c->net.b[k / 8] & m) != (ip->b[k / 8] & m))
      return false;
  }
  return true;
}

/* The next space-separated field of line[*i..n): its start and length. */
static bool
field (const char *line, size_t n, size_t *i, const char **f, size_t *flen)
{
  if (*i >= n || line[*i] == ' ')
    return false;
  *f = line + *i;
  while (*i < n && line[*i] != ' ')
    (*i)++;
  *flen = (size_t) (line + *i - *f);
  if (*i < n)
    (*i)++; /* the single space */
  return true;
}

static bool
port_ok (const char *p, size_t n)
{
  if (n == 0 || n > 5 || (p[0] == '0' && n > 1))
    return false;
  unsigned v = 0;
  for (size_t k = 0; k < n; k++) {
    if (p[k] < '0' || p[k] > '9')
      return false;
    v = v * 10 + (unsigned) (p[k] - '0');
  }
  return v <= 65535;
}

dx_proxy_status
dx_proxy_v1_parse (const char *data, size_t len, size_t *used, dx_ip *src, bool *unknown)
{
  static const char sig[] = "PROXY ";
  size_t cmp = len < 6 ? len : 6;
  if (memcmp (data, sig, cmp) != 0)
    return DX_PROXY_INVALID;
  const char *cr = NULL;
  for (size_t k = 0; k + 1 < len && k + 2 <= DX_PROXY_V1_MAX; k++)
    if (data[k] == '\r' && data[k + 1] == '\n') {
      cr = data + k;
      break;
    }
  if (cr == NULL)
    return len >= DX_PROXY_V1_MAX ? DX_PROXY_INVALID : DX_PROXY_NEED_MORE;
  size_t n = (size_t) (cr - data), i = 6;
  const char *proto, *f[4];
  size_t plen, fl[4];
  if (!field (data, n, &i, &proto, &plen))
    return DX_PROXY_INVALID;
  *used = n + 2;
  if (plen == 7 && memcmp (proto, "UNKNOWN", 7) == 0) {
    *unknown = true; /* the rest of the line is ignored (the spec allows it) */
    return DX_PROXY_OK;
  }
  bool v4 = plen == 4 && memcmp (proto, "TCP4", 4) == 0;
  bool v6 = plen == 4 && memcmp (proto, "TCP6", 4) == 0;
  if (!v4 && !v6)
    return DX_PROXY_INVALID;
  for (int k = 0; k < 4; k++)
    if (!field (data, n, &i, &f[k], &fl[k]))
      return DX_PROXY_INVALID;
  dx_ip dst;
  if (i != n || !dx_ip_parse (f[0], fl[0], src) || !dx_ip_parse (f[1], fl[1], &dst)
      || (memchr (f[0], ':', fl[0]) == NULL) != v4 || (memchr (f[1], ':', fl[1]) == NULL) != v4
      || !port_ok (f[2], fl[2]) || !port_ok (f[3], fl[3]))
    return DX_PROXY_INVALID;
  *unknown = false;
  return DX_PROXY_OK;
}

bool
dx_xff_last_hop (const char *value, dx_ip *out)
{
  const char *comma = strrchr (value, ',');
  const char *s = comma ? comma + 1 : value;
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen (s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  return dx_ip_parse (s, n, out);
}
