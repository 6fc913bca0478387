#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-resources.h"
#include "dx-stats-panel.h"
#include "dx-text.h"
#include "dx-time-wait-view.h"

enum {
  ROW_REQUESTS,
  ROW_UP,
  ROW_DOWN,
  ROW_CONNECTIONS,
  ROW_EMPTY,
  ROW_MESSAGES,
  ROW_BYTES_PER_MESSAGE,
  ROW_P50,
  ROW_P95,
  ROW_TLS_HANDSHAKES,
  N_ROWS
};

/* Rows only UDP mode has: what the datagrams did. */
enum {
  UDP_ROW_GAPS,
  UDP_ROW_MISSING,
  UDP_ROW_REORDERED,
  UDP_ROW_DUPLICATES,
  UDP_ROW_REPAIRED,
  UDP_ROW_SIMULATED,
  N_UDP_ROWS
};

struct _DxStatsPanel {
  GtkWidget parent_instance;
  GtkWidget *title;
  GtkWidget *grid;
  GtkWidget *interval_spin;
  GtkWidget *wait_spin;
  GtkWidget *keep_alive_switch;
  DxChart *chart;
  GtkWidget *time_wait_view;
  GtkWidget *values[N_ROWS];
  GtkWidget *udp_box;
  GtkWidget *udp_grid;
  GtkWidget *repair_switch;
  GtkWidget *udp_values[N_UDP_ROWS];
  DxChat *chat;
  DxSettings *settings;
  guint refresh;
};

G_DEFINE_FINAL_TYPE (DxStatsPanel, dx_stats_panel, GTK_TYPE_WIDGET)

static void
set_value (DxStatsPanel *self, int row, char *text)
{
  gtk_label_set_text (GTK_LABEL (self->values[row]), text);
  g_free (text);
}

static void
set_count (GtkWidget *label, guint64 n)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, n);

  gtk_label_set_text (GTK_LABEL (label), text);
}

static void
refresh_udp (DxStatsPanel *self, DxMode mode, DxStats *s)
{
  gtk_widget_set_visible (self->udp_box, mode == DX_MODE_UDP);
  if (mode != DX_MODE_UDP)
    return;
  set_count (self->udp_values[UDP_ROW_GAPS], dx_stats_get_gaps (s));
  set_count (self->udp_values[UDP_ROW_MISSING], dx_stats_get_missing (s));
  set_count (self->udp_values[UDP_ROW_REORDERED], dx_stats_get_reordered (s));
  set_count (self->udp_values[UDP_ROW_DUPLICATES], dx_stats_get_duplicates (s));
  set_count (self->udp_values[UDP_ROW_REPAIRED], dx_stats_get_repaired (s));
  set_count (self->udp_values[UDP_ROW_SIMULATED], dx_stats_get_simulated_loss (s));
}

static void
refresh_figures (DxStatsPanel *self)
{
  DxMode mode;
  DxStats *s;
  guint64 msgs;

  if (self->chat == NULL)
    return;
  mode = dx_chat_get_mode (self->chat);
  s = dx_chat_get_stats (self->chat, mode);
  msgs = dx_stats_get_messages (s);
  {
    g_autofree char *title = g_strdup_printf (_ ("Statistics: %s"), dx_mode_title (mode));
    gtk_label_set_text (GTK_LABEL (self->title), title);
  }
  set_value (self, ROW_REQUESTS, g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_requests (s)));
  set_value (self, ROW_UP, g_format_size (dx_stats_get_bytes_up (s)));
  set_value (self, ROW_DOWN, g_format_size (dx_stats_get_bytes_down (s)));
  set_value (self, ROW_CONNECTIONS,
             g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_connections (s)));
  set_value (self, ROW_EMPTY, g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_empty_polls (s)));
  set_value (self, ROW_MESSAGES, g_strdup_printf ("%" G_GUINT64_FORMAT, msgs));
  set_value (
      self, ROW_BYTES_PER_MESSAGE,
      msgs == 0 ? g_strdup ("–")
                : g_format_size ((dx_stats_get_bytes_up (s) + dx_stats_get_bytes_down (s)) / msgs));
  set_value (self, ROW_P50, dx_format_latency (dx_stats_get_latency_percentile (s, 50)));
  set_value (self, ROW_P95, dx_format_latency (dx_stats_get_latency_percentile (s, 95)));
  set_value (self, ROW_TLS_HANDSHAKES,
             g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_tls_handshakes (s)));
  gtk_widget_set_sensitive (self->interval_spin, mode == DX_MODE_POLL);
  gtk_widget_set_sensitive (self->wait_spin, mode == DX_MODE_LONGPOLL);
  gtk_widget_set_sensitive (self->keep_alive_switch, mode <= DX_MODE_SSE);
  dx_time_wait_view_refresh (DX_TIME_WAIT_VIEW (self->time_wait_view));
  refresh_udp (self, mode, s);
}

