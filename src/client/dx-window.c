#include "dx-config.h"

#include <glib/gi18n.h>

#include "protocol/names.h"

#include "dx-compare-pane.h"
#include "dx-compare.h"
#include "dx-impairment-panel.h"
#include "dx-inspector-pane.h"
#include "dx-message-view.h"
#include "dx-password-dialog.h"
#include "dx-resources.h"
#include "dx-stats-export.h"
#include "dx-stats-panel.h"
#include "dx-text.h"
#include "dx-udp-transport.h"
#include "dx-window.h"
#include "dx-tls-banner.h"

#define DX_ROOMS_REFRESH_S 5

struct _DxWindow {
  GtkApplicationWindow parent_instance;

  GtkWidget *transport_dropdown;
  GtkWidget *state_dot;
  GtkWidget *state_label;
  GtkWidget *title_label;
  GtkWidget *subtitle_label;
  GtkWidget *compare_button;
  GtkWidget *room_list;
  GtkWidget *join_entry;
  GtkWidget *error_revealer;
  GtkWidget *error_label;
  GtkWidget *stack;
  DxMessageView *messages;
  GtkWidget *message_entry;
  GtkWidget *send_button;
  GtkWidget *stats_panel;
  GtkWidget *sidebar;
  GtkWidget *stats_scroller;
  DxCompare *compare;
  GtkWidget *impairment_panel;
  GtkWidget *impairment_indicator;
  GtkWidget *inspector_revealer;
  GtkWidget *inspector;
  GtkWidget *password_dialog; /* weak: open while asking for the password */

  DxSettings *settings;
  DxChat *chat;
  DxRunLog *run_log;
  DxImpairment *impairment;
  GCancellable *cancellable;
  guint state_timer;
  guint rooms_timer;
  guint error_timer;
};

G_DEFINE_FINAL_TYPE (DxWindow, dx_window, GTK_TYPE_APPLICATION_WINDOW)

DxChat *
dx_window_get_chat (DxWindow *self)
{
  return self->chat;
}

DxRunLog *
dx_window_get_run_log (DxWindow *self)
{
  return self->run_log;
}

/* ---- header: state and title ---- */

static void
update_state (DxWindow *self)
{
  DxTransport *t = dx_chat_get_transport (self->chat);
  DxTransportState st = t != NULL ? dx_transport_get_state (t) : DX_TRANSPORT_CONNECTING;
  static const char *const classes[] = { "disconnected", "connecting", "connected",
                                         "reconnecting" };
  g_autofree char *text = dx_chat_get_password_needed (self->chat)
                              ? g_strdup (_ ("Password needed"))
                              : dx_state_text (t);

  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    gtk_widget_remove_css_class (self->state_dot, classes[i]);
  gtk_widget_add_css_class (self->state_dot, classes[st]);
  gtk_label_set_text (GTK_LABEL (self->state_label), text);
}

static gboolean
state_tick (gpointer data)
{
  update_state (data); /* the reconnect countdown moves every second */
  return G_SOURCE_CONTINUE;
}

static void
update_title (DxWindow *self)
{
  g_autofree char *title = g_strdup_printf ("#%s", dx_chat_get_room (self->chat));
  g_autofree char *subtitle = g_strdup_printf (_ ("%s on %s"), dx_chat_get_nick (self->chat),
                                               dx_chat_get_server_url (self->chat));

  gtk_label_set_text (GTK_LABEL (self->title_label), title);
  gtk_label_set_text (GTK_LABEL (self->subtitle_label), subtitle);
  gtk_window_set_title (GTK_WINDOW (self), title);
}

static gboolean
hide_error (gpointer data)
{
  DxWindow *self = data;

  self->error_timer = 0;
  gtk_revealer_set_reveal_child (GTK_REVEALER (self->error_revealer), FALSE);
  return G_SOURCE_REMOVE;
}

static void
show_error (DxWindow *self, const char *text)
{
  gtk_label_set_text (GTK_LABEL (self->error_label), text);
  gtk_revealer_set_reveal_child (GTK_REVEALER (self->error_revealer), TRUE);
  g_clear_handle_id (&self->error_timer, g_source_remove);
  self->error_timer = g_timeout_add_seconds (6, hide_error, self);
}

static void
on_chat_error (DxChat *chat, const char *text, DxWindow *self)
{
  show_error (self, text);
}

/* ---- the server's password ---- */

