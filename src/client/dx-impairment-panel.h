/* DxImpairmentPanel: the controls of a DxImpairment (on/off, delay and
 * jitter per direction, bandwidth cap, buffering proxy, idle cut, the
 * UDP transport's simulated loss) and what its relays are doing. Opened
 * from the header bar, out of the way of someone who only chats. */
#pragma once

#include <gtk/gtk.h>

#include "dx-impairment.h"

G_BEGIN_DECLS

#define DX_TYPE_IMPAIRMENT_PANEL (dx_impairment_panel_get_type ())
G_DECLARE_FINAL_TYPE (DxImpairmentPanel, dx_impairment_panel, DX, IMPAIRMENT_PANEL, GtkWidget)

/* Control `impairment` (both ways: the panel shows its current values). */
void dx_impairment_panel_bind (DxImpairmentPanel *self, DxImpairment *impairment);

G_END_DECLS
