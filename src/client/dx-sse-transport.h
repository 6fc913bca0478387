/* DxSseTransport: one text/event-stream GET read as it arrives and parsed
 * by the protocol module's SSE parser; sends are POSTs. */
#pragma once

#include "dx-http-transport.h"

G_BEGIN_DECLS

#define DX_TYPE_SSE_TRANSPORT (dx_sse_transport_get_type ())
G_DECLARE_FINAL_TYPE (DxSseTransport, dx_sse_transport, DX, SSE_TRANSPORT, DxHttpTransport)

G_END_DECLS