static void
ask_password (DxWindow *self, gboolean refused)
{
  if (self->password_dialog != NULL) {
    dx_password_dialog_set_refused (DX_PASSWORD_DIALOG (self->password_dialog), refused);
    gtk_window_present (GTK_WINDOW (self->password_dialog));
    return;
  }
  self->password_dialog = dx_password_dialog_new (GTK_WINDOW (self), self->chat, refused);
  g_object_add_weak_pointer (G_OBJECT (self->password_dialog), (gpointer *) &self->password_dialog);
  gtk_window_present (GTK_WINDOW (self->password_dialog));
}

static void
on_password_required (DxChat *chat, gboolean refused, DxWindow *self)
{
  ask_password (self, refused);
}

static void
password_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  ask_password (data, FALSE);
}

static void
on_chat_state (DxChat *chat, DxWindow *self)
{
  update_state (self);
}

static void
on_switched (DxChat *chat, guint mode, DxWindow *self)
{
  g_autoptr (GVariant) state = g_variant_ref_sink (g_variant_new_string (dx_mode_to_string (mode)));

  if (gtk_drop_down_get_selected (GTK_DROP_DOWN (self->transport_dropdown)) != mode)
    gtk_drop_down_set_selected (GTK_DROP_DOWN (self->transport_dropdown), mode);
  g_action_group_change_action_state (G_ACTION_GROUP (self), "mode", state);
  dx_settings_set_transport (self->settings, dx_mode_to_string (mode));
  update_state (self);
}

/* ---- notifications ---- */

static void
on_mention (DxChat *chat, DxMessage *msg, DxWindow *self)
{
  GApplication *app = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  g_autoptr (GNotification) n = NULL;
  g_autofree char *title = NULL;

  if (gtk_window_is_active (GTK_WINDOW (self)) || app == NULL)
    return;
  title = g_strdup_printf (_ ("%s mentioned you in #%s"), dx_message_get_from (msg),
                           dx_message_get_room (msg));
  n = g_notification_new (title);
  g_notification_set_body (n, dx_message_get_text (msg));
  g_notification_set_default_action (n, "app.activate");
  g_application_send_notification (app, "mention", n);
}

static void
on_reached_top (DxMessageView *view, DxWindow *self)
{
  dx_chat_load_older (self->chat);
}

/* ---- sending ---- */

static void
send_entry (DxWindow *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->message_entry));

  DxTransport *transport = dx_chat_get_transport (self->chat);
  gsize size = 0;

  if (text[0] == '\0')
    return;
  if (transport != NULL && DX_IS_UDP_TRANSPORT (transport)
      && !dx_udp_transport_send_fits (DX_UDP_TRANSPORT (transport), text, &size)) {
    /* Refused here, not lost on the way: the text stays in the entry. */
    g_autofree char *why =
        g_strdup_printf (_ ("Too long for one UDP datagram: %u bytes, at most %d. Shorten it or "
                            "use another transport."),
                         (guint) size, DX_UDP_DATAGRAM_MAX);
    show_error (self, why);
    return;
  }
  if (!dx_chat_send (self->chat, text)) {
    show_error (self, _ ("A message must be 1 to 4096 bytes of text."));
    return;
  }
  gtk_editable_set_text (GTK_EDITABLE (self->message_entry), "");
  dx_message_view_set_following (self->messages, TRUE);
}

static void
on_entry_activate (GtkEntry *entry, DxWindow *self)
{
  send_entry (self);
}

static void
on_send_clicked (GtkButton *button, DxWindow *self)
{
  send_entry (self);
  gtk_widget_grab_focus (self->message_entry);
}

/* ---- rooms ---- */

static void
join_room (DxWindow *self, const char *room)
{
  if (!dx_room_valid (room, strlen (room))) {
    show_error (self, _ ("A room name is 1 to 32 characters of a–z, 0–9, _ and -."));
    return;
  }
  dx_chat_set_room (self->chat, room);
  dx_settings_set_string (self->settings, "room", room);
  dx_message_view_set_following (self->messages, TRUE);
  update_title (self);
  if (dx_compare_is_running (self->compare))
    dx_window_set_compare (self, TRUE);
}

static void
on_join_activate (GtkEntry *entry, DxWindow *self)
{
  g_autofree char *room = g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry)));

  g_strstrip (room);
  if (room[0] == '#')
    memmove (room, room + 1, strlen (room));
  join_room (self, room);
  if (g_strcmp0 (dx_chat_get_room (self->chat), room) == 0)
    gtk_editable_set_text (GTK_EDITABLE (entry), "");
}

