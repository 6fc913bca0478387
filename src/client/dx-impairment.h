/* DxImpairment: the simulated bad network, off by default. When enabled
 * the chat's transports go through local relays (DxRelay, one for the
 * server's HTTP port, one for its raw TCP port) that add delay, jitter,
 * a bandwidth cap, proxy buffering or an idle cut, all changeable live.
 * The UDP transport reads `udp-loss-percent` (dx_impairment_drop_datagram)
 * to drop incoming datagrams, shown as simulated loss. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DX_TYPE_IMPAIRMENT (dx_impairment_get_type ())
G_DECLARE_FINAL_TYPE (DxImpairment, dx_impairment, DX, IMPAIRMENT, GObject)

DxImpairment *dx_impairment_new (const char *server_url);

/* Turning it on binds the relays (so the route is known when ::notify
 * fires); FALSE with `error` if a relay could not listen. */
gboolean dx_impairment_set_enabled (DxImpairment *self, gboolean enabled, GError **error);
gboolean dx_impairment_get_enabled (DxImpairment *self);
/* The route while enabled (NULL otherwise): the base URL standing in for
 * the server's, and "127.0.0.1:PORT" standing in for its raw TCP port. */
const char *dx_impairment_get_url (DxImpairment *self);
const char *dx_impairment_get_tcp_address (DxImpairment *self);
/* The server the relays stand in for (UDP goes to its host directly). */
const char *dx_impairment_get_server_url (DxImpairment *self);
/* For a UDP transport: TRUE if this incoming datagram is to be dropped
 * (enabled, with probability udp-loss-percent / 100). */
gboolean dx_impairment_drop_datagram (DxImpairment *self);
/* Connections the relays carry now, and idle cuts so far. */
guint dx_impairment_get_n_connections (DxImpairment *self);
guint64 dx_impairment_get_idle_cuts (DxImpairment *self);

G_END_DECLS
