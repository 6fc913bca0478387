#include "dx-config.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>

#include "protocol/message.h"
#include "protocol/ndjson.h"

#include "dx-stream-writer.h"
#include "dx-tcp-transport.h"
#include "dx-tls-trust.h"

#define DX_TCP_READ_SIZE 16384

struct _DxTcpTransport {
  DxSocketTransport parent_instance;
  SoupSession *api; /* only for discovering the port: not counted */
  GCancellable *cancellable;
  GSocketConnection *conn;
  dx_ndjson splitter;
  gboolean splitter_ready;
  DxStreamWriter *writer;
  char *tcp_address; /* "host:port" to use instead of the server's TCP port */
};

G_DEFINE_FINAL_TYPE (DxTcpTransport, dx_tcp_transport, DX_TYPE_SOCKET_TRANSPORT)

enum { PROP_0, PROP_TCP_ADDRESS, N_PROPS };
static GParamSpec *props[N_PROPS];

static DxStats *
stats_of (DxTcpTransport *self)
{
  return dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (self));
}

/* One NDJSON line for the inspector: the JSON, and its one byte of
 * framing (the newline). */
static void
log_line (DxTcpTransport *self, DxWireDirection dir, const char *json, gsize len)
{
  g_autofree char *text = NULL;

  if (!dx_base_transport_logs_wire (DX_BASE_TRANSPORT (self)))
    return;
  text = g_utf8_make_valid (json, (gssize) len);
  /* The line is its own summary; the 1 byte of framing is the newline. */
  dx_base_transport_log_wire (DX_BASE_TRANSPORT (self), DX_WIRE_NDJSON_LINE, dir, text, text, 1,
                              len, -1);
}

static void
dx_tcp_transport_write_object (DxSocketTransport *sock, const char *json, gsize len)
{
  DxTcpTransport *self = DX_TCP_TRANSPORT (sock);

  if (self->conn == NULL)
    return;
  dx_stats_add_bytes (stats_of (self), len + 1, 0);
  log_line (self, DX_WIRE_SENT, json, len);
  dx_stream_writer_append (self->writer, json, len);
  dx_stream_writer_append (self->writer, "\n", 1);
  dx_stream_writer_flush (self->writer);
}

static void read_more (DxTcpTransport *self);

static void
read_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxTcpTransport *self = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes =
      g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  gsize len = 0;
  const char *p;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->conn == NULL)
    goto out;
  if (error != NULL || bytes == NULL || g_bytes_get_size (bytes) == 0) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self),
                              error != NULL ? error->message
                                            : _ ("The server closed the connection"));
    goto out;
  }
  p = g_bytes_get_data (bytes, &len);
  dx_stats_add_bytes (stats_of (self), 0, len);
  while (len > 0 && self->conn != NULL) {
    size_t used = 0, line_len = 0;
    const char *line = NULL;
    dx_ndjson_event ev = dx_ndjson_next (&self->splitter, p, len, &used, &line, &line_len);
    p += used;
    len -= used;
    if (ev == DX_NDJSON_LINE) {
      log_line (self, DX_WIRE_RECEIVED, line, line_len);
      dx_socket_transport_received (DX_SOCKET_TRANSPORT (self), line, line_len);
    } else if (ev == DX_NDJSON_TOO_LARGE)
      dx_base_transport_report_error (DX_BASE_TRANSPORT (self),
                                      _ ("The server sent a line that is too long"));
    else if (ev == DX_NDJSON_ERROR) {
      dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("Out of memory"));
      goto out;
    }
  }
  if (self->conn != NULL)
    read_more (self);
out:
  g_object_unref (self);
}

static void
read_more (DxTcpTransport *self)
{
  GInputStream *is = g_io_stream_get_input_stream (G_IO_STREAM (self->conn));

  g_input_stream_read_bytes_async (is, DX_TCP_READ_SIZE, G_PRIORITY_DEFAULT, self->cancellable,
                                   read_done, g_object_ref (self));
}

static void
connected_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  DxTcpTransport *self = data;
  GSocketConnection *conn =
      dx_base_transport_connect_finish (DX_BASE_TRANSPORT (self), source, result);

  if (conn == NULL)
    goto out;
  self->conn = conn;
  dx_stream_writer_attach (self->writer, g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                           self->cancellable);
  /* A server line may be longer than the 16 KiB a client may send: a
   * 4096-byte text of control characters encodes to ~25 KiB. */
  dx_ndjson_init (&self->splitter, DX_MSG_ENCODED_MAX);
  self->splitter_ready = TRUE;
  read_more (self);
  dx_socket_transport_opened (DX_SOCKET_TRANSPORT (self));
out:
  g_object_unref (self);
}

