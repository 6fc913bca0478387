#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-password-dialog.h"

struct _DxPasswordDialog {
  GtkWindow parent_instance;
  DxChat *chat;
  GtkWidget *message;
  GtkWidget *entry;
  GtkWidget *connect_button;
};

G_DEFINE_FINAL_TYPE (DxPasswordDialog, dx_password_dialog, GTK_TYPE_WINDOW)

void
dx_password_dialog_set_refused (DxPasswordDialog *self, gboolean refused)
{
  gtk_label_set_text (GTK_LABEL (self->message),
                      refused ? _ ("Wrong password. The server refused it; try again.")
                              : _ ("This server needs a password."));
  gtk_editable_set_text (GTK_EDITABLE (self->entry), "");
  gtk_widget_grab_focus (self->entry);
}

static void
on_connect (DxPasswordDialog *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->entry));

  /* docs/protocol.md §2: an empty password is a value, so it is sent. */
  dx_chat_set_password (self->chat, text);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
on_cancel (DxPasswordDialog *self)
{
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
dx_password_dialog_dispose (GObject *object)
{
  g_clear_object (&DX_PASSWORD_DIALOG (object)->chat);
  G_OBJECT_CLASS (dx_password_dialog_parent_class)->dispose (object);
}

static void
dx_password_dialog_class_init (DxPasswordDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = dx_password_dialog_dispose;
  gtk_widget_class_add_binding_action (GTK_WIDGET_CLASS (klass), GDK_KEY_Escape, 0, "window.close",
                                       NULL);
}

static void
dx_password_dialog_init (DxPasswordDialog *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_ ("_Cancel"));

  gtk_window_set_title (GTK_WINDOW (self), _ ("Server Password"));
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  gtk_window_set_resizable (GTK_WINDOW (self), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (self), 360, -1);
  gtk_widget_set_margin_start (box, 18);
  gtk_widget_set_margin_end (box, 18);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);

  self->message = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (self->message), TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->message), 0);
  self->entry = gtk_password_entry_new ();
  gtk_password_entry_set_show_peek_icon (GTK_PASSWORD_ENTRY (self->entry), TRUE);
  g_object_set (self->entry, "activates-default", TRUE, NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Password"), -1);
  self->connect_button = gtk_button_new_with_mnemonic (_ ("C_onnect"));
  gtk_widget_add_css_class (self->connect_button, "suggested-action");
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  g_signal_connect_swapped (self->connect_button, "clicked", G_CALLBACK (on_connect), self);
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (on_cancel), self);

  gtk_box_append (GTK_BOX (buttons), cancel);
  gtk_box_append (GTK_BOX (buttons), self->connect_button);
  gtk_box_append (GTK_BOX (box), self->message);
  gtk_box_append (GTK_BOX (box), self->entry);
  gtk_box_append (GTK_BOX (box), buttons);
  gtk_window_set_child (GTK_WINDOW (self), box);
  gtk_window_set_default_widget (GTK_WINDOW (self), self->connect_button);
}

GtkWidget *
dx_password_dialog_new (GtkWindow *parent, DxChat *chat, gboolean refused)
{
  DxPasswordDialog *self = g_object_new (DX_TYPE_PASSWORD_DIALOG, "transient-for", parent,
                                         "destroy-with-parent", TRUE, NULL);

  self->chat = g_object_ref (chat);
  dx_password_dialog_set_refused (self, refused);
  return GTK_WIDGET (self);
}
