/* DxTcpEndpoint: an address and port as the kernel's TCP tables hold
 * them, and the comparison that treats a v4-mapped IPv6 peer as IPv4. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  guint8 addr[16]; /* network order; IPv4 in the first 4 bytes */
  gsize addr_len;  /* 4 or 16 */
  guint16 port;
} DxTcpEndpoint;

/* From a GInetSocketAddress; an IPv4-mapped IPv6 address becomes IPv4. */
void dx_tcp_endpoint_from_address (DxTcpEndpoint *ep, GInetSocketAddress *address);
/* Does a row's remote end (address bytes as the kernel gave them) match? */
gboolean dx_tcp_endpoint_matches (const DxTcpEndpoint *ep, const guint8 *addr, gsize addr_len,
                                  guint16 port);

G_END_DECLS
