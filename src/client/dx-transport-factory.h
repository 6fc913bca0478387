/* Making the transport for a mode: the one place that knows every
 * DxTransport class (the interface itself knows none). */
#pragma once

#include "dx-transport.h"

G_BEGIN_DECLS

/* The class for `mode`, talking to the server at `server_url`
 * ("http://host:port") as `nick`, counting into `stats` (NULL: its own). */
DxTransport *dx_transport_new (DxMode mode, const char *server_url, const char *nick,
                               DxStats *stats);

G_END_DECLS