static void
on_room_activated (GtkListBox *box, GtkListBoxRow *row, DxWindow *self)
{
  const char *room = g_object_get_data (G_OBJECT (row), "dx-room");

  if (room != NULL)
    join_room (self, room);
}

static GtkWidget *
room_row_new (const char *name, guint64 online)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  g_autofree char *title = g_strdup_printf ("#%s", name);
  g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT, online);
  GtkWidget *label = gtk_label_new (title);
  GtkWidget *badge = gtk_label_new (count);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_add_css_class (badge, "dim-label");
  gtk_widget_set_tooltip_text (badge, _ ("People online"));
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), badge);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data_full (G_OBJECT (row), "dx-room", g_strdup (name), g_free);
  return row;
}

static void
rooms_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxWindow *self = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rooms = dx_chat_list_rooms_finish (DX_CHAT (source), result, &error);
  GtkWidget *child;
  gboolean have_current = FALSE;
  const char *current;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (rooms == NULL)
    rooms = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  current = dx_chat_get_room (self->chat);
  while ((child = gtk_widget_get_first_child (self->room_list)) != NULL)
    gtk_list_box_remove (GTK_LIST_BOX (self->room_list), child);
  for (guint i = 0; i < rooms->len; i++) {
    const char *name;
    guint64 last_id, online;
    g_variant_get (rooms->pdata[i], "(&stt)", &name, &last_id, &online);
    GtkWidget *row = room_row_new (name, online);
    gtk_list_box_append (GTK_LIST_BOX (self->room_list), row);
    if (g_strcmp0 (name, current) == 0) {
      gtk_list_box_select_row (GTK_LIST_BOX (self->room_list), GTK_LIST_BOX_ROW (row));
      have_current = TRUE;
    }
  }
  if (!have_current && current != NULL) {
    /* A room nobody posted to yet is still a room: list it. */
    GtkWidget *row = room_row_new (current, 0);
    gtk_list_box_prepend (GTK_LIST_BOX (self->room_list), row);
    gtk_list_box_select_row (GTK_LIST_BOX (self->room_list), GTK_LIST_BOX_ROW (row));
  }
}

static gboolean
refresh_rooms (gpointer data)
{
  DxWindow *self = data;

  dx_chat_list_rooms (self->chat, self->cancellable, rooms_done, self);
  return G_SOURCE_CONTINUE;
}

/* ---- actions ---- */

static void
on_dropdown_selected (GtkDropDown *dd, GParamSpec *pspec, DxWindow *self)
{
  guint mode = gtk_drop_down_get_selected (dd);

  /* The template reports the first selection before the chat exists. */
  if (self->chat != NULL && mode < DX_N_MODES && mode != dx_chat_get_mode (self->chat))
    dx_chat_set_mode (self->chat, mode);
}

static void
mode_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  DxWindow *self = data;
  int mode = dx_mode_from_string (g_variant_get_string (param, NULL));

  if (mode >= 0)
    dx_chat_set_mode (self->chat, mode);
}

void
dx_window_set_compare (DxWindow *self, gboolean compare)
{
  g_autoptr (GVariant) state = g_variant_ref_sink (g_variant_new_boolean (compare));
  /* Three families side by side: polling, streaming, full duplex. */
  static const DxMode modes[] = { DX_MODE_POLL, DX_MODE_SSE, DX_MODE_WEBSOCKET };

  if (compare) {
    dx_compare_start (self->compare, dx_chat_get_server_url (self->chat),
                      dx_chat_get_nick (self->chat), dx_chat_get_room (self->chat), modes,
                      G_N_ELEMENTS (modes));
    /* A pane switched to UDP loses and repairs as the main chat does. */
    for (guint i = 0; i < dx_compare_get_n_panes (self->compare); i++) {
      DxChat *pane = dx_compare_get_pane_chat (self->compare, i);
      g_object_bind_property (self->chat, "udp-loss", pane, "udp-loss", G_BINDING_SYNC_CREATE);
      g_object_bind_property (self->chat, "udp-repair", pane, "udp-repair", G_BINDING_SYNC_CREATE);
      g_object_bind_property (self->chat, "password", pane, "password", G_BINDING_SYNC_CREATE);
    }
  } else
    dx_compare_stop (self->compare);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), compare ? "compare" : "chat");
  /* The panes carry their own figures and charts: give them the width. */
  gtk_widget_set_visible (self->sidebar, !compare);
  gtk_widget_set_visible (self->stats_scroller, !compare);
  g_simple_action_set_state (
      G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "compare")), state);
}

