#include "dx-longpoll-transport.h"
#include "dx-poll-transport.h"
#include "dx-sse-transport.h"
#include "dx-tcp-transport.h"
#include "dx-transport-factory.h"
#include "dx-udp-transport.h"
#include "dx-websocket-transport.h"

DxTransport *
dx_transport_new (DxMode mode, const char *server_url, const char *nick, DxStats *stats)
{
  GType type;

  switch (mode) {
  case DX_MODE_POLL: type = DX_TYPE_POLL_TRANSPORT; break;
  case DX_MODE_LONGPOLL: type = DX_TYPE_LONGPOLL_TRANSPORT; break;
  case DX_MODE_SSE: type = DX_TYPE_SSE_TRANSPORT; break;
  case DX_MODE_WEBSOCKET: type = DX_TYPE_WEBSOCKET_TRANSPORT; break;
  case DX_MODE_TCP: type = DX_TYPE_TCP_TRANSPORT; break;
  case DX_MODE_UDP: type = DX_TYPE_UDP_TRANSPORT; break;
  default: g_return_val_if_reached (NULL);
  }
  return g_object_new (type, "server-url", server_url, "nick", nick, "stats", stats, NULL);
}
