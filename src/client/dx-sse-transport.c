#include "dx-config.h"

#include <glib/gi18n.h>

#include "protocol/chunked.h"
#include "protocol/http.h"
#include "protocol/sse.h"

#include "dx-server-address.h"
#include "dx-sse-transport.h"

#define DX_SSE_READ_SIZE 16384

/* The event stream is read on a socket of our own, its HTTP spoken by the
 * protocol module (request head, response parser, chunked decoder), so
 * every byte is counted as it crosses the socket — chunk framing included,
 * at once (libsoup counts a chunk's closing CRLF only at its next read).
 * /api/v1/info and the sends stay on the HTTP session. */
struct _DxSseTransport {
  DxHttpTransport parent_instance;
  GCancellable *cancellable;
  GSocketConnection *conn;
  GBytes *request; /* being written */
  gint64 request_sent_us;
  dx_http_parser *head;   /* until the response head is in; NULL after */
  GByteArray *head_bytes; /* the response head as received (inspector) */
  gboolean chunked;
  dx_chunked_decoder chunk;
  dx_buffer decoded;
  dx_sse_parser *parser;
  guint64 event_bytes; /* stream bytes of the event being parsed (inspector) */
};

G_DEFINE_FINAL_TYPE (DxSseTransport, dx_sse_transport, DX_TYPE_HTTP_TRANSPORT)

static DxStats *
stats_of (DxSseTransport *self)
{
  return dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (self));
}

static gboolean
still_open (DxSseTransport *self)
{
  return self->conn != NULL && dx_base_transport_is_running (DX_BASE_TRANSPORT (self));
}

/* One event for the inspector: its data is the payload; field names,
 * "id:", colons and line ends are its framing. (Chunk framing around it is
 * counted in the totals, not per event.) */
static void
log_event (DxSseTransport *self, const dx_sse_event *ev)
{
  g_autofree char *summary = NULL;
  g_autofree char *detail = NULL;
  guint64 framing = self->event_bytes > ev->data_len ? self->event_bytes - ev->data_len : 0;

  if (!dx_base_transport_logs_wire (DX_BASE_TRANSPORT (self)))
    return;
  detail = g_utf8_make_valid (ev->data, (gssize) ev->data_len);
  summary = g_strdup_printf ("event: %s%s%s %s", ev->type, ev->last_id[0] != '\0' ? " id: " : "",
                             ev->last_id, detail);
  dx_base_transport_log_wire (DX_BASE_TRANSPORT (self), DX_WIRE_SSE_EVENT, DX_WIRE_RECEIVED,
                              summary, detail, framing, ev->data_len, -1);
}

static void
log_comment (DxSseTransport *self)
{
  g_autofree char *text = g_strdup (dx_sse_parser_comment (self->parser));
  g_autofree char *summary = g_strdup_printf (": %s", g_strstrip (text));

  /* A comment (the server's keep-alive): all of it is framing. */
  dx_base_transport_log_wire (DX_BASE_TRANSPORT (self), DX_WIRE_SSE_EVENT, DX_WIRE_RECEIVED,
                              summary, NULL, self->event_bytes, 0, -1);
}

static gboolean
handle_event (DxSseTransport *self)
{
  const dx_sse_event *ev = dx_sse_parser_event (self->parser);
  dx_msg m;
  dx_msg_error err;

  log_event (self, ev);
  if (g_strcmp0 (ev->type, "message") != 0)
    return TRUE; /* other event types are not ours: ignore */
  if (!dx_msg_decode (ev->data, ev->data_len, DX_MSG_FROM_SERVER, &m, &err)
      || m.type != DX_MSG_MESSAGE) {
    g_autofree char *why = g_strdup_printf (_ ("Bad event from the server: %s"), err.message);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
    return FALSE;
  }
  dx_base_transport_deliver (DX_BASE_TRANSPORT (self), &m);
  return still_open (self);
}

/* Decoded stream bytes: events. FALSE once the stream is done. */
static gboolean
feed_events (DxSseTransport *self, const char *p, gsize len)
{
  while (len > 0) {
    size_t used = 0;
    dx_sse_status st = dx_sse_parser_feed (self->parser, p, len, &used);
    self->event_bytes += used;
    p += used;
    len -= used;
    if (st == DX_SSE_ERROR) {
      dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("The event stream is malformed"));
      return FALSE;
    }
    if (st == DX_SSE_EVENT) {
      gboolean go_on = handle_event (self);
      self->event_bytes = 0;
      if (!go_on)
        return FALSE;
    } else if (st == DX_SSE_COMMENT) {
      log_comment (self);
      self->event_bytes = 0;
    }
  }
  return TRUE;
}