static void
compare_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  DxWindow *self = data;
  g_autoptr (GVariant) state = g_action_get_state (G_ACTION (action));

  dx_window_set_compare (self, !g_variant_get_boolean (state));
}

static void
reset_stats_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  DxWindow *self = data;

  for (int m = 0; m < DX_N_MODES; m++)
    dx_stats_reset (dx_chat_get_stats (self->chat, m));
  dx_chart_clear (dx_stats_panel_get_chart (DX_STATS_PANEL (self->stats_panel)));
}

static void
save_stats_response (GtkNativeDialog *dialog, int response, DxWindow *self)
{
  g_autoptr (GFile) file = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  DxStatsFormat format;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  path = file != NULL ? g_file_get_path (file) : NULL;
  if (path != NULL && !dx_stats_format_for_path (path, &format))
    show_error (self, _ ("Statistics are saved as a .csv or a .json file."));
  else if (path != NULL
           && !dx_stats_export_save (self->chat, self->run_log, path, format, &error)) {
    g_autofree char *text =
        g_strdup_printf (_ ("Could not save the statistics: %s"), error->message);
    show_error (self, text);
  }
  g_object_unref (dialog);
}

static void
save_stats_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  DxWindow *self = data;
  GtkFileChooserNative *dialog =
      gtk_file_chooser_native_new (_ ("Save Statistics"), GTK_WINDOW (self),
                                   GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Save"), _ ("_Cancel"));
  g_autoptr (GtkFileFilter) csv = gtk_file_filter_new ();
  g_autoptr (GtkFileFilter) json = gtk_file_filter_new ();

  /* The extension picks the format: the filters only help choose one. */
  gtk_file_filter_set_name (csv, _ ("CSV (spreadsheets)"));
  gtk_file_filter_add_pattern (csv, "*.csv");
  gtk_file_filter_set_name (json, _ ("JSON"));
  gtk_file_filter_add_pattern (json, "*.json");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), csv);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), json);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "duplex-statistics.csv");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  /* The dialog holds itself until it answers (unref in the response). */
  g_signal_connect_object (dialog, "response", G_CALLBACK (save_stats_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
focus_entry_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  gtk_widget_grab_focus (DX_WINDOW (data)->message_entry);
}

static void
focus_join_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  gtk_widget_grab_focus (DX_WINDOW (data)->join_entry);
}

/* The wire inspector: shown under the chat, hidden until asked for. */
static void
inspector_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  DxWindow *self = data;
  g_autoptr (GVariant) state = g_action_get_state (G_ACTION (action));
  gboolean show = !g_variant_get_boolean (state);

  gtk_revealer_set_reveal_child (GTK_REVEALER (self->inspector_revealer), show);
  g_simple_action_set_state (action, g_variant_new_boolean (show));
}

static const GActionEntry win_actions[] = {
  { .name = "mode", .activate = mode_action, .parameter_type = "s", .state = "'websocket'" },
  { .name = "compare", .activate = compare_action, .state = "false" },
  { .name = "reset-stats", .activate = reset_stats_action },
  { .name = "save-stats", .activate = save_stats_action },
  { .name = "focus-entry", .activate = focus_entry_action },
  { .name = "focus-join", .activate = focus_join_action },
  { .name = "inspector", .activate = inspector_action, .state = "false" },
  { .name = "password", .activate = password_action },
};

/* ---- life cycle ---- */

static void
dx_window_dispose (GObject *object)
{
  DxWindow *self = DX_WINDOW (object);

  g_clear_handle_id (&self->state_timer, g_source_remove);
  g_clear_handle_id (&self->rooms_timer, g_source_remove);
  g_clear_handle_id (&self->error_timer, g_source_remove);
  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  if (self->chat != NULL) {
    g_signal_handlers_disconnect_by_data (self->chat, self);
    dx_chat_stop (self->chat);
  }
  gtk_widget_dispose_template (GTK_WIDGET (self), DX_TYPE_WINDOW);
  g_clear_object (&self->chat);
  g_clear_object (&self->run_log);
  g_clear_object (&self->impairment);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (dx_window_parent_class)->dispose (object);
}

