#include "dx-config.h"

#include <glib/gi18n.h>

#include "dx-resources.h"
#include "dx-time-wait-view.h"
#include "dx-time-wait.h"

struct _DxTimeWaitView {
  GtkWidget parent_instance;
  GtkWidget *box;
  GtkWidget *closed_value;
  GtkWidget *open_value;
  GtkWidget *client_value;
  GtkWidget *server_value;
  GtkWidget *explanation;
  DxChat *chat;
  DxTimeWait *time_wait;
};

G_DEFINE_FINAL_TYPE (DxTimeWaitView, dx_time_wait_view, GTK_TYPE_WIDGET)

static char *
format_count (gint n)
{
  return n < 0 ? g_strdup ("—") : g_strdup_printf ("%d", n);
}

/* TIME_WAIT stays with the end that sent the first FIN: the figures say
 * which one that was, so the sentence is read off them, never assumed.
 * `closed`: connections of the current mode this client saw closed. */
static const char *
explain (gint client, gint server, guint64 closed)
{
  if (client < 0)
    return _ ("The connection table could not be read.");
  /* Who closes first is decided per connection (a race when both
   * close at once): say which side does so on most of them. */
  if (client > 0 && server >= 4 * client)
    return _ ("The server closed first on most connections: TIME_WAIT piles up there.");
  if (server > 0 && client >= 4 * server)
    return _ ("This client closed first on most connections: TIME_WAIT piles up here.");
  if (client > 0 && server > 0)
    return _ ("Both ends closed first on some connections: each keeps TIME_WAIT for those.");
  if (client > 0)
    return server == 0 ? _ ("This client closed first: TIME_WAIT stays here, not at the server.")
                       : _ ("This client closed first: TIME_WAIT stays here.");
  if (server > 0)
    return _ ("The server closed first: TIME_WAIT piles up there, not here.");
  if (closed > 0 && server < 0)
    return _ ("None of the closed connections waits here: the server closed them first.");
  return _ ("No connection closed lately: nothing waits in TIME_WAIT.");
}

static void
show_time_wait (DxTimeWait *tw, DxTimeWaitView *self)
{
  gint client = dx_time_wait_get_client (tw);
  gint server = dx_time_wait_get_server (tw);
  g_autofree char *c = format_count (client);
  g_autofree char *s = format_count (server);
  guint64 closed = 0;

  gtk_label_set_text (GTK_LABEL (self->client_value), c);
  gtk_label_set_text (GTK_LABEL (self->server_value), s);
  if (self->chat != NULL)
    closed = dx_stats_get_connections_closed (
        dx_chat_get_stats (self->chat, dx_chat_get_mode (self->chat)));
  gtk_label_set_text (GTK_LABEL (self->explanation), explain (client, server, closed));
}

void
dx_time_wait_view_refresh (DxTimeWaitView *self)
{
  DxStats *s;
  g_autofree char *closed = NULL;
  g_autofree char *open = NULL;

  if (self->chat == NULL)
    return;
  s = dx_chat_get_stats (self->chat, dx_chat_get_mode (self->chat));
  closed = g_strdup_printf ("%" G_GUINT64_FORMAT, dx_stats_get_connections_closed (s));
  open = g_strdup_printf ("%u", dx_stats_get_open_connections (s));
  gtk_label_set_text (GTK_LABEL (self->closed_value), closed);
  gtk_label_set_text (GTK_LABEL (self->open_value), open);
}

void
dx_time_wait_view_bind (DxTimeWaitView *self, DxChat *chat)
{
  g_set_object (&self->chat, chat);
  if (self->time_wait != NULL) {
    g_signal_handlers_disconnect_by_data (self->time_wait, self);
    g_clear_object (&self->time_wait);
  }
  self->time_wait = dx_time_wait_new (dx_chat_get_server_url (chat));
  g_signal_connect (self->time_wait, "updated", G_CALLBACK (show_time_wait), self);
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    dx_time_wait_start (self->time_wait);
  dx_time_wait_view_refresh (self);
}

/* The kernel's table is read only while somebody can see the figures. */
static void
dx_time_wait_view_map (GtkWidget *widget)
{
  DxTimeWaitView *self = DX_TIME_WAIT_VIEW (widget);

  GTK_WIDGET_CLASS (dx_time_wait_view_parent_class)->map (widget);
  if (self->time_wait != NULL)
    dx_time_wait_start (self->time_wait);
}

static void
dx_time_wait_view_unmap (GtkWidget *widget)
{
  DxTimeWaitView *self = DX_TIME_WAIT_VIEW (widget);

  if (self->time_wait != NULL)
    dx_time_wait_stop (self->time_wait);
  GTK_WIDGET_CLASS (dx_time_wait_view_parent_class)->unmap (widget);
}

static void
dx_time_wait_view_dispose (GObject *object)
{
  DxTimeWaitView *self = DX_TIME_WAIT_VIEW (object);

  if (self->time_wait != NULL) {
    g_signal_handlers_disconnect_by_data (self->time_wait, self);
    dx_time_wait_stop (self->time_wait);
    g_clear_object (&self->time_wait);
  }
  g_clear_object (&self->chat);
  gtk_widget_dispose_template (GTK_WIDGET (self), DX_TYPE_TIME_WAIT_VIEW);
  G_OBJECT_CLASS (dx_time_wait_view_parent_class)->dispose (object);
}

static void
dx_time_wait_view_class_init (DxTimeWaitViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = dx_time_wait_view_dispose;
  widget_class->map = dx_time_wait_view_map;
  widget_class->unmap = dx_time_wait_view_unmap;
  dx_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/duplex/Duplex/dx-time-wait-view.ui");
  gtk_widget_class_bind_template_child (widget_class, DxTimeWaitView, box);
  gtk_widget_class_bind_template_child (widget_class, DxTimeWaitView, closed_value);
  gtk_widget_class_bind_template_child (widget_class, DxTimeWaitView, open_value);
  gtk_widget_class_bind_template_child (widget_class, DxTimeWaitView, client_value);
  gtk_widget_class_bind_template_child (widget_class, DxTimeWaitView, server_value);
  gtk_widget_class_bind_template_child (widget_class, DxTimeWaitView, explanation);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
dx_time_wait_view_init (DxTimeWaitView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
