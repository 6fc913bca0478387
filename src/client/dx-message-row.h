/* DxMessageRow: one line of the message list — time, coloured nick, text;
 * own messages marked, pending ones dimmed until acknowledged; on UDP a
 * gap notice stands out and late or repaired messages carry a badge. */
#pragma once

#include <gtk/gtk.h>

#include "dx-message.h"

G_BEGIN_DECLS

#define DX_TYPE_MESSAGE_ROW (dx_message_row_get_type ())
G_DECLARE_FINAL_TYPE (DxMessageRow, dx_message_row, DX, MESSAGE_ROW, GtkWidget)

GtkWidget *dx_message_row_new (void);
void dx_message_row_set_message (DxMessageRow *self, DxMessage *message);
/* "#rrggbb" for a nick: stable, readable on light and dark. */
const char *dx_nick_color (const char *nick);

G_END_DECLS

G_BEGIN_DECLS
/* A list item factory that shows DxMessage items as DxMessageRow. */
GtkListItemFactory *dx_message_row_factory_new (void);
G_END_DECLS
