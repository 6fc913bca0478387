/* DxMessageView: a scrolled list of chat lines (DxMessage) that follows
 * the tail — new lines scroll into view while the reader is at the bottom
 * (also when the list learns a row's real height), and stay put while
 * they read further up; when older history is put in front, the line being
 * read stays where it is. Scrolling to the top emits reached-top. The main
 * window and every compare pane show their chat through one. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DX_TYPE_MESSAGE_VIEW (dx_message_view_get_type ())
G_DECLARE_FINAL_TYPE (DxMessageView, dx_message_view, DX, MESSAGE_VIEW, GtkWidget)

GtkWidget *dx_message_view_new (void);
/* The lines to show (a GListModel of DxMessage, e.g. a DxMessageStore). */
void dx_message_view_set_model (DxMessageView *self, GListModel *messages);
/* Keep the newest line in view from now on (after a send, a room change). */
void dx_message_view_set_following (DxMessageView *self, gboolean following);
gboolean dx_message_view_get_following (DxMessageView *self);

G_END_DECLS
