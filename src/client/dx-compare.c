#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-compare-pane.h"
#include "dx-compare.h"

struct _DxCompare {
  GtkWidget parent_instance;
  GtkWidget *box;
  GPtrArray *panes; /* DxComparePane, borrowed from box */
};

G_DEFINE_FINAL_TYPE (DxCompare, dx_compare, GTK_TYPE_WIDGET)

void
dx_compare_stop (DxCompare *self)
{
  GtkWidget *child;

  for (guint i = 0; i < self->panes->len; i++)
    dx_compare_pane_stop (self->panes->pdata[i]);
  g_ptr_array_set_size (self->panes, 0);
  while ((child = gtk_widget_get_first_child (self->box)) != NULL)
    gtk_box_remove (GTK_BOX (self->box), child);
}

void
dx_compare_start (DxCompare *self, const char *server_url, const char *nick, const char *room,
                  const DxMode *modes, guint n_modes)
{
  dx_compare_stop (self);
  for (guint i = 0; i < n_modes; i++) {
    GtkWidget *pane = dx_compare_pane_new (server_url, nick, room, modes[i]);
    gtk_widget_set_hexpand (pane, TRUE);
    gtk_box_append (GTK_BOX (self->box), pane);
    g_ptr_array_add (self->panes, pane);
  }
}

gboolean
dx_compare_is_running (DxCompare *self)
{
  return self->panes->len > 0;
}

guint
dx_compare_get_n_panes (DxCompare *self)
{
  return self->panes->len;
}

DxChat *
dx_compare_get_pane_chat (DxCompare *self, guint index)
{
  g_return_val_if_fail (index < self->panes->len, NULL);
  return dx_compare_pane_get_chat (self->panes->pdata[index]);
}

static void
dx_compare_dispose (GObject *object)
{
  DxCompare *self = DX_COMPARE (object);

  if (self->box != NULL) {
    dx_compare_stop (self);
    g_clear_pointer (&self->box, gtk_widget_unparent);
  }
  G_OBJECT_CLASS (dx_compare_parent_class)->dispose (object);
}

static void
dx_compare_finalize (GObject *object)
{
  g_ptr_array_unref (DX_COMPARE (object)->panes);
  G_OBJECT_CLASS (dx_compare_parent_class)->finalize (object);
}

static void
dx_compare_class_init (DxCompareClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = dx_compare_dispose;
  G_OBJECT_CLASS (klass)->finalize = dx_compare_finalize;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "compare");
}

static void
dx_compare_init (DxCompare *self)
{
  self->panes = g_ptr_array_new ();
  self->box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_box_set_homogeneous (GTK_BOX (self->box), TRUE);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Transport comparison"), -1);
}

GtkWidget *
dx_compare_new (void)
{
  return g_object_new (DX_TYPE_COMPARE, NULL);
}
