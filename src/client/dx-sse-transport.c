#include "dx-config.h"

#include <glib/gi18n.h>

#include "protocol/sse.h"

#include "dx-sse-transport.h"

#define DX_SSE_READ_SIZE 16384

struct _DxSseTransport {
  DxHttpTransport parent_instance;
  GCancellable *cancellable;
  SoupMessage *stream_msg;
  GInputStream *stream;
  dx_sse_parser *parser;
  guint64 body_counted; /* response body bytes already added to the stats */
};

G_DEFINE_FINAL_TYPE (DxSseTransport, dx_sse_transport, DX_TYPE_HTTP_TRANSPORT)

static DxStats *
stats_of (DxSseTransport *self)
{
  return dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (self));
}

/* Count body bytes as they stream: libsoup's metrics include the chunked
 * framing; the decoded count is the floor if metrics lag behind. */
static void
account_body (DxSseTransport *self, gsize decoded)
{
  SoupMessageMetrics *m = soup_message_get_metrics (self->stream_msg);
  guint64 total = m != NULL ? soup_message_metrics_get_response_body_bytes_received (m) : 0;

  total = MAX (total, self->body_counted + decoded);
  dx_stats_add_bytes (stats_of (self), 0, total - self->body_counted);
  self->body_counted = total;
}

static gboolean
handle_event (DxSseTransport *self)
{
  const dx_sse_event *ev = dx_sse_parser_event (self->parser);
  dx_msg m;
  dx_msg_error err;

  if (g_strcmp0 (ev->type, "message") != 0)
    return TRUE; /* other event types are not ours: ignore */
  if (!dx_msg_decode (ev->data, ev->data_len, DX_MSG_FROM_SERVER, &m, &err)
      || m.type != DX_MSG_MESSAGE) {
    g_autofree char *why = g_strdup_printf (_ ("Bad event from the server: %s"), err.message);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
    return FALSE;
  }
  dx_base_transport_deliver (DX_BASE_TRANSPORT (self), &m);
  return dx_base_transport_is_running (DX_BASE_TRANSPORT (self));
}

static void read_more (DxSseTransport *self);

static void
read_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxSseTransport *self = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes =
      g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  gsize len = 0;
  const char *p;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  if (error != NULL || bytes == NULL || g_bytes_get_size (bytes) == 0) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self),
                              error != NULL ? error->message : _ ("The event stream ended"));
    goto out;
  }
  p = g_bytes_get_data (bytes, &len);
  account_body (self, len);
  while (len > 0) {
    size_t used = 0;
    dx_sse_status st = dx_sse_parser_feed (self->parser, p, len, &used);
    p += used;
    len -= used;
    if (st == DX_SSE_ERROR) {
      dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("The event stream is malformed"));
      goto out;
    }
    if (st == DX_SSE_EVENT && !handle_event (self))
      goto out;
  }
  read_more (self);
out:
  g_object_unref (self);
}

static void
read_more (DxSseTransport *self)
{
  g_input_stream_read_bytes_async (self->stream, DX_SSE_READ_SIZE, G_PRIORITY_DEFAULT,
                                   self->cancellable, read_done, g_object_ref (self));
}

static void
stream_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  DxSseTransport *self = data;
  g_autoptr (GError) error = NULL;
  GInputStream *stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  SoupMessageMetrics *m;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  dx_stats_add_request (stats_of (self));
  m = soup_message_get_metrics (self->stream_msg);
  if (m != NULL)
    dx_stats_add_bytes (stats_of (self), soup_message_metrics_get_request_header_bytes_sent (m),
                        soup_message_metrics_get_response_header_bytes_received (m));
  if (error != NULL || soup_message_get_status (self->stream_msg) != SOUP_STATUS_OK) {
    g_autofree char *why = dx_http_transport_describe_failure (self->stream_msg, NULL, error);
    g_clear_object (&stream);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
    goto out;
  }
  self->stream = stream;
  self->body_counted = 0;
  dx_base_transport_connected (DX_BASE_TRANSPORT (self));
  if (dx_base_transport_is_running (DX_BASE_TRANSPORT (self)) && self->stream != NULL)
    read_more (self);
out:
  g_object_unref (self);
}

static void
open_stream (DxSseTransport *self)
{
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);
  guint64 since = dx_base_transport_get_since (base);
  g_autofree char *what = g_strdup_printf ("events?since=%" G_GUINT64_FORMAT, since);
  g_autofree char *path = dx_http_transport_room_path (DX_HTTP_TRANSPORT (self), what);

  g_clear_object (&self->stream_msg);
  self->stream_msg = dx_http_transport_new_message (DX_HTTP_TRANSPORT (self), "GET", path);
  if (self->stream_msg == NULL) {
    dx_base_transport_failed (base, _ ("Invalid server address"));
    return;
  }
  soup_message_headers_replace (soup_message_get_request_headers (self->stream_msg), "Accept",
                                "text/event-stream");
  g_clear_pointer (&self->parser, dx_sse_parser_free);
  self->parser = dx_sse_parser_new (0, 0);
  soup_session_send_async (dx_http_transport_get_session (DX_HTTP_TRANSPORT (self)),
                           self->stream_msg, G_PRIORITY_DEFAULT, self->cancellable, stream_opened,
                           g_object_ref (self));
}

/* The event stream carries no epoch, so ask /api/v1/info first: a resume
 * point from another store must become 0 before the stream opens. */
static void
info_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxSseTransport *self = data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body =
      soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  dx_info info;
  gsize len = 0;
  const char *json = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;
  dx_http_transport_account (DX_HTTP_TRANSPORT (self), msg);
  if (error != NULL || soup_message_get_status (msg) != SOUP_STATUS_OK || json == NULL
      || !dx_decode_info (json, len, &info, NULL)) {
    g_autofree char *why = dx_http_transport_describe_failure (msg, body, error);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
    goto out;
  }
  dx_base_transport_check_epoch (DX_BASE_TRANSPORT (self), info.epoch);
  open_stream (self);
out:
  g_object_unref (self);
}

static void
dx_sse_transport_start (DxBaseTransport *base)
{
  DxSseTransport *self = DX_SSE_TRANSPORT (base);
  g_autoptr (SoupMessage) msg =
      dx_http_transport_new_message (DX_HTTP_TRANSPORT (self), "GET", "/api/v1/info");

  if (msg == NULL) {
    dx_base_transport_failed (base, _ ("Invalid server address"));
    return;
  }
  self->cancellable = g_cancellable_new ();
  soup_session_send_and_read_async (dx_http_transport_get_session (DX_HTTP_TRANSPORT (self)), msg,
                                    G_PRIORITY_DEFAULT, self->cancellable, info_done,
                                    g_object_ref (self));
}

static void
dx_sse_transport_stop (DxBaseTransport *base)
{
  DxSseTransport *self = DX_SSE_TRANSPORT (base);

  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  if (self->stream != NULL) {
    g_input_stream_close (self->stream, NULL, NULL);
    g_clear_object (&self->stream);
  }
  g_clear_object (&self->stream_msg);
  g_clear_pointer (&self->parser, dx_sse_parser_free);
  DX_BASE_TRANSPORT_CLASS (dx_sse_transport_parent_class)->stop (base);
}

static void
dx_sse_transport_class_init (DxSseTransportClass *klass)
{
  DxBaseTransportClass *base_class = DX_BASE_TRANSPORT_CLASS (klass);

  base_class->mode = DX_MODE_SSE;
  base_class->start = dx_sse_transport_start;
  base_class->stop = dx_sse_transport_stop;
}

static void
dx_sse_transport_init (DxSseTransport *self)
{
}
