#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-chart.h"
#include "dx-compare-pane.h"
#include "dx-message-view.h"
#include "dx-resources.h"
#include "dx-text.h"

struct _DxComparePane {
  GtkWidget parent_instance;
  GtkWidget *mode_dropdown;
  GtkWidget *state_label;
  DxMessageView *messages;
  GtkWidget *figures;
  DxChart *chart;
  DxChat *chat;
  guint refresh;
};

G_DEFINE_FINAL_TYPE (DxComparePane, dx_compare_pane, GTK_TYPE_WIDGET)

static void
refresh (DxComparePane *self)
{
  DxMode mode = dx_chat_get_mode (self->chat);
  DxStats *s = dx_chat_get_stats (self->chat, mode);
  g_autofree char *state = dx_state_text (dx_chat_get_transport (self->chat));
  g_autofree char *up = g_format_size (dx_stats_get_bytes_up (s));
  g_autofree char *down = g_format_size (dx_stats_get_bytes_down (s));
  g_autofree char *p50 = dx_format_latency (dx_stats_get_latency_percentile (s, 50));
  g_autofree char *p95 = dx_format_latency (dx_stats_get_latency_percentile (s, 95));
  g_autofree char *req = g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_requests (s));
  g_autofree char *conns = g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_connections (s));
  g_autofree char *empty = g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_empty_polls (s));
  g_autofree char *msgs = g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_messages (s));
  /* Translators: compact figures of one compare pane, three lines. */
  g_autofree char *text = g_strdup_printf (_ ("%s requests · %s connections · %s empty polls\n"
                                              "↑ %s · ↓ %s · %s messages\n"
                                              "latency p50 %s · p95 %s"),
                                           req, conns, empty, up, down, msgs, p50, p95);

  gtk_label_set_text (GTK_LABEL (self->state_label), state);
  if (mode == DX_MODE_UDP) {
    g_autofree char *gaps = g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_gaps (s));
    g_autofree char *missing = g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_missing (s));
    g_autofree char *late = g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_reordered (s));
    g_autofree char *dups = g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_duplicates (s));
    /* Translators: a fourth line of a compare pane's figures in UDP mode. */
    g_autofree char *udp =
        g_strdup_printf (_ ("%s\ngaps %s · missing %s · out of order %s · duplicates %s"), text,
                         gaps, missing, late, dups);
    gtk_label_set_text (GTK_LABEL (self->figures), udp);
    return;
  }
  gtk_label_set_text (GTK_LABEL (self->figures), text);
}

static gboolean
refresh_cb (gpointer data)
{
  refresh (data);
  return G_SOURCE_CONTINUE;
}

static void
on_sample (DxChat *chat, guint mode, double ms, DxComparePane *self)
{
  dx_chart_add_sample (self->chart, mode, ms);
}

static void
on_mode_selected (GtkDropDown *dd, GParamSpec *pspec, DxComparePane *self)
{
  guint mode = gtk_drop_down_get_selected (dd);

  /* The template reports the first selection before the chat exists. */
  if (self->chat != NULL && mode < DX_N_MODES && mode != dx_chat_get_mode (self->chat)) {
    dx_chat_set_mode (self->chat, mode);
    dx_chart_add_mark (self->chart, mode);
  }
}

DxChat *
dx_compare_pane_get_chat (DxComparePane *self)
{
  return self->chat;
}

void
dx_compare_pane_stop (DxComparePane *self)
{
  dx_chat_stop (self->chat);
  g_clear_handle_id (&self->refresh, g_source_remove);
}

void
dx_compare_pane_start (DxComparePane *self, const char *room)
{
  dx_chat_start (self->chat, room, dx_chat_get_mode (self->chat));
  if (self->refresh == 0)
    self->refresh = g_timeout_add (500, refresh_cb, self);
  refresh (self);
}

static void
dx_compare_pane_dispose (GObject *object)
{
  DxComparePane *self = DX_COMPARE_PANE (object);

  g_clear_handle_id (&self->refresh, g_source_remove);
  if (self->chat != NULL)
    dx_chat_stop (self->chat);
  gtk_widget_dispose_template (GTK_WIDGET (self), DX_TYPE_COMPARE_PANE);
  /* The template's root box has no id: unparent it ourselves. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  g_clear_object (&self->chat);
  G_OBJECT_CLASS (dx_compare_pane_parent_class)->dispose (object);
}

static void
dx_compare_pane_class_init (DxComparePaneClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = dx_compare_pane_dispose;
  g_type_ensure (DX_TYPE_CHART);
  g_type_ensure (DX_TYPE_MESSAGE_VIEW);
  dx_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/duplex/Duplex/dx-compare-pane.ui");
  gtk_widget_class_bind_template_child (widget_class, DxComparePane, mode_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DxComparePane, state_label);
  gtk_widget_class_bind_template_child (widget_class, DxComparePane, messages);
  gtk_widget_class_bind_template_child (widget_class, DxComparePane, figures);
  gtk_widget_class_bind_template_child (widget_class, DxComparePane, chart);
  gtk_widget_class_bind_template_callback (widget_class, on_mode_selected);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "comparepane");
}

static void
dx_compare_pane_init (DxComparePane *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
dx_compare_pane_new (const char *server_url, const char *nick, const char *room, DxMode mode)
{
  DxComparePane *self = g_object_new (DX_TYPE_COMPARE_PANE, NULL);
  g_autoptr (GListModel) modes = dx_mode_list_new ();

  /* The dropdown first: its selection is not a switch while there is no chat. */
  gtk_drop_down_set_model (GTK_DROP_DOWN (self->mode_dropdown), modes);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->mode_dropdown), mode);
  self->chat = dx_chat_new (server_url, nick);
  dx_chat_start (self->chat, room, mode);
  dx_message_view_set_model (self->messages, G_LIST_MODEL (dx_chat_get_store (self->chat)));
  g_signal_connect_object (self->chat, "sample", G_CALLBACK (on_sample), self, 0);
  self->refresh = g_timeout_add (500, refresh_cb, self);
  refresh (self);
  return GTK_WIDGET (self);
}