/* Body bytes of the response: chunked (as duplexd sends it) or not. */
static gboolean
feed_body (DxSseTransport *self, const char *p, gsize len)
{
  if (!self->chunked)
    return feed_events (self, p, len);
  while (len > 0 && still_open (self)) {
    size_t used = 0;
    dx_chunked_status st;
    dx_buffer_reset (&self->decoded);
    st = dx_chunked_decoder_feed (&self->chunk, p, len, &used, &self->decoded);
    p += used;
    len -= used;
    if (self->decoded.len > 0 && !feed_events (self, self->decoded.data, self->decoded.len))
      return FALSE;
    if (st == DX_CHUNKED_ERROR) {
      dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("The event stream is malformed"));
      return FALSE;
    }
    if (st == DX_CHUNKED_DONE) {
      dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("The event stream ended"));
      return FALSE;
    }
  }
  return still_open (self);
}

static void
log_response_head (DxSseTransport *self, const dx_http_message *resp)
{
  g_autofree char *head = NULL;
  g_autofree char *summary = NULL;

  if (!dx_base_transport_logs_wire (DX_BASE_TRANSPORT (self)))
    return;
  head = g_strndup ((const char *) self->head_bytes->data, self->head_bytes->len);
  summary = g_strdup_printf ("HTTP/1.%d %d %s", resp->version_minor, resp->status, resp->reason);
  dx_base_transport_log_wire (DX_BASE_TRANSPORT (self), DX_WIRE_HTTP_RESPONSE, DX_WIRE_RECEIVED,
                              summary, head, self->head_bytes->len, 0,
                              g_get_real_time () - self->request_sent_us);
}

/* Bytes before the response head is complete. Returns how many it used,
 * or -1 once the stream is done. */
static gssize
feed_head (DxSseTransport *self, const char *p, gsize len)
{
  gsize used = 0;
  dx_http_status st = dx_http_parser_feed (self->head, p, len, &used);
  const dx_http_message *resp = dx_http_parser_message (self->head);

  if (st == DX_HTTP_ERROR) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), dx_http_parser_error_message (self->head));
    return -1;
  }
  g_byte_array_append (self->head_bytes, (const guint8 *) p, (guint) used);
  if (st == DX_HTTP_NEED_MORE)
    return (gssize) used;
  log_response_head (self, resp);
  if (resp->status != 200 || st == DX_HTTP_DONE) {
    g_autofree char *why =
        g_strdup_printf (_ ("Server said %u %s"), (unsigned) resp->status, resp->reason);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
    return -1;
  }
  /* The head is in (HEADERS): the body is ours to read from here. */
  self->chunked = resp->chunked;
  dx_chunked_decoder_init (&self->chunk, 0);
  g_clear_pointer (&self->head, dx_http_parser_free);
  dx_base_transport_connected (DX_BASE_TRANSPORT (self));
  return still_open (self) ? (gssize) used : -1;
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

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->conn == NULL)
    goto out;
  if (error != NULL || bytes == NULL || g_bytes_get_size (bytes) == 0) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self),
                              error != NULL ? error->message : _ ("The event stream ended"));
    goto out;
  }
  p = g_bytes_get_data (bytes, &len);
  dx_stats_add_bytes (stats_of (self), 0, len);
  if (self->head != NULL) {
    gssize used = feed_head (self, p, len);
    if (used < 0)
      goto out;
    p += used;
    len -= (gsize) used;
  }
  if (len > 0 && !feed_body (self, p, len))
    goto out;
  if (still_open (self))
    read_more (self);
out:
  g_object_unref (self);
}

static void
read_more (DxSseTransport *self)
{
  GInputStream *is = g_io_stream_get_input_stream (G_IO_STREAM (self->conn));

  g_input_stream_read_bytes_async (is, DX_SSE_READ_SIZE, G_PRIORITY_DEFAULT, self->cancellable,
                                   read_done, g_object_ref (self));
}

static void
request_written (GObject *source, GAsyncResult *result, gpointer data)
{
  DxSseTransport *self = data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), error->message);
  g_object_unref (self);
}