static gboolean
refresh_cb (gpointer data)
{
  refresh_figures (data);
  return G_SOURCE_CONTINUE;
}

static void
on_sample (DxChat *chat, guint mode, double ms, DxStatsPanel *self)
{
  dx_chart_add_sample (self->chart, mode, ms);
}

static void
on_switched (DxChat *chat, guint mode, DxStatsPanel *self)
{
  dx_chart_add_mark (self->chart, mode);
  refresh_figures (self);
}

static void
interval_changed (GtkSpinButton *spin, DxStatsPanel *self)
{
  guint v = (guint) gtk_spin_button_get_value_as_int (spin);

  if (self->chat != NULL)
    dx_chat_set_poll_interval (self->chat, v);
  if (self->settings != NULL)
    dx_settings_set_uint (self->settings, "poll-interval", v);
}

static void
wait_changed (GtkSpinButton *spin, DxStatsPanel *self)
{
  guint v = (guint) gtk_spin_button_get_value_as_int (spin);

  if (self->chat != NULL)
    dx_chat_set_longpoll_wait (self->chat, v);
  if (self->settings != NULL)
    dx_settings_set_uint (self->settings, "longpoll-wait", v);
}

static void
keep_alive_changed (GtkSwitch *sw, GParamSpec *pspec, DxStatsPanel *self)
{
  gboolean v = gtk_switch_get_active (sw);

  if (self->chat != NULL)
    dx_chat_set_keep_alive (self->chat, v);
  if (self->settings != NULL)
    dx_settings_set_boolean (self->settings, "keep-alive", v);
}

void
dx_stats_panel_bind (DxStatsPanel *self, DxChat *chat, DxSettings *settings)
{
  g_set_object (&self->chat, chat);
  g_set_object (&self->settings, settings);
  g_signal_connect_object (chat, "sample", G_CALLBACK (on_sample), self, 0);
  g_signal_connect_object (chat, "switched", G_CALLBACK (on_switched), self, 0);
  if (settings != NULL) {
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->interval_spin),
                               dx_settings_get_uint (settings, "poll-interval"));
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->wait_spin),
                               dx_settings_get_uint (settings, "longpoll-wait"));
    gtk_switch_set_active (GTK_SWITCH (self->keep_alive_switch),
                           dx_settings_get_boolean (settings, "keep-alive"));
  }
  dx_chat_set_poll_interval (
      chat, (guint) gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (self->interval_spin)));
  dx_chat_set_longpoll_wait (
      chat, (guint) gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (self->wait_spin)));
  dx_chat_set_keep_alive (chat, gtk_switch_get_active (GTK_SWITCH (self->keep_alive_switch)));
  dx_time_wait_view_bind (DX_TIME_WAIT_VIEW (self->time_wait_view), chat);
  /* The chat decides (off unless --udp-repair): first see what UDP does. */
  g_object_bind_property (chat, "udp-repair", self->repair_switch, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  refresh_figures (self);
}

DxChart *
dx_stats_panel_get_chart (DxStatsPanel *self)
{
  return self->chart;
}

