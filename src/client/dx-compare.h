/* DxCompare: the compare view — several DxComparePane side by side on the
 * same room, each with its own transport and figures. */
#pragma once

#include <gtk/gtk.h>

#include "dx-chat.h"
#include "dx-transport.h"

G_BEGIN_DECLS

#define DX_TYPE_COMPARE (dx_compare_get_type ())
G_DECLARE_FINAL_TYPE (DxCompare, dx_compare, DX, COMPARE, GtkWidget)

GtkWidget *dx_compare_new (void);
/* Open panes on `room` (one per entry of `modes`), replacing any. */
void dx_compare_start (DxCompare *self, const char *server_url, const char *nick, const char *room,
                       const DxMode *modes, guint n_modes);
void dx_compare_stop (DxCompare *self);
gboolean dx_compare_is_running (DxCompare *self);
guint dx_compare_get_n_panes (DxCompare *self);
/* The chat of pane `index` (< n_panes). */
DxChat *dx_compare_get_pane_chat (DxCompare *self, guint index);

G_END_DECLS
