/* DxTcpTransport: NDJSON lines on the raw TCP port (found with
 * GET /api/v1/info), framed by the protocol module's splitter. */
#pragma once

#include "dx-socket-transport.h"

G_BEGIN_DECLS

#define DX_TYPE_TCP_TRANSPORT (dx_tcp_transport_get_type ())
G_DECLARE_FINAL_TYPE (DxTcpTransport, dx_tcp_transport, DX, TCP_TRANSPORT, DxSocketTransport)

G_END_DECLS
