/* "host:port" parsing and "IP:PORT" formatting, shared by every backend. */
#include "platform/loop-private.h"

#include <stdio.h>
#include <string.h>

#ifndef _WIN32
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#endif

static int
parse_port (const char *s, unsigned *port)
{
  if (!*s || strlen (s) > 5)
    return DX_EINVAL;
  unsigned v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return DX_EINVAL;
    v = v * 10 + (unsigned) (*s - '0');
  }
  if (v > 65535)
    return DX_EINVAL;
  *port = v;
  return 0;
}

static int
resolve (const char *host, unsigned port, bool numeric_v6, struct sockaddr_storage *ss,
         socklen_t *len)
{
  struct addrinfo hints, *res = NULL;
  memset (&hints, 0, sizeof hints);
  hints.ai_family = numeric_v6 ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  int rc = getaddrinfo (host, NULL, &hints, &res);
  if (rc != 0 && !numeric_v6) {
    /* Not an IP literal: a host name. Prefer IPv4 (what ":port" listens
     * on) and fall back to whatever the resolver returns. */
    hints.ai_flags = 0;
    hints.ai_family = AF_INET;
    rc = getaddrinfo (host, NULL, &hints, &res);
    if (rc != 0) {
      hints.ai_family = AF_UNSPEC;
      rc = getaddrinfo (host, NULL, &hints, &res);
    }
    if (rc != 0)
      return DX_ENOENT;
  } else if (rc != 0) {
    return DX_EINVAL;
  }
  if (!res || res->ai_addrlen > sizeof *ss) {
    if (res)
      freeaddrinfo (res);
    return DX_EINVAL;
  }
  memset (ss, 0, sizeof *ss);
  memcpy (ss, res->ai_addr, res->ai_addrlen);
  *len = (socklen_t) res->ai_addrlen;
  freeaddrinfo (res);
  if (ss->ss_family == AF_INET)
    ((struct sockaddr_in *) ss)->sin_port = htons ((unsigned short) port);
  else if (ss->ss_family == AF_INET6)
    ((struct sockaddr_in6 *) ss)->sin6_port = htons ((unsigned short) port);
  else
    return DX_EINVAL;
  return 0;
}

int
dx__addr_parse (const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
  char host[256];
  const char *port_str;
  bool v6 = false;
  if (!addr || !ss || !len)
    return DX_EINVAL;
  if (addr[0] == '[') {
    const char *end = strchr (addr, ']');
    if (!end || end[1] != ':' || (size_t) (end - addr - 1) >= sizeof host || end == addr + 1)
      return DX_EINVAL;
    memcpy (host, addr + 1, (size_t) (end - addr - 1));
    host[end - addr - 1] = '\0';
    port_str = end + 2;
    v6 = true;
  } else {
    const char *colon = strrchr (addr, ':');
    if (!colon || memchr (addr, ':', (size_t) (colon - addr)))
      return DX_EINVAL; /* no port, or a bare IPv6 literal */
    if ((size_t) (colon - addr) >= sizeof host)
      return DX_EINVAL;
    memcpy (host, addr, (size_t) (colon - addr));
    host[colon - addr] = '\0';
    port_str = colon + 1;
    if (!host[0])
      strcpy (host, "0.0.0.0");
  }
  unsigned port;
  if (parse_port (port_str, &port) < 0)
    return DX_EINVAL;
  return resolve (host, port, v6, ss, len);
}

int
dx__addr_port (const struct sockaddr *sa)
{
  if (sa->sa_family == AF_INET)
    return ntohs (((const struct sockaddr_in *) (const void *) sa)->sin_port);
  if (sa->sa_family == AF_INET6)
    return ntohs (((const struct sockaddr_in6 *) (const void *) sa)->sin6_port);
  return DX_EINVAL;
}

