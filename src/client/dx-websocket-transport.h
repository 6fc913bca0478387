/* DxWebSocketTransport: RFC 6455 on the HTTP port, spoken by the
 * protocol module (protocol/websocket.h: handshake, masked client frames,
 * the decoder) over a plain GSocketConnection, one docs/protocol.md §5
 * JSON object per text frame. Owning the socket lets every byte be counted
 * as it crosses it — the upgrade request, the 101 head, each frame header
 * and payload, pings, pongs and the close — and shown in the inspector. */
#pragma once

#include "dx-socket-transport.h"

G_BEGIN_DECLS

#define DX_TYPE_WEBSOCKET_TRANSPORT (dx_websocket_transport_get_type ())
G_DECLARE_FINAL_TYPE (DxWebSocketTransport, dx_websocket_transport, DX, WEBSOCKET_TRANSPORT,
                      DxSocketTransport)

G_END_DECLS
