/* DxWebSocketTransport: RFC 6455 on the HTTP port via libsoup's client,
 * one docs/protocol.md §5 JSON object per text frame. */
#pragma once

#include "dx-socket-transport.h"

G_BEGIN_DECLS

#define DX_TYPE_WEBSOCKET_TRANSPORT (dx_websocket_transport_get_type ())
G_DECLARE_FINAL_TYPE (DxWebSocketTransport, dx_websocket_transport, DX, WEBSOCKET_TRANSPORT,
                      DxSocketTransport)

/* Bytes of RFC 6455 framing around a payload of `len` bytes (client frames
 * carry a 4-byte mask key). */
guint dx_websocket_frame_overhead (guint64 len, gboolean masked);

G_END_DECLS