static void
info_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxTcpTransport *self = data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_autoptr (GSocketClient) client = NULL;
  g_autoptr (GUri) uri = NULL;
  dx_info info;
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  if (error != NULL || soup_message_get_status (msg) != SOUP_STATUS_OK || json == NULL
      || !dx_decode_info (json, len, &info, NULL) || info.tcp_port == 0) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self),
                              error != NULL ? error->message
                                            : _ ("The server did not say its TCP port"));
    goto out;
  }
  uri = g_uri_parse (dx_base_transport_get_server_url (DX_BASE_TRANSPORT (self)), G_URI_FLAGS_NONE,
                     NULL);
  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, 10);
  /* An https:// server speaks TLS on its raw TCP port too (docs/protocol.md §9). */
  g_socket_client_set_tls (client, g_strcmp0 (g_uri_get_scheme (uri), "https") == 0);
  dx_tls_trust_watch_client (dx_tls_trust_get_default (), client);
  g_socket_client_connect_to_host_async (client, g_uri_get_host (uri), info.tcp_port,
                                         self->cancellable, connected_cb, g_object_ref (self));
out:
  g_object_unref (self);
}

static void
dx_tcp_transport_start (DxBaseTransport *base)
{
  DxTcpTransport *self = DX_TCP_TRANSPORT (base);
  g_autofree char *url =
      g_strconcat (dx_base_transport_get_server_url (base), "/api/v1/info", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);

  if (msg == NULL) {
    dx_base_transport_failed (base, _ ("Invalid server address"));
    return;
  }
  self->cancellable = g_cancellable_new ();
  if (self->tcp_address != NULL) {
    /* A relay stands in for the server's TCP port: no need to ask it. */
    g_autoptr (GSocketClient) client = g_socket_client_new ();
    g_socket_client_set_timeout (client, 10);
    g_socket_client_connect_to_host_async (client, self->tcp_address, 0, self->cancellable,
                                           connected_cb, g_object_ref (self));
    return;
  }
  soup_session_send_and_read_async (self->api, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    info_done, g_object_ref (self));
}

static void
dx_tcp_transport_close_pipe (DxSocketTransport *sock)
{
  DxTcpTransport *self = DX_TCP_TRANSPORT (sock);

  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  if (self->conn != NULL) {
    g_io_stream_close (G_IO_STREAM (self->conn), NULL, NULL);
    g_clear_object (&self->conn);
  }
  if (self->splitter_ready) {
    dx_ndjson_free (&self->splitter);
    self->splitter_ready = FALSE;
  }
  /* Unsent bytes belonged to that connection; the outbox resends. */
  dx_stream_writer_reset (self->writer);
  soup_session_abort (self->api);
}

static void
dx_tcp_transport_finalize (GObject *object)
{
  DxTcpTransport *self = DX_TCP_TRANSPORT (object);

  g_clear_object (&self->api);
  dx_stream_writer_free (self->writer);
  g_free (self->tcp_address);
  G_OBJECT_CLASS (dx_tcp_transport_parent_class)->finalize (object);
}

static void
dx_tcp_transport_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  DxTcpTransport *self = DX_TCP_TRANSPORT (object);

  switch (prop_id) {
  case PROP_TCP_ADDRESS:
    g_free (self->tcp_address);
    self->tcp_address = g_value_dup_string (value);
    break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_tcp_transport_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id) {
  case PROP_TCP_ADDRESS: g_value_set_string (value, DX_TCP_TRANSPORT (object)->tcp_address); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
dx_tcp_transport_class_init (DxTcpTransportClass *klass)
{
  DxBaseTransportClass *base_class = DX_BASE_TRANSPORT_CLASS (klass);
  DxSocketTransportClass *sock_class = DX_SOCKET_TRANSPORT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = dx_tcp_transport_finalize;
  G_OBJECT_CLASS (klass)->set_property = dx_tcp_transport_set_property;
  G_OBJECT_CLASS (klass)->get_property = dx_tcp_transport_get_property;
  base_class->mode = DX_MODE_TCP;
  base_class->start = dx_tcp_transport_start;
  sock_class->write_object = dx_tcp_transport_write_object;
  sock_class->close_pipe = dx_tcp_transport_close_pipe;

  /* "host:port" of a stand-in for the server's TCP port (the impairment
   * relay); NULL: the server's host and the port /api/v1/info gives. */
  props[PROP_TCP_ADDRESS] = g_param_spec_string ("tcp-address", NULL, NULL, NULL,
                                                 G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (G_OBJECT_CLASS (klass), N_PROPS, props);
}

static void
dx_tcp_transport_init (DxTcpTransport *self)
{
  self->api =
      soup_session_new_with_options ("user-agent", "duplex/" DX_VERSION, "timeout", 10, NULL);
  dx_tls_trust_watch_session (dx_tls_trust_get_default (), self->api);
  self->writer = dx_stream_writer_new (DX_BASE_TRANSPORT (self));
}
