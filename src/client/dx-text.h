/* Texts the UI classes share: mode titles for dropdowns, a transport's
 * connection state, a latency, and a nick made from a login name. */
#pragma once

#include <gtk/gtk.h>

#include "dx-transport.h"

G_BEGIN_DECLS

/* A GListModel of translated mode titles, in DxMode order, for dropdowns. */
GListModel *dx_mode_list_new (void);
/* "Connected" / "Connecting…" / "Reconnecting in N s" for a transport
 * (NULL: none yet, which reads as connecting). */
char *dx_state_text (DxTransport *transport);
/* "4.2 ms", "87 ms", "1.25 s"; "–" for NAN (no sample). */
char *dx_format_latency (double ms);
/* A usable nick from `name` (e.g. the login name): invalid characters
 * dropped, cut to 32, "guest" if nothing valid or reserved remains. */
char *dx_nick_from_name (const char *name);

G_END_DECLS