static void
dx_window_class_init (DxWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = dx_window_dispose;
  g_type_ensure (DX_TYPE_COMPARE);
  g_type_ensure (DX_TYPE_INSPECTOR_PANE);
  g_type_ensure (DX_TYPE_MESSAGE_VIEW);
  g_type_ensure (DX_TYPE_STATS_PANEL);
  g_type_ensure (DX_TYPE_IMPAIRMENT_PANEL);
  dx_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/duplex/Duplex/dx-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DxWindow, transport_dropdown);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, state_dot);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, state_label);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, title_label);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, compare_button);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, room_list);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, join_entry);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, error_label);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, messages);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, message_entry);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, send_button);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, stats_panel);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, compare);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, stats_scroller);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, impairment_panel);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, impairment_indicator);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, inspector_revealer);
  gtk_widget_class_bind_template_child (widget_class, DxWindow, inspector);
  gtk_widget_class_bind_template_callback (widget_class, on_dropdown_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_room_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_join_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_reached_top);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_send_clicked);
}

static void
dx_window_init (DxWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions, G_N_ELEMENTS (win_actions),
                                   self);
}

/* The simulated network: off until the panel turns it on; the header bar
 * says so while it is on. */
static void
setup_impairment (DxWindow *self, const char *server_url)
{
  self->impairment = dx_impairment_new (server_url);
  dx_chat_set_impairment (self->chat, self->impairment);
  dx_impairment_panel_bind (DX_IMPAIRMENT_PANEL (self->impairment_panel), self->impairment);
  g_object_bind_property (self->impairment, "enabled", self->impairment_indicator, "visible",
                          G_BINDING_SYNC_CREATE);
}

DxWindow *
dx_window_new (GtkApplication *app, DxSettings *settings, const char *server_url, const char *nick,
               const char *room, DxMode mode)
{
  DxWindow *self = g_object_new (DX_TYPE_WINDOW, "application", app, NULL);
  g_autoptr (GListModel) modes = dx_mode_list_new ();

  self->settings = g_object_ref (settings);
  self->cancellable = g_cancellable_new ();
  /* The dropdown first: its selection is not a switch while there is no chat. */
  gtk_drop_down_set_model (GTK_DROP_DOWN (self->transport_dropdown), modes);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->transport_dropdown), mode);
  self->chat = dx_chat_new (server_url, nick);
  dx_message_view_set_model (self->messages, G_LIST_MODEL (dx_chat_get_store (self->chat)));

  g_signal_connect (self->chat, "state-changed", G_CALLBACK (on_chat_state), self);
  g_signal_connect (self->chat, "switched", G_CALLBACK (on_switched), self);
  g_signal_connect (self->chat, "error", G_CALLBACK (on_chat_error), self);
  g_signal_connect (self->chat, "mention", G_CALLBACK (on_mention), self);
  g_signal_connect (self->chat, "password-required", G_CALLBACK (on_password_required), self);
  /* A refused TLS certificate is explained above the chat (dx-tls-banner.c). */
  gtk_box_insert_child_after (GTK_BOX (gtk_widget_get_parent (self->error_revealer)),
                              dx_tls_banner_new (), NULL);

  dx_stats_panel_bind (DX_STATS_PANEL (self->stats_panel), self->chat, settings);
  setup_impairment (self, server_url);
  dx_inspector_pane_bind (DX_INSPECTOR_PANE (self->inspector), self->chat);
  dx_chat_start (self->chat, room, mode);
  self->run_log = dx_run_log_new ();
  dx_run_log_follow (self->run_log, self->chat);
  {
    g_autoptr (GVariant) state =
        g_variant_ref_sink (g_variant_new_string (dx_mode_to_string (mode)));
    g_action_group_change_action_state (G_ACTION_GROUP (self), "mode", state);
  }
  dx_chart_add_mark (dx_stats_panel_get_chart (DX_STATS_PANEL (self->stats_panel)), mode);
  update_title (self);
  update_state (self);
  self->state_timer = g_timeout_add (500, state_tick, self);
  refresh_rooms (self);
  self->rooms_timer = g_timeout_add_seconds (DX_ROOMS_REFRESH_S, refresh_rooms, self);
  gtk_widget_grab_focus (self->message_entry);
  return self;
}
