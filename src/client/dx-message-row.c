#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-message-row.h"

struct _DxMessageRow {
  GtkWidget parent_instance;
  GtkWidget *time;
  GtkWidget *nick;
  GtkWidget *text;
  GtkWidget *badge; /* how a UDP message came: late or repaired */
  DxMessage *message;
  gulong notify_id;
};

G_DEFINE_FINAL_TYPE (DxMessageRow, dx_message_row, GTK_TYPE_WIDGET)

const char *
dx_nick_color (const char *nick)
{
  static const char *const palette[] = {
    "#1c71d8", "#26a269", "#c64600", "#9141ac", "#a51d2d", "#0f7c7c", "#986a44", "#c061cb",
  };
  return palette[g_str_hash (nick) % G_N_ELEMENTS (palette)];
}

static void
update_badge (DxMessageRow *self, DxMessageArrival arrival)
{
  gtk_widget_remove_css_class (self->badge, "late");
  gtk_widget_remove_css_class (self->badge, "repaired");
  switch (arrival) {
  case DX_MESSAGE_LATE:
    gtk_label_set_text (GTK_LABEL (self->badge), _ ("out of order"));
    gtk_widget_set_tooltip_text (self->badge, _ ("Came over UDP after a higher id"));
    gtk_widget_add_css_class (self->badge, "late");
    break;
  case DX_MESSAGE_REPAIRED:
    gtk_label_set_text (GTK_LABEL (self->badge), _ ("repaired"));
    gtk_widget_set_tooltip_text (self->badge, _ ("Lost on UDP, fetched over HTTP"));
    gtk_widget_add_css_class (self->badge, "repaired");
    break;
  case DX_MESSAGE_IN_ORDER:
  default: break;
  }
  gtk_widget_set_visible (self->badge, arrival != DX_MESSAGE_IN_ORDER);
}

static void
update (DxMessageRow *self)
{
  DxMessage *m = self->message;
  g_autoptr (GDateTime) dt = NULL;
  g_autofree char *time = NULL;
  g_autofree char *nick = NULL;

  if (m == NULL)
    return;
  dt = g_date_time_new_from_unix_local (dx_message_get_ts (m) / 1000);
  time = dt != NULL ? g_date_time_format (dt, "%H:%M:%S") : g_strdup ("");
  gtk_label_set_text (GTK_LABEL (self->time), time);
  if (dx_message_get_notice (m)) {
    gtk_label_set_text (GTK_LABEL (self->nick), "—");
  } else {
    const char *from = dx_message_get_from (m);
    nick = g_markup_printf_escaped ("<span foreground=\"%s\" weight=\"bold\">%s</span>",
                                    dx_nick_color (from), from);
    gtk_label_set_markup (GTK_LABEL (self->nick), nick);
  }
  if (dx_message_get_pending (m)) {
    g_autofree char *t = g_strdup_printf (_ ("%s (sending…)"), dx_message_get_text (m));
    gtk_label_set_text (GTK_LABEL (self->text), t);
  } else {
    gtk_label_set_text (GTK_LABEL (self->text), dx_message_get_text (m));
  }
  if (dx_message_get_own (m))
    gtk_widget_add_css_class (GTK_WIDGET (self), "own");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "own");
  if (dx_message_get_pending (m))
    gtk_widget_add_css_class (GTK_WIDGET (self), "pending");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "pending");
  if (dx_message_get_notice (m))
    gtk_widget_add_css_class (GTK_WIDGET (self), "notice");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "notice");
  if (dx_message_get_gap (m, NULL, NULL))
    gtk_widget_add_css_class (GTK_WIDGET (self), "gap");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "gap");
  update_badge (self, dx_message_get_arrival (m));
}

static void
on_notify (DxMessage *m, GParamSpec *pspec, DxMessageRow *self)
{
  update (self);
}

void
dx_message_row_set_message (DxMessageRow *self, DxMessage *message)
{
  if (self->message != NULL) {
    g_clear_signal_handler (&self->notify_id, self->message);
    g_clear_object (&self->message);
  }
  if (message == NULL)
    return;
  self->message = g_object_ref (message);
  self->notify_id = g_signal_connect (message, "notify::pending", G_CALLBACK (on_notify), self);
  update (self);
}

static void
dx_message_row_dispose (GObject *object)
{
  DxMessageRow *self = DX_MESSAGE_ROW (object);

  dx_message_row_set_message (self, NULL);
  g_clear_pointer (&self->time, gtk_widget_unparent);
  g_clear_pointer (&self->nick, gtk_widget_unparent);
  g_clear_pointer (&self->text, gtk_widget_unparent);
  g_clear_pointer (&self->badge, gtk_widget_unparent);
  G_OBJECT_CLASS (dx_message_row_parent_class)->dispose (object);
}

static void
dx_message_row_class_init (DxMessageRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = dx_message_row_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "messagerow");
}

static void
dx_message_row_init (DxMessageRow *self)
{
  GtkBoxLayout *layout = GTK_BOX_LAYOUT (gtk_widget_get_layout_manager (GTK_WIDGET (self)));

  gtk_box_layout_set_spacing (layout, 10);
  self->time = gtk_label_new (NULL);
  gtk_widget_add_css_class (self->time, "dim-label");
  gtk_widget_add_css_class (self->time, "numeric");
  gtk_widget_set_valign (self->time, GTK_ALIGN_START);
  self->nick = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->nick), 1.0);
  gtk_label_set_width_chars (GTK_LABEL (self->nick), 10);
  gtk_label_set_ellipsize (GTK_LABEL (self->nick), PANGO_ELLIPSIZE_END);
  gtk_widget_set_valign (self->nick, GTK_ALIGN_START);
  self->text = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->text), 0.0);
  gtk_label_set_wrap (GTK_LABEL (self->text), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (self->text), PANGO_WRAP_WORD_CHAR);
  gtk_widget_set_hexpand (self->text, TRUE);
  gtk_widget_add_css_class (self->text, "message-text");
  gtk_widget_set_parent (self->time, GTK_WIDGET (self));
  gtk_widget_set_parent (self->nick, GTK_WIDGET (self));
  gtk_widget_set_parent (self->text, GTK_WIDGET (self));
  self->badge = gtk_label_new (NULL);
  gtk_widget_set_valign (self->badge, GTK_ALIGN_START);
  gtk_widget_add_css_class (self->badge, "badge");
  gtk_widget_set_visible (self->badge, FALSE);
  gtk_widget_set_parent (self->badge, GTK_WIDGET (self));
}

GtkWidget *
dx_message_row_new (void)
{
  return g_object_new (DX_TYPE_MESSAGE_ROW, NULL);
}

static void
factory_setup (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  gtk_list_item_set_child (item, dx_message_row_new ());
  gtk_list_item_set_activatable (item, FALSE);
}

static void
factory_bind (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  dx_message_row_set_message (DX_MESSAGE_ROW (gtk_list_item_get_child (item)),
                              gtk_list_item_get_item (item));
}

static void
factory_unbind (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  dx_message_row_set_message (DX_MESSAGE_ROW (gtk_list_item_get_child (item)), NULL);
}

GtkListItemFactory *
dx_message_row_factory_new (void)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (factory_setup), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (factory_bind), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (factory_unbind), NULL);
  return factory;
}