static void
dx_stats_panel_dispose (GObject *object)
{
  DxStatsPanel *self = DX_STATS_PANEL (object);

  g_clear_handle_id (&self->refresh, g_source_remove);
  g_clear_object (&self->chat);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), DX_TYPE_STATS_PANEL);
  /* The template's root box has no id: unparent it ourselves. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (dx_stats_panel_parent_class)->dispose (object);
}

static void
dx_stats_panel_class_init (DxStatsPanelClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = dx_stats_panel_dispose;
  g_type_ensure (DX_TYPE_CHART);
  g_type_ensure (DX_TYPE_TIME_WAIT_VIEW);
  dx_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/duplex/Duplex/dx-stats-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, DxStatsPanel, title);
  gtk_widget_class_bind_template_child (widget_class, DxStatsPanel, grid);
  gtk_widget_class_bind_template_child (widget_class, DxStatsPanel, interval_spin);
  gtk_widget_class_bind_template_child (widget_class, DxStatsPanel, wait_spin);
  gtk_widget_class_bind_template_child (widget_class, DxStatsPanel, keep_alive_switch);
  gtk_widget_class_bind_template_child (widget_class, DxStatsPanel, chart);
  gtk_widget_class_bind_template_child (widget_class, DxStatsPanel, time_wait_view);
  gtk_widget_class_bind_template_child (widget_class, DxStatsPanel, udp_box);
  gtk_widget_class_bind_template_child (widget_class, DxStatsPanel, udp_grid);
  gtk_widget_class_bind_template_child (widget_class, DxStatsPanel, repair_switch);
  gtk_widget_class_bind_template_callback (widget_class, interval_changed);
  gtk_widget_class_bind_template_callback (widget_class, wait_changed);
  gtk_widget_class_bind_template_callback (widget_class, keep_alive_changed);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static GtkWidget *
add_row (GtkWidget *grid, int row, const char *text, const char *tooltip)
{
  GtkWidget *name = gtk_label_new (text);
  GtkWidget *value = gtk_label_new ("0");

  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_widget_set_hexpand (name, TRUE);
  gtk_widget_add_css_class (name, "dim-label");
  gtk_widget_set_tooltip_text (name, tooltip);
  gtk_label_set_xalign (GTK_LABEL (value), 1);
  gtk_widget_add_css_class (value, "numeric");
  gtk_grid_attach (GTK_GRID (grid), name, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), value, 1, row, 1, 1);
  return value;
}

static void
dx_stats_panel_init_udp (DxStatsPanel *self)
{
  const char *names[N_UDP_ROWS] = {
    _ ("Gaps (ids skipped)"), _ ("Ids still missing"),  _ ("Out of order"),
    _ ("Duplicates"),         _ ("Repaired over HTTP"), _ ("Simulated loss (datagrams)"),
  };
  const char *tips[N_UDP_ROWS] = {
    _ ("Ids jumped over when a later id arrived"),
    _ ("Gaps neither filled late nor repaired"),
    _ ("Messages that came after a higher id"),
    _ ("Datagrams that carried an id already held; not shown twice"),
    _ ("Missing ids fetched with GET …/messages?since="),
    _ ("Incoming datagrams dropped on purpose, not by the network"),
  };

  for (int i = 0; i < N_UDP_ROWS; i++)
    self->udp_values[i] = add_row (self->udp_grid, i, names[i], tips[i]);
}

static void
dx_stats_panel_init (DxStatsPanel *self)
{
  /* TLS handshakes: https:// only; keep-alive off, short polling pays one per poll. */
  const char *names[N_ROWS] = {
    _ ("Requests"),           _ ("Bytes sent"),       _ ("Bytes received"),
    _ ("Connections opened"), _ ("Empty polls"),      _ ("Messages received"),
    _ ("Bytes per message"),  _ ("Latency (median)"), _ ("Latency (95th percentile)"),
    _ ("TLS handshakes"),
  };

  gtk_widget_init_template (GTK_WIDGET (self));
  for (int i = 0; i < N_ROWS; i++) {
    GtkWidget *name = gtk_label_new (names[i]);
    gtk_label_set_xalign (GTK_LABEL (name), 0);
    gtk_widget_set_hexpand (name, TRUE);
    gtk_widget_add_css_class (name, "dim-label");
    self->values[i] = gtk_label_new ("0");
    gtk_label_set_xalign (GTK_LABEL (self->values[i]), 1);
    gtk_widget_add_css_class (self->values[i], "numeric");
    gtk_grid_attach (GTK_GRID (self->grid), name, 0, i, 1, 1);
    gtk_grid_attach (GTK_GRID (self->grid), self->values[i], 1, i, 1, 1);
  }
  dx_stats_panel_init_udp (self);
  self->refresh = g_timeout_add (500, refresh_cb, self);
}

GtkWidget *
dx_stats_panel_new (void)
{
  return g_object_new (DX_TYPE_STATS_PANEL, NULL);
}
