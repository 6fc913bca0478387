/* DxSocketTransport: the socket conversation (docs/protocol.md §5) shared
 * by WebSocket and raw TCP — hello, join with since, send, ping — over
 * whatever carries one JSON object at a time. Subclasses open the pipe and
 * move the bytes. */
#pragma once

#include "dx-base-transport.h"

G_BEGIN_DECLS

#define DX_TYPE_SOCKET_TRANSPORT (dx_socket_transport_get_type ())
G_DECLARE_DERIVABLE_TYPE (DxSocketTransport, dx_socket_transport, DX, SOCKET_TRANSPORT,
                          DxBaseTransport)

struct _DxSocketTransportClass {
  DxBaseTransportClass parent_class;

  /* Send one JSON object (no newline) and count its bytes. */
  void (*write_object) (DxSocketTransport *self, const char *json, gsize len);
  /* Close the pipe (the conversation ends). */
  void (*close_pipe) (DxSocketTransport *self);
};

/* ---- for subclasses ---- */
/* The pipe is open: say hello. */
void dx_socket_transport_opened (DxSocketTransport *self);
/* One JSON object arrived. */
void dx_socket_transport_received (DxSocketTransport *self, const char *json, gsize len);

G_END_DECLS
