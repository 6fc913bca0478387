#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-inspector-pane.h"
#include "dx-wire-log.h"

struct _DxInspectorPane {
  GtkBox parent_instance;
  GtkWidget *overhead_label;
  GtkWidget *direction_dropdown;
  GtkWidget *pause_button;
  GtkWidget *list_scroller;
  GtkWidget *list;
  GtkWidget *detail;
  DxChat *chat;
  DxWireLog *log;
  GtkSingleSelection *selection;
  GBinding *bindings[2];
  gboolean follow; /* the view was at the bottom: keep showing the newest */
};

G_DEFINE_FINAL_TYPE (DxInspectorPane, dx_inspector_pane, GTK_TYPE_BOX)

/* ---- the overhead line ---- */

/* One mode's cost: its wire bytes (headers and framing included) against
 * the chat text they carried. */
static char *
overhead_line (DxChat *chat, DxMode mode)
{
  DxStats *stats = dx_chat_get_stats (chat, mode);
  guint64 wire = dx_stats_get_bytes_up (stats) + dx_stats_get_bytes_down (stats);
  guint64 text = dx_stats_get_text_bytes (stats);
  guint64 messages = dx_stats_get_messages (stats);
  g_autofree char *bytes = g_strdup_printf ("%" G_GUINT64_FORMAT, wire);
  g_autofree char *text_bytes = NULL;
  g_autofree char *per = NULL;
  g_autofree char *ratio = NULL;

  if (messages == 0 || text == 0)
    /* Translators: mode name, then bytes */
    return g_strdup_printf (_ ("%s: %s B on the wire, no message text yet"), dx_mode_title (mode),
                            bytes);
  text_bytes = g_strdup_printf ("%" G_GUINT64_FORMAT, text);
  per = g_strdup_printf ("%.0f", (double) (wire - MIN (wire, text)) / messages);
  ratio = g_strdup_printf ("%.1f", (double) (wire - MIN (wire, text)) / text);
  /* Translators: mode name, wire bytes, text bytes, overhead bytes per
   * message, overhead as a multiple of the text */
  return g_strdup_printf (_ ("%s: %s B on the wire, %s B of text, %s B overhead per message "
                             "(%s×)"),
                          dx_mode_title (mode), bytes, text_bytes, per, ratio);
}

/* The label: the current mode; its tooltip: every mode used so far, to
 * compare them. */
static void
update_overhead (DxInspectorPane *self)
{
  g_autofree char *line = NULL;
  GString *all = g_string_new (NULL);

  if (self->chat == NULL) {
    g_string_free (all, TRUE);
    return;
  }
  line = overhead_line (self->chat, dx_chat_get_mode (self->chat));
  for (int m = 0; m < DX_N_MODES; m++) {
    DxStats *stats = dx_chat_get_stats (self->chat, m);
    g_autofree char *one = NULL;
    if (dx_stats_get_bytes_up (stats) + dx_stats_get_bytes_down (stats) == 0)
      continue;
    one = overhead_line (self->chat, m);
    g_string_append_printf (all, "%s%s", all->len > 0 ? "\n" : "", one);
  }
  gtk_label_set_text (GTK_LABEL (self->overhead_label), line);
  gtk_widget_set_tooltip_text (self->overhead_label, all->len > 0 ? all->str : line);
  g_string_free (all, TRUE);
}

static void
on_switched (DxChat *chat, guint mode, DxInspectorPane *self)
{
  update_overhead (self);
}

static void
on_stats_changed (DxStats *stats, DxInspectorPane *self)
{
  update_overhead (self);
}

/* ---- rows ---- */

/* One line per entry: time, direction, kind, bytes, then the summary
 * (which may be cut short: the bytes stay in view). */
static char *
row_text (DxWireEntry *e)
{
  gint64 us = dx_wire_entry_get_time (e);
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_local (us / G_USEC_PER_SEC);
  g_autofree char *clock = g_date_time_format (t, "%H:%M:%S");
  g_autofree char *bytes = dx_wire_entry_format_bytes (e);

  return g_strdup_printf ("%s.%03d %s %-6s %s  %s", clock, (int) (us % G_USEC_PER_SEC / 1000),
                          dx_wire_entry_arrow (e), dx_wire_kind_tag (dx_wire_entry_get_kind (e)),
                          bytes, dx_wire_entry_get_summary (e));
}

static void
setup_row (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_single_line_mode (GTK_LABEL (label), TRUE);
  gtk_widget_add_css_class (label, "monospace");
  gtk_list_item_set_child (item, label);
}

static void
bind_row (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  DxWireEntry *e = gtk_list_item_get_item (item);
  GtkWidget *label = gtk_list_item_get_child (item);
  g_autofree char *text = row_text (e);

  gtk_label_set_text (GTK_LABEL (label), text);
  gtk_widget_remove_css_class (label, "sent");
  gtk_widget_remove_css_class (label, "received");
  gtk_widget_add_css_class (label,
                            dx_wire_entry_get_direction (e) == DX_WIRE_SENT ? "sent" : "received");
}

