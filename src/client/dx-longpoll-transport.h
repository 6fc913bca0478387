/* DxLongPollTransport: GET ...messages?since=N&wait=S, held by the server
 * until a message arrives or S seconds pass, then asked again at once. */
#pragma once

#include "dx-poll-transport.h"

G_BEGIN_DECLS

#define DX_TYPE_LONGPOLL_TRANSPORT (dx_longpoll_transport_get_type ())
G_DECLARE_FINAL_TYPE (DxLongPollTransport, dx_longpoll_transport, DX, LONGPOLL_TRANSPORT,
                      DxPollTransport)

guint dx_longpoll_transport_get_wait (DxLongPollTransport *self);
/* Seconds, 1..60 (docs/protocol.md §4.3); applies from the next request. */
void dx_longpoll_transport_set_wait (DxLongPollTransport *self, guint wait_s);

G_END_DECLS
