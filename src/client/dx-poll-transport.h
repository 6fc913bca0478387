/* DxPollTransport: HTTP short polling, GET ...messages?since=N every
 * `interval` ms. The parent of DxLongPollTransport, which only changes the
 * query and the pause between requests. */
#pragma once

#include "dx-http-transport.h"

G_BEGIN_DECLS

#define DX_TYPE_POLL_TRANSPORT (dx_poll_transport_get_type ())
G_DECLARE_DERIVABLE_TYPE (DxPollTransport, dx_poll_transport, DX, POLL_TRANSPORT, DxHttpTransport)

struct _DxPollTransportClass {
  DxHttpTransportClass parent_class;

  /* Extra query parameters ("&wait=25"), or "". */
  char *(*extra_query) (DxPollTransport *self);
  /* Pause before the next request after a successful one, in ms. */
  guint (*next_delay) (DxPollTransport *self, gboolean got_messages);
};

guint dx_poll_transport_get_interval (DxPollTransport *self);
void dx_poll_transport_set_interval (DxPollTransport *self, guint interval_ms);

G_END_DECLS