int
dx__addr_format (const struct sockaddr *sa, char *buf, size_t len)
{
  char ip[INET6_ADDRSTRLEN];
  int n;
  if (!buf || len == 0)
    return DX_EINVAL;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *) (const void *) sa;
    if (!inet_ntop (AF_INET, &in->sin_addr, ip, sizeof ip))
      return DX_EINVAL;
    n = snprintf (buf, len, "%s:%d", ip, ntohs (in->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) (const void *) sa;
    if (!inet_ntop (AF_INET6, &in6->sin6_addr, ip, sizeof ip))
      return DX_EINVAL;
    n = snprintf (buf, len, "[%s]:%d", ip, ntohs (in6->sin6_port));
  } else {
    return DX_EINVAL;
  }
  if (n < 0 || (size_t) n >= len) {
    buf[0] = '\0';
    return DX_ENOMEM;
  }
  return 0;
}

/* ---- dx_addr -------------------------------------------------------------- */

_Static_assert(sizeof (((dx_addr *) 0)->sa.bytes) >= sizeof (struct sockaddr_in6),
               "dx_addr holds a sockaddr_in6");

int
dx__addr_set (dx_addr *out, const struct sockaddr *sa, socklen_t len)
{
  memset (out, 0, sizeof *out);
  if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || len <= 0
      || (size_t) len > sizeof out->sa.bytes)
    return DX_EINVAL;
  memcpy (out->sa.bytes, sa, (size_t) len);
  out->len = (uint32_t) len;
  return 0;
}

int
dx_addr_parse (const char *addr, dx_addr *out)
{
  if (!out)
    return DX_EINVAL;
  memset (out, 0, sizeof *out);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int rc = dx__addr_parse (addr, &ss, &len);
  return rc < 0 ? rc : dx__addr_set (out, (const struct sockaddr *) &ss, len);
}

int
dx_addr_format (const dx_addr *addr, char *buf, size_t len)
{
  if (!addr || addr->len == 0)
    return DX_EINVAL;
  return dx__addr_format (dx__addr_sa (addr), buf, len);
}

int
dx_addr_port (const dx_addr *addr)
{
  if (!addr || addr->len == 0)
    return DX_EINVAL;
  return dx__addr_port (dx__addr_sa (addr));
}

/* The parts dx_addr_equal compares, copied out of the sockaddr (which is
 * read through memcpy: the bytes need not be aligned for it). */
typedef struct {
  int family;
  unsigned port;
  unsigned char ip[16];
  uint32_t scope;
} addr_key;

static bool
addr_key_of (const dx_addr *a, addr_key *k)
{
  memset (k, 0, sizeof *k);
  if (!a || a->len == 0)
    return false;
  if (dx__addr_sa (a)->sa_family == AF_INET) {
    struct sockaddr_in in;
    memcpy (&in, a->sa.bytes, sizeof in);
    k->family = AF_INET;
    k->port = ntohs (in.sin_port);
    memcpy (k->ip, &in.sin_addr, 4);
    return true;
  }
  if (dx__addr_sa (a)->sa_family == AF_INET6) {
    struct sockaddr_in6 in6;
    memcpy (&in6, a->sa.bytes, sizeof in6);
    k->family = AF_INET6;
    k->port = ntohs (in6.sin6_port);
    memcpy (k->ip, &in6.sin6_addr, 16);
    k->scope = in6.sin6_scope_id;
    return true;
  }
  return false;
}

bool
dx_addr_equal (const dx_addr *a, const dx_addr *b)
{
  addr_key ka, kb;
  if (!addr_key_of (a, &ka) || !addr_key_of (b, &kb))
    return false;
  return ka.family == kb.family && ka.port == kb.port && ka.scope == kb.scope
         && memcmp (ka.ip, kb.ip, sizeof ka.ip) == 0;
}

uint64_t
dx_addr_hash (const dx_addr *addr)
{
  addr_key k;
  addr_key_of (addr, &k);
  unsigned char bytes[24];
  memcpy (bytes, k.ip, 16);
  bytes[16] = (unsigned char) k.family;
  bytes[17] = (unsigned char) (k.port >> 8);
  bytes[18] = (unsigned char) k.port;
  memcpy (bytes + 19, &k.scope, 4);
  bytes[23] = 0;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < sizeof bytes; i++) {
    h ^= bytes[i];
    h *= 1099511628211ull;
  }
  return h;
}