/* GET …/events?since=N, written by the protocol module. */
static GBytes *
request_head (DxSseTransport *self)
{
  DxBaseTransport *base = DX_BASE_TRANSPORT (self);
  const char *url = dx_base_transport_get_server_url (base);
  g_autofree char *host = dx_server_host_field (url);
  g_autofree char *what =
      g_strdup_printf ("events?since=%" G_GUINT64_FORMAT, dx_base_transport_get_since (base));
  g_autofree char *path = dx_http_transport_room_path (DX_HTTP_TRANSPORT (self), what);
  g_autofree char *target = dx_server_target (url, path);
  dx_buffer b;
  GBytes *bytes = NULL;

  dx_buffer_init (&b, 4096);
  if (dx_http_write_request_line (&b, "GET", target) && dx_http_write_header (&b, "Host", host)
      && dx_http_write_header (&b, "User-Agent", "duplex/" DX_VERSION)
      && dx_http_write_header (&b, "Accept", "text/event-stream") && dx_http_write_end_headers (&b))
    bytes = g_bytes_new (b.data, b.len);
  dx_buffer_free (&b);
  return bytes;
}

static void
stream_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  DxSseTransport *self = data;
  GSocketConnection *conn =
      dx_base_transport_connect_finish (DX_BASE_TRANSPORT (self), source, result);
  gsize len = 0;
  const char *head;

  if (conn == NULL)
    goto out;
  self->conn = conn;
  g_clear_pointer (&self->request, g_bytes_unref);
  self->request = request_head (self);
  self->head = dx_http_parser_new (DX_HTTP_PARSE_RESPONSE, NULL);
  g_byte_array_set_size (self->head_bytes, 0);
  g_clear_pointer (&self->parser, dx_sse_parser_free);
  self->parser = dx_sse_parser_new (0, 0);
  self->event_bytes = 0;
  if (self->request == NULL || self->head == NULL || self->parser == NULL) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("Out of memory"));
    goto out;
  }
  head = g_bytes_get_data (self->request, &len);
  dx_stats_add_request (stats_of (self));
  dx_stats_add_bytes (stats_of (self), len, 0);
  if (dx_base_transport_logs_wire (DX_BASE_TRANSPORT (self))) {
    g_autofree char *text = g_strndup (head, len);
    g_autofree char *line = g_strndup (head, strcspn (head, "\r"));
    dx_base_transport_log_wire (DX_BASE_TRANSPORT (self), DX_WIRE_HTTP_REQUEST, DX_WIRE_SENT, line,
                                text, len, 0, -1);
  }
  self->request_sent_us = g_get_real_time ();
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (conn)), head, len,
                                   G_PRIORITY_DEFAULT, self->cancellable, request_written,
                                   g_object_ref (self));
  read_more (self);
out:
  g_object_unref (self);
}

static void
open_stream (DxSseTransport *self)
{
  if (!dx_server_connect_async (dx_base_transport_get_server_url (DX_BASE_TRANSPORT (self)),
                                self->cancellable, stream_connected, g_object_ref (self))) {
    g_object_unref (self);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("Invalid server address"));
  }
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
  if (self->conn != NULL) {
    g_io_stream_close (G_IO_STREAM (self->conn), NULL, NULL);
    g_clear_object (&self->conn);
  }
  g_clear_pointer (&self->request, g_bytes_unref);
  g_clear_pointer (&self->head, dx_http_parser_free);
  g_clear_pointer (&self->parser, dx_sse_parser_free);
  DX_BASE_TRANSPORT_CLASS (dx_sse_transport_parent_class)->stop (base);
}

static void
dx_sse_transport_finalize (GObject *object)
{
  DxSseTransport *self = DX_SSE_TRANSPORT (object);

  g_byte_array_unref (self->head_bytes);
  dx_buffer_free (&self->decoded);
  G_OBJECT_CLASS (dx_sse_transport_parent_class)->finalize (object);
}

static void
dx_sse_transport_class_init (DxSseTransportClass *klass)
{
  DxBaseTransportClass *base_class = DX_BASE_TRANSPORT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = dx_sse_transport_finalize;
  base_class->mode = DX_MODE_SSE;
  base_class->start = dx_sse_transport_start;
  base_class->stop = dx_sse_transport_stop;
}

static void
dx_sse_transport_init (DxSseTransport *self)
{
  self->head_bytes = g_byte_array_new ();
  dx_buffer_init (&self->decoded, 0);
}
