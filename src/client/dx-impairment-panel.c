#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-impairment-panel.h"
#include "dx-resources.h"

struct _DxImpairmentPanel {
  GtkWidget parent_instance;
  GtkWidget *box;
  GtkWidget *enabled_switch;
  GtkWidget *delay_up_spin;
  GtkWidget *delay_down_spin;
  GtkWidget *jitter_up_spin;
  GtkWidget *jitter_down_spin;
  GtkWidget *bandwidth_spin;
  GtkWidget *buffering_switch;
  GtkWidget *buffer_bytes_spin;
  GtkWidget *idle_cut_spin;
  GtkWidget *udp_loss_spin;
  GtkWidget *status_label;
  DxImpairment *impairment;
  GPtrArray *bindings;
  guint status_timer;
};

G_DEFINE_FINAL_TYPE (DxImpairmentPanel, dx_impairment_panel, GTK_TYPE_WIDGET)

static gboolean
update_status (gpointer data)
{
  DxImpairmentPanel *self = data;
  g_autofree char *text = NULL;

  if (self->impairment == NULL || !dx_impairment_get_enabled (self->impairment))
    text = g_strdup (_ ("Off: the transports go straight to the server."));
  else
    text =
        g_strdup_printf (_ ("On: through %s. Connections relayed now: %u; cut for "
                            "idleness so far: %u."),
                         dx_impairment_get_url (self->impairment),
                         dx_impairment_get_n_connections (self->impairment),
                         (guint) MIN (dx_impairment_get_idle_cuts (self->impairment), G_MAXUINT));
  gtk_label_set_text (GTK_LABEL (self->status_label), text);
  return G_SOURCE_CONTINUE;
}

static void
on_enabled (DxImpairment *impairment, GParamSpec *pspec, DxImpairmentPanel *self)
{
  update_status (self);
}

static void
unbind (DxImpairmentPanel *self)
{
  for (guint i = 0; i < self->bindings->len; i++)
    g_binding_unbind (self->bindings->pdata[i]);
  g_ptr_array_set_size (self->bindings, 0);
  if (self->impairment != NULL)
    g_signal_handlers_disconnect_by_data (self->impairment, self);
  g_clear_object (&self->impairment);
}

void
dx_impairment_panel_bind (DxImpairmentPanel *self, DxImpairment *impairment)
{
  const struct {
    const char *property;
    GtkWidget *widget;
    const char *widget_property;
  } controls[] = {
    { "enabled", self->enabled_switch, "active" },
    { "delay-up-ms", self->delay_up_spin, "value" },
    { "delay-down-ms", self->delay_down_spin, "value" },
    { "jitter-up-ms", self->jitter_up_spin, "value" },
    { "jitter-down-ms", self->jitter_down_spin, "value" },
    { "bandwidth-kbps", self->bandwidth_spin, "value" },
    { "buffering", self->buffering_switch, "active" },
    { "buffer-bytes", self->buffer_bytes_spin, "value" },
    { "idle-cut-s", self->idle_cut_spin, "value" },
    { "udp-loss-percent", self->udp_loss_spin, "value" },
  };

  unbind (self);
  self->impairment = g_object_ref (impairment);
  /* The spin buttons' doubles and the settings' integers convert both
   * ways through GValue's transforms. */
  for (guint i = 0; i < G_N_ELEMENTS (controls); i++)
    g_ptr_array_add (self->bindings,
                     g_object_bind_property (impairment, controls[i].property, controls[i].widget,
                                             controls[i].widget_property,
                                             G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE));
  g_signal_connect (impairment, "notify::enabled", G_CALLBACK (on_enabled), self);
  update_status (self);
}

static void
dx_impairment_panel_map (GtkWidget *widget)
{
  DxImpairmentPanel *self = DX_IMPAIRMENT_PANEL (widget);

  GTK_WIDGET_CLASS (dx_impairment_panel_parent_class)->map (widget);
  update_status (self);
  if (self->status_timer == 0)
    self->status_timer = g_timeout_add (500, update_status, self);
}

static void
dx_impairment_panel_unmap (GtkWidget *widget)
{
  g_clear_handle_id (&DX_IMPAIRMENT_PANEL (widget)->status_timer, g_source_remove);
  GTK_WIDGET_CLASS (dx_impairment_panel_parent_class)->unmap (widget);
}

static void
dx_impairment_panel_dispose (GObject *object)
{
  DxImpairmentPanel *self = DX_IMPAIRMENT_PANEL (object);

  g_clear_handle_id (&self->status_timer, g_source_remove);
  if (self->bindings != NULL) {
    unbind (self);
    g_clear_pointer (&self->bindings, g_ptr_array_unref);
  }
  gtk_widget_dispose_template (GTK_WIDGET (self), DX_TYPE_IMPAIRMENT_PANEL);
  G_OBJECT_CLASS (dx_impairment_panel_parent_class)->dispose (object);
}

static void
dx_impairment_panel_class_init (DxImpairmentPanelClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = dx_impairment_panel_dispose;
  widget_class->map = dx_impairment_panel_map;
  widget_class->unmap = dx_impairment_panel_unmap;
  dx_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/duplex/Duplex/dx-impairment-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, box);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, enabled_switch);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, delay_up_spin);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, delay_down_spin);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, jitter_up_spin);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, jitter_down_spin);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, bandwidth_spin);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, buffering_switch);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, buffer_bytes_spin);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, idle_cut_spin);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, udp_loss_spin);
  gtk_widget_class_bind_template_child (widget_class, DxImpairmentPanel, status_label);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
dx_impairment_panel_init (DxImpairmentPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->bindings = g_ptr_array_new ();
}
