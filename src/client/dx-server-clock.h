/* DxServerClock: how far the server's clock is from ours, so a message's
 * latency can be taken as our receive time + offset - its server `ts`.
 * Measured with GET /api/v1/time (docs/protocol.md §4.3) NTP-style: a few quick
 * samples at start, then one a minute, keeping the fastest round trip. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define DX_TYPE_SERVER_CLOCK (dx_server_clock_get_type ())
G_DECLARE_FINAL_TYPE (DxServerClock, dx_server_clock, DX, SERVER_CLOCK, GObject)

/* Requests go through `session` (application traffic, charged to no
 * transport) to `server_url` ("http://host:port"). */
DxServerClock *dx_server_clock_new (SoupSession *session, const char *server_url);
/* Sample now and keep sampling; the best offset so far is kept. */
void dx_server_clock_start (DxServerClock *self);
void dx_server_clock_stop (DxServerClock *self);
/* Server clock - local clock, in ms. */
double dx_server_clock_get_offset (DxServerClock *self);
/* Good enough to measure latency with (see dx-server-clock.c). */
gboolean dx_server_clock_is_trusted (DxServerClock *self);

G_END_DECLS
