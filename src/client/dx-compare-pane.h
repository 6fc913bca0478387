/* DxComparePane: one column of the compare view — its own DxChat on the
 * shared room with its own transport, message list, figures and chart. */
#pragma once

#include <gtk/gtk.h>

#include "dx-chat.h"

G_BEGIN_DECLS

#define DX_TYPE_COMPARE_PANE (dx_compare_pane_get_type ())
G_DECLARE_FINAL_TYPE (DxComparePane, dx_compare_pane, DX, COMPARE_PANE, GtkWidget)

GtkWidget *dx_compare_pane_new (const char *server_url, const char *nick, const char *room,
                                DxMode mode);
DxChat *dx_compare_pane_get_chat (DxComparePane *self);
/* Stop the pane's transport (the compare view is hidden). */
void dx_compare_pane_stop (DxComparePane *self);
void dx_compare_pane_start (DxComparePane *self, const char *room);

G_END_DECLS
