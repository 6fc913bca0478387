#include <string.h>

#include "dx-tcp-endpoint.h"

static const guint8 v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* A v4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 peer a dual-stack
 * socket talks to: compare it as IPv4. */
static void
normalize (const guint8 **addr, gsize *len)
{
  if (*len == 16 && memcmp (*addr, v4_mapped_prefix, 12) == 0) {
    *addr += 12;
    *len = 4;
  }
}

void
dx_tcp_endpoint_from_address (DxTcpEndpoint *ep, GInetSocketAddress *address)
{
  GInetAddress *inet = g_inet_socket_address_get_address (address);
  const guint8 *bytes = g_inet_address_to_bytes (inet);
  gsize len = g_inet_address_get_native_size (inet);

  normalize (&bytes, &len);
  memset (ep, 0, sizeof *ep);
  memcpy (ep->addr, bytes, MIN (len, sizeof ep->addr));
  ep->addr_len = len;
  ep->port = g_inet_socket_address_get_port (address);
}

gboolean
dx_tcp_endpoint_matches (const DxTcpEndpoint *ep, const guint8 *addr, gsize addr_len, guint16 port)
{
  normalize (&addr, &addr_len);
  return ep->port == port && ep->addr_len == addr_len && memcmp (ep->addr, addr, addr_len) == 0;
}
