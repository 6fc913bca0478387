#include "server/transport.h"

static const char *const transport_names[DX_TR_COUNT] = {
  "http", "poll", "longpoll", "sse", "websocket", "tcp", "udp",
};

const char *
dx_transport_name (dx_transport t)
{
  return (unsigned) t < DX_TR_COUNT ? transport_names[t] : "unknown";
}