static void
show_selected (DxInspectorPane *self)
{
  DxWireEntry *e =
      self->selection != NULL ? gtk_single_selection_get_selected_item (self->selection) : NULL;
  g_autofree char *text = e != NULL ? dx_wire_entry_to_text (e) : NULL;

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->detail)),
                            text != NULL ? text : "", -1);
}

static void
on_selected (GtkSingleSelection *selection, GParamSpec *pspec, DxInspectorPane *self)
{
  show_selected (self);
}

/* Keep the newest entry in view while the view is at the bottom; a person
 * who scrolled up to read is left where they are. */
static void
on_adjustment_changed (GtkAdjustment *adj, DxInspectorPane *self)
{
  if (self->follow)
    gtk_adjustment_set_value (adj,
                              gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj));
}

static void
on_adjustment_value (GtkAdjustment *adj, DxInspectorPane *self)
{
  self->follow = gtk_adjustment_get_value (adj) + gtk_adjustment_get_page_size (adj)
                 >= gtk_adjustment_get_upper (adj) - 4;
}

/* ---- buttons ---- */

static void
copy_text (DxInspectorPane *self, const char *text)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), text);
}

static void
on_copy_clicked (GtkButton *button, DxInspectorPane *self)
{
  DxWireEntry *e =
      self->selection != NULL ? gtk_single_selection_get_selected_item (self->selection) : NULL;
  g_autofree char *text = NULL;

  if (e == NULL)
    return;
  text = dx_wire_entry_to_text (e);
  copy_text (self, text);
}

static void
on_copy_all_clicked (GtkButton *button, DxInspectorPane *self)
{
  g_autofree char *text = NULL;

  if (self->log == NULL)
    return;
  text = dx_wire_log_to_text (self->log);
  copy_text (self, text);
}

static void
on_clear_clicked (GtkButton *button, DxInspectorPane *self)
{
  if (self->log != NULL)
    dx_wire_log_clear (self->log);
}

/* ---- binding ---- */

static void
unbind (DxInspectorPane *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->bindings); i++)
    g_clear_pointer (&self->bindings[i], g_binding_unbind);
  if (self->chat != NULL) {
    for (int m = 0; m < DX_N_MODES; m++)
      g_signal_handlers_disconnect_by_data (dx_chat_get_stats (self->chat, m), self);
    g_signal_handlers_disconnect_by_data (self->chat, self);
  }
  g_clear_object (&self->chat);
  g_clear_object (&self->log);
}

void
dx_inspector_pane_bind (DxInspectorPane *self, DxChat *chat)
{
  g_return_if_fail (DX_IS_INSPECTOR_PANE (self) && DX_IS_CHAT (chat));
  unbind (self);
  self->chat = g_object_ref (chat);
  self->log = g_object_ref (dx_chat_get_wire_log (chat));
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  self->selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->log)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect (self->selection, "notify::selected-item", G_CALLBACK (on_selected), self);
  /* The view holds the selection; ours is a borrowed pointer. */
  gtk_list_view_set_model (GTK_LIST_VIEW (self->list), GTK_SELECTION_MODEL (self->selection));
  g_object_unref (self->selection);
  self->bindings[0] = g_object_bind_property (self->pause_button, "active", self->log, "paused",
                                              G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  self->bindings[1] =
      g_object_bind_property (self->direction_dropdown, "selected", self->log, "filter",
                              G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_signal_connect (chat, "switched", G_CALLBACK (on_switched), self);
  for (int m = 0; m < DX_N_MODES; m++)
    g_signal_connect (dx_chat_get_stats (chat, m), "changed", G_CALLBACK (on_stats_changed), self);
  update_overhead (self);
  show_selected (self);
}

/* ---- GObject ---- */

static void
dx_inspector_pane_dispose (GObject *object)
{
  DxInspectorPane *self = DX_INSPECTOR_PANE (object);

  unbind (self);
  if (self->list != NULL)
    gtk_list_view_set_model (GTK_LIST_VIEW (self->list), NULL);
  self->selection = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), DX_TYPE_INSPECTOR_PANE);
  G_OBJECT_CLASS (dx_inspector_pane_parent_class)->dispose (object);
}

static void
dx_inspector_pane_class_init (DxInspectorPaneClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = dx_inspector_pane_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/duplex/Duplex/dx-inspector-pane.ui");
  gtk_widget_class_bind_template_child (widget_class, DxInspectorPane, overhead_label);
  gtk_widget_class_bind_template_child (widget_class, DxInspectorPane, direction_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DxInspectorPane, pause_button);
  gtk_widget_class_bind_template_child (widget_class, DxInspectorPane, list_scroller);
  gtk_widget_class_bind_template_child (widget_class, DxInspectorPane, list);
  gtk_widget_class_bind_template_child (widget_class, DxInspectorPane, detail);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_all_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_clear_clicked);
}

static void
dx_inspector_pane_init (DxInspectorPane *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkAdjustment *adj;

  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row), NULL);
  gtk_list_view_set_factory (GTK_LIST_VIEW (self->list), factory);
  g_object_unref (factory);
  self->follow = TRUE;
  adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (self->list_scroller));
  g_signal_connect_object (adj, "changed", G_CALLBACK (on_adjustment_changed), self, 0);
  g_signal_connect_object (adj, "value-changed", G_CALLBACK (on_adjustment_value), self, 0);
}
