/* DxWindow: the chat window — header bar with the transport dropdown and
 * the connection state, room sidebar, message list, entry, statistics
 * panel with chart, and the compare view. */
#pragma once

#include <gtk/gtk.h>

#include "dx-chat.h"
#include "dx-run-log.h"
#include "dx-settings.h"

G_BEGIN_DECLS

#define DX_TYPE_WINDOW (dx_window_get_type ())
G_DECLARE_FINAL_TYPE (DxWindow, dx_window, DX, WINDOW, GtkApplicationWindow)

DxWindow *dx_window_new (GtkApplication *app, DxSettings *settings, const char *server_url,
                         const char *nick, const char *room, DxMode mode);
DxChat *dx_window_get_chat (DxWindow *self);
/* What the window's chat did this run (modes, switches, deliveries). */
DxRunLog *dx_window_get_run_log (DxWindow *self);
void dx_window_set_compare (DxWindow *self, gboolean compare);

G_END_DECLS
