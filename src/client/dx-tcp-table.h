/* The kernel's table of TCP sockets, read for one figure: how many of
 * them are in TIME_WAIT towards given remote endpoints (the server's
 * ports). Linux reads /proc/net/tcp and tcp6 (dx-tcp-table.c), Windows
 * asks GetTcpTable/GetTcp6Table (dx-tcp-table-win.c). Both block on
 * the kernel: call from a worker thread. */
#pragma once

#include "dx-tcp-endpoint.h"

G_BEGIN_DECLS

typedef enum {
  DX_TCP_END_REMOTE, /* our connections to that endpoint */
  DX_TCP_END_LOCAL,  /* the connections a listener there accepted (same host) */
} DxTcpEnd;

/* Sockets in TIME_WAIT whose `end` is one of endpoints[0..n). */
gboolean dx_tcp_table_count_time_wait (DxTcpEnd end, const DxTcpEndpoint *endpoints, guint n,
                                       guint *count, GError **error);

G_END_DECLS
