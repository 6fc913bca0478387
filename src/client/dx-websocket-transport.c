#include "dx-config.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>

#include "protocol/names.h"

#include "dx-websocket-transport.h"

struct _DxWebSocketTransport {
  DxSocketTransport parent_instance;
  SoupSession *session;
  SoupWebsocketConnection *ws;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (DxWebSocketTransport, dx_websocket_transport, DX_TYPE_SOCKET_TRANSPORT)

guint
dx_websocket_frame_overhead (guint64 len, gboolean masked)
{
  guint header = len < 126 ? 2 : len < 65536 ? 4 : 10;
  return header + (masked ? 4 : 0);
}

static DxStats *
stats_of (DxWebSocketTransport *self)
{
  return dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (self));
}

static void
message_cb (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  DxWebSocketTransport *self = data;
  gsize len = 0;
  const char *json = g_bytes_get_data (message, &len);

  /* libsoup hands us assembled messages; count one unfragmented frame. */
  dx_stats_add_bytes (stats_of (self), 0, len + dx_websocket_frame_overhead (len, FALSE));
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  dx_socket_transport_received (DX_SOCKET_TRANSPORT (self), json, len);
}

static void
closed_cb (SoupWebsocketConnection *ws, gpointer data)
{
  DxWebSocketTransport *self = data;
  g_autofree char *why =
      g_strdup_printf (_ ("WebSocket closed (%u)"), soup_websocket_connection_get_close_code (ws));

  dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
}

static void
connected_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  DxWebSocketTransport *self = data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  SoupWebsocketConnection *ws =
      soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  SoupMessageMetrics *m = msg != NULL ? soup_message_get_metrics (msg) : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  /* The upgrade is one HTTP request: count it and its headers. */
  dx_stats_add_request (stats_of (self));
  if (m != NULL)
    dx_stats_add_bytes (stats_of (self), soup_message_metrics_get_request_header_bytes_sent (m),
                        soup_message_metrics_get_response_header_bytes_received (m));
  if (ws == NULL) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), error->message);
    goto out;
  }
  self->ws = ws;
  /* Our own pings decide liveness; libsoup's keepalive would only add
   * bytes we would have to guess. */
  soup_websocket_connection_set_max_incoming_payload_size (ws, 64 * 1024);
  g_signal_connect_object (ws, "message", G_CALLBACK (message_cb), self, 0);
  g_signal_connect_object (ws, "closed", G_CALLBACK (closed_cb), self, 0);
  dx_socket_transport_opened (DX_SOCKET_TRANSPORT (self));
out:
  g_object_unref (self);
}

static void
network_event_cb (SoupMessage *msg, GSocketClientEvent event, GIOStream *connection, gpointer data)
{
  if (event == G_SOCKET_CLIENT_CONNECTED)
    dx_stats_track_connection (stats_of (data), G_OBJECT (connection));
}

static void
dx_websocket_transport_start (DxBaseTransport *base)
{
  DxWebSocketTransport *self = DX_WEBSOCKET_TRANSPORT (base);
  const char *server = dx_base_transport_get_server_url (base);
  g_autofree char *url = g_strconcat (server, "/api/v1/ws", NULL);
  g_autoptr (SoupMessage) msg = NULL;
  const char *protocols[] = { DX_WS_SUBPROTOCOL, NULL };

  /* libsoup accepts http(s):// for WebSocket URLs and does the upgrade. */
  msg = soup_message_new ("GET", url);
  if (msg == NULL) {
    dx_base_transport_failed (base, _ ("Invalid server address"));
    return;
  }
  soup_message_add_flags (msg, SOUP_MESSAGE_COLLECT_METRICS);
  g_signal_connect_object (msg, "network-event", G_CALLBACK (network_event_cb), self, 0);
  self->cancellable = g_cancellable_new ();
  soup_session_websocket_connect_async (self->session, msg, NULL, (char **) protocols,
                                        G_PRIORITY_DEFAULT, self->cancellable, connected_cb,
                                        g_object_ref (self));
}

static void
dx_websocket_transport_write_object (DxSocketTransport *sock, const char *json, gsize len)
{
  DxWebSocketTransport *self = DX_WEBSOCKET_TRANSPORT (sock);

  if (self->ws == NULL
      || soup_websocket_connection_get_state (self->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return; /* the outbox keeps sends; they go again after the reconnect */
  dx_stats_add_bytes (stats_of (self), len + dx_websocket_frame_overhead (len, TRUE), 0);
  soup_websocket_connection_send_text (self->ws, json);
}

static void
dx_websocket_transport_close_pipe (DxSocketTransport *sock)
{
  DxWebSocketTransport *self = DX_WEBSOCKET_TRANSPORT (sock);

  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  if (self->ws != NULL) {
    g_signal_handlers_disconnect_by_data (self->ws, self);
    if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_clear_object (&self->ws);
  }
}

static void
dx_websocket_transport_finalize (GObject *object)
{
  g_clear_object (&DX_WEBSOCKET_TRANSPORT (object)->session);
  G_OBJECT_CLASS (dx_websocket_transport_parent_class)->finalize (object);
}

static void
dx_websocket_transport_class_init (DxWebSocketTransportClass *klass)
{
  DxBaseTransportClass *base_class = DX_BASE_TRANSPORT_CLASS (klass);
  DxSocketTransportClass *sock_class = DX_SOCKET_TRANSPORT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = dx_websocket_transport_finalize;
  base_class->mode = DX_MODE_WEBSOCKET;
  base_class->start = dx_websocket_transport_start;
  sock_class->write_object = dx_websocket_transport_write_object;
  sock_class->close_pipe = dx_websocket_transport_close_pipe;
}

static void
dx_websocket_transport_init (DxWebSocketTransport *self)
{
  self->session = soup_session_new_with_options ("user-agent", "duplex/" DX_VERSION, NULL);
}
