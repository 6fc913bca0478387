/* DxPasswordDialog: asks for the server's password (docs/protocol.md §4,
 * §5) when the chat's transport was refused for the lack of one or a wrong
 * one, and hands it to the chat, which tries again at once. The password
 * is kept for this session only (no keyring is a dependency; GSettings is
 * no place for a secret). */
#pragma once

#include <gtk/gtk.h>

#include "dx-chat.h"

G_BEGIN_DECLS

#define DX_TYPE_PASSWORD_DIALOG (dx_password_dialog_get_type ())
G_DECLARE_FINAL_TYPE (DxPasswordDialog, dx_password_dialog, DX, PASSWORD_DIALOG, GtkWindow)

/* A modal dialog over parent for chat; `refused`: the last password sent
 * was wrong (the dialog says so). */
GtkWidget *dx_password_dialog_new (GtkWindow *parent, DxChat *chat, gboolean refused);
/* Say the password was wrong (the dialog stays open, entry emptied). */
void dx_password_dialog_set_refused (DxPasswordDialog *self, gboolean refused);

G_END_DECLS
