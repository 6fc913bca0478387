#include "dx-config.h"

#include <glib/gi18n.h>

#include "protocol/http.h"
#include "protocol/names.h"
#include "protocol/websocket.h"

#include "dx-random.h"
#include "dx-server-address.h"
#include "dx-stream-writer.h"
#include "dx-websocket-transport.h"

#define DX_WS_READ_SIZE 16384
/* Largest message accepted from the server (what libsoup allowed before). */
#define DX_WS_MAX_INCOMING (64 * 1024)
/* Payload bytes of a frame the inspector shows. */
#define DX_WS_PREVIEW_MAX 2048

struct _DxWebSocketTransport {
  DxSocketTransport parent_instance;
  GCancellable *cancellable;
  GSocketConnection *conn;
  DxStreamWriter *writer;
  gboolean close_sent;
  /* opening handshake */
  dx_http_parser *head;   /* until the 101 is in; NULL after */
  GByteArray *head_bytes; /* the response head as received, for the inspector */
  char expected_accept[DX_WS_ACCEPT_LEN + 1];
  gint64 upgrade_sent_us;
  dx_ws_decoder *decoder;
  /* Frame boundaries of the incoming stream, for the inspector (the
   * decoder reports assembled messages, not frames). */
  guint8 scan_hdr[DX_WS_MAX_HEADER];
  gsize scan_hdr_len;
  dx_ws_frame_info scan_frame;
  guint64 scan_left; /* payload bytes of the current frame still to come */
  gboolean scan_in_payload;
  GString *scan_preview;
};

G_DEFINE_FINAL_TYPE (DxWebSocketTransport, dx_websocket_transport, DX_TYPE_SOCKET_TRANSPORT)

static DxStats *
stats_of (DxWebSocketTransport *self)
{
  return dx_base_transport_get_stats_object (DX_BASE_TRANSPORT (self));
}

static const char *
opcode_name (dx_ws_opcode op)
{
  switch (op) {
  case DX_WS_OP_CONTINUATION: return "continuation";
  case DX_WS_OP_TEXT: return "text";
  case DX_WS_OP_BINARY: return "binary";
  case DX_WS_OP_CLOSE: return "close";
  case DX_WS_OP_PING: return "ping";
  case DX_WS_OP_PONG: return "pong";
  default: return "?";
  }
}

/* One frame for the inspector: its header fields, and the payload (text
 * as is; a close frame's code and reason). */
static void
log_frame (DxWebSocketTransport *self, DxWireDirection dir, const dx_ws_frame_info *f,
           const guint8 *payload, gsize preview_len)
{
  g_autofree char *summary = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *shown = NULL;

  if (!dx_base_transport_logs_wire (DX_BASE_TRANSPORT (self)))
    return;
  if (f->opcode == DX_WS_OP_CLOSE && preview_len >= 2)
    shown = g_strdup_printf ("%u %.*s", (unsigned) payload[0] << 8 | payload[1],
                             (int) (preview_len - 2), payload + 2);
  else if (f->opcode != DX_WS_OP_BINARY)
    shown = g_utf8_make_valid ((const char *) payload, (gssize) preview_len);
  summary = g_strdup_printf ("%s%s%s %s", opcode_name (f->opcode), f->fin ? " FIN" : "",
                             f->masked ? " MASK" : "", shown != NULL ? shown : "");
  detail =
      g_strdup_printf ("opcode=%s (0x%x) FIN=%d MASK=%d payload=%" G_GUINT64_FORMAT
                       " B header=%" G_GSIZE_FORMAT " B\n%s%s",
                       opcode_name (f->opcode), (unsigned) f->opcode, f->fin ? 1 : 0,
                       f->masked ? 1 : 0, f->payload_len, f->header_len, shown != NULL ? shown : "",
                       preview_len < f->payload_len && f->opcode != DX_WS_OP_BINARY ? "…" : "");
  dx_base_transport_log_wire (DX_BASE_TRANSPORT (self), DX_WIRE_WS_FRAME, dir, summary, detail,
                              f->header_len, f->payload_len, -1);
}

/* ---- writing ---- */

/* Encode one client frame (masked with a fresh key from dx-random.h, RFC 6455 §5.3)
 * into b; bytes are counted when they are queued for the socket. FALSE if it
 * cannot be encoded or the system gave no key. */
static gboolean
encode_frame (DxWebSocketTransport *self, dx_buffer *b, dx_ws_opcode op, const void *payload,
              gsize len, unsigned close_code)
{
  guint8 mask[4];
  dx_ws_frame_info f = { .fin = TRUE, .opcode = op, .masked = TRUE, .payload_len = len };
  gboolean ok;

  /* Masking protects proxies from poisoning only if whoever chooses the
   * payload cannot predict the key (RFC 6455 §10.3). */
  if (!dx_random_fill (mask, sizeof mask))
    return FALSE;
  if (op == DX_WS_OP_CLOSE)
    ok = dx_ws_encode_close (b, close_code, payload, len, mask);
  else
    ok = dx_ws_encode_frame (b, TRUE, op, payload, len, mask);
  if (!ok)
    return FALSE;
  if (op == DX_WS_OP_CLOSE) {
    guint8 code_and_reason[DX_WS_MAX_CONTROL_PAYLOAD];
    f.payload_len = close_code != 0 ? len + 2 : 0;
    code_and_reason[0] = (guint8) (close_code >> 8);
    code_and_reason[1] = (guint8) close_code;
    if (len > 0) /* a close without a reason has no payload pointer */
      memcpy (code_and_reason + 2, payload, MIN (len, sizeof code_and_reason - 2));
    f.header_len = b->len - f.payload_len;
    log_frame (self, DX_WIRE_SENT, &f, code_and_reason, f.payload_len);
  } else {
    f.header_len = b->len - len;
    log_frame (self, DX_WIRE_SENT, &f, payload, MIN (len, DX_WS_PREVIEW_MAX));
  }
  return TRUE;
}

static void
queue_frame (DxWebSocketTransport *self, dx_ws_opcode op, const void *payload, gsize len)
{
  dx_buffer b;

  dx_buffer_init (&b, len + DX_WS_MAX_HEADER);
  if (encode_frame (self, &b, op, payload, len, 0)) {
    dx_stats_add_bytes (stats_of (self), b.len, 0);
    dx_stream_writer_append (self->writer, b.data, b.len);
    dx_stream_writer_flush (self->writer);
  }
  dx_buffer_free (&b);
}

/* Say goodbye with a close frame, now or never: it is written without
 * blocking, and counted only as far as the socket took it (the connection
 * is about to close; nothing waits for a slow peer). */
static void
send_close_now (DxWebSocketTransport *self, unsigned code, const char *reason)
{
  GOutputStream *os;
  dx_buffer b;
  gssize n;

  if (self->conn == NULL || self->decoder == NULL || self->close_sent
      || !dx_stream_writer_is_idle (self->writer))
    return;
  self->close_sent = TRUE;
  os = g_io_stream_get_output_stream (G_IO_STREAM (self->conn));
  dx_buffer_init (&b, 256);
  if (encode_frame (self, &b, DX_WS_OP_CLOSE, reason, reason != NULL ? strlen (reason) : 0, code)
      && G_IS_POLLABLE_OUTPUT_STREAM (os)) {
    n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (os), b.data, b.len,
                                                    NULL, NULL);
    if (n > 0)
      dx_stats_add_bytes (stats_of (self), (guint64) n, 0);
  }
  dx_buffer_free (&b);
}

/* ---- reading ---- */

/* Follow frame boundaries in the incoming bytes and log each frame once
 * its payload is complete. */
static void
scan_frames (DxWebSocketTransport *self, const guint8 *p, gsize len)
{
  while (len > 0) {
    if (!self->scan_in_payload) {
      gsize take = MIN (len, sizeof self->scan_hdr - self->scan_hdr_len);
      gsize had = self->scan_hdr_len;
      gsize hdr;
      memcpy (self->scan_hdr + had, p, take);
      self->scan_hdr_len += take;
      hdr = dx_ws_peek_frame_header (self->scan_hdr, self->scan_hdr_len, &self->scan_frame);
      if (hdr == 0) {
        p += take;
        len -= take;
        continue;
      }
      p += hdr - had;
      len -= hdr - had;
      self->scan_hdr_len = 0;
      self->scan_in_payload = TRUE;
      self->scan_left = self->scan_frame.payload_len;
      g_string_truncate (self->scan_preview, 0);
    }
    if (self->scan_left > 0 && len > 0) {
      gsize take = (gsize) MIN ((guint64) len, self->scan_left);
      if (self->scan_preview->len < DX_WS_PREVIEW_MAX)
        g_string_append_len (self->scan_preview, (const char *) p,
                             (gssize) MIN (take, DX_WS_PREVIEW_MAX - self->scan_preview->len));
      p += take;
      len -= take;
      self->scan_left -= take;
    }
    if (self->scan_left == 0) {
      self->scan_in_payload = FALSE;
      log_frame (self, DX_WIRE_RECEIVED, &self->scan_frame,
                 (const guint8 *) self->scan_preview->str, self->scan_preview->len);
    }
  }
}

static gboolean
still_open (DxWebSocketTransport *self)
{
  return self->conn != NULL && dx_base_transport_is_running (DX_BASE_TRANSPORT (self));
}

/* Bytes after the handshake: frames. FALSE once the connection is done. */
static gboolean
feed_frames (DxWebSocketTransport *self, const guint8 *p, gsize len)
{
  scan_frames (self, p, len);
  while (len > 0 && still_open (self)) {
    gsize used = 0;
    dx_ws_status st = dx_ws_decoder_feed (self->decoder, p, len, &used);
    const dx_ws_event *ev = dx_ws_decoder_event (self->decoder);
    p += used;
    len -= used;
    switch (st) {
    case DX_WS_MESSAGE:
      /* Only text carries §5 objects; anything else is ignored. */
      if (ev->opcode == DX_WS_OP_TEXT)
        dx_socket_transport_received (DX_SOCKET_TRANSPORT (self), (const char *) ev->data, ev->len);
      break;
    case DX_WS_PING: queue_frame (self, DX_WS_OP_PONG, ev->data, ev->len); break;
    case DX_WS_CLOSE: {
      g_autofree char *why = g_strdup_printf (_ ("WebSocket closed (%u)"), ev->close_code);
      /* Echo the close (RFC 6455 §5.5.1), then the connection ends. */
      send_close_now (self, ev->close_code == DX_WS_CLOSE_NO_STATUS ? 0 : ev->close_code, NULL);
      dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
      return FALSE;
    }
    case DX_WS_ERROR: {
      g_autofree char *why =
          g_strdup_printf (_ ("WebSocket closed (%u)"), dx_ws_decoder_close_code (self->decoder));
      send_close_now (self, dx_ws_decoder_close_code (self->decoder),
                      dx_ws_decoder_error_message (self->decoder));
      dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
      return FALSE;
    }
    case DX_WS_PONG:
    case DX_WS_NEED_MORE:
    case DX_WS_FINISHED:
    default: break;
    }
  }
  return still_open (self);
}

static void
log_upgrade_response (DxWebSocketTransport *self, const dx_http_message *resp)
{
  g_autofree char *head = NULL;
  g_autofree char *summary = NULL;

  if (!dx_base_transport_logs_wire (DX_BASE_TRANSPORT (self)))
    return;
  head = g_strndup ((const char *) self->head_bytes->data, self->head_bytes->len);
  summary = g_strdup_printf ("HTTP/1.%d %d %s", resp->version_minor, resp->status, resp->reason);
  dx_base_transport_log_wire (DX_BASE_TRANSPORT (self), DX_WIRE_HTTP_RESPONSE, DX_WIRE_RECEIVED,
                              summary, head, self->head_bytes->len,
                              resp->has_content_length ? resp->content_length : 0,
                              g_get_real_time () - self->upgrade_sent_us);
}

/* Bytes before the handshake is done: the response head. Returns how
 * many bytes it used, or -1 once the connection is done. */
static gssize
feed_head (DxWebSocketTransport *self, const guint8 *p, gsize len)
{
  gsize used = 0;
  dx_http_status st = dx_http_parser_feed (self->head, (const char *) p, len, &used);
  const dx_http_message *resp = dx_http_parser_message (self->head);
  const char *why = NULL;

  g_byte_array_append (self->head_bytes, p, (guint) used);
  if (st == DX_HTTP_ERROR) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), dx_http_parser_error_message (self->head));
    return -1;
  }
  if (st == DX_HTTP_NEED_MORE)
    return (gssize) used;
  if (resp->status != 101) {
    /* A refusal (400, 426, 503...): say what the server said. */
    g_autofree char *text =
        g_strdup_printf (_ ("Server said %u %s"), (unsigned) resp->status, resp->reason);
    log_upgrade_response (self, resp);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), text);
    return -1;
  }
  log_upgrade_response (self, resp);
  if (!dx_ws_check_server_handshake (resp, self->expected_accept, DX_WS_SUBPROTOCOL, &why)) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
    return -1;
  }
  g_clear_pointer (&self->head, dx_http_parser_free);
  self->decoder = dx_ws_decoder_new (DX_WS_ROLE_CLIENT, DX_WS_MAX_INCOMING);
  if (self->decoder == NULL) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("Out of memory"));
    return -1;
  }
  dx_socket_transport_opened (DX_SOCKET_TRANSPORT (self));
  return still_open (self) ? (gssize) used : -1;
}

static void read_more (DxWebSocketTransport *self);

static void
read_done (GObject *source, GAsyncResult *result, gpointer data)
{
  DxWebSocketTransport *self = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes =
      g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  gsize len = 0;
  const guint8 *p;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->conn == NULL)
    goto out;
  if (error != NULL) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), error->message);
    goto out;
  }
  p = g_bytes_get_data (bytes, &len);
  if (len == 0) {
    /* The TCP connection ended without a close frame. */
    g_autofree char *why = g_strdup_printf (_ ("WebSocket closed (%u)"), DX_WS_CLOSE_ABNORMAL);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), why);
    goto out;
  }
  dx_stats_add_bytes (stats_of (self), 0, len);
  if (self->head != NULL) {
    gssize used = feed_head (self, p, len);
    if (used < 0)
      goto out;
    p += used;
    len -= (gsize) used;
  }
  if (self->decoder != NULL && len > 0 && !feed_frames (self, p, len))
    goto out;
  if (still_open (self))
    read_more (self);
out:
  g_object_unref (self);
}

static void
read_more (DxWebSocketTransport *self)
{
  GInputStream *is = g_io_stream_get_input_stream (G_IO_STREAM (self->conn));

  g_input_stream_read_bytes_async (is, DX_WS_READ_SIZE, G_PRIORITY_DEFAULT, self->cancellable,
                                   read_done, g_object_ref (self));
}

/* ---- opening ---- */

static void
send_upgrade (DxWebSocketTransport *self)
{
  const char *url = dx_base_transport_get_server_url (DX_BASE_TRANSPORT (self));
  g_autofree char *host = dx_server_host_field (url);
  g_autofree char *target = dx_server_target (url, "/api/v1/ws");
  const dx_http_header extra[] = { { "User-Agent", "duplex/" DX_VERSION } };
  guint8 nonce[16];
  dx_buffer b;

  if (!dx_random_fill (nonce, sizeof nonce)) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("The system gave no random numbers"));
    return;
  }
  dx_buffer_init (&b, 4096);
  if (!dx_ws_write_client_handshake (&b, host, target, nonce, DX_WS_SUBPROTOCOL, extra,
                                     G_N_ELEMENTS (extra), self->expected_accept)) {
    dx_buffer_free (&b);
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("Invalid server address"));
    return;
  }
  /* The upgrade is one HTTP request: count it and its head. */
  dx_stats_add_request (stats_of (self));
  dx_stats_add_bytes (stats_of (self), b.len, 0);
  if (dx_base_transport_logs_wire (DX_BASE_TRANSPORT (self))) {
    g_autofree char *head = g_strndup (b.data, b.len);
    g_autofree char *summary = g_strdup_printf ("GET %s HTTP/1.1", target);
    dx_base_transport_log_wire (DX_BASE_TRANSPORT (self), DX_WIRE_HTTP_REQUEST, DX_WIRE_SENT,
                                summary, head, b.len, 0, -1);
  }
  self->upgrade_sent_us = g_get_real_time ();
  dx_stream_writer_append (self->writer, b.data, b.len);
  dx_stream_writer_flush (self->writer);
  dx_buffer_free (&b);
}

static void
connected_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  DxWebSocketTransport *self = data;
  GSocketConnection *conn =
      dx_base_transport_connect_finish (DX_BASE_TRANSPORT (self), source, result);

  if (conn == NULL)
    goto out;
  self->conn = conn;
  dx_stream_writer_attach (self->writer, g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                           self->cancellable);
  self->close_sent = FALSE;
  self->head = dx_http_parser_new (DX_HTTP_PARSE_RESPONSE, NULL);
  g_byte_array_set_size (self->head_bytes, 0);
  self->scan_hdr_len = 0;
  self->scan_in_payload = FALSE;
  if (self->head == NULL) {
    dx_base_transport_failed (DX_BASE_TRANSPORT (self), _ ("Out of memory"));
    goto out;
  }
  send_upgrade (self);
  if (still_open (self))
    read_more (self);
out:
  g_object_unref (self);
}

static void
dx_websocket_transport_start (DxBaseTransport *base)
{
  DxWebSocketTransport *self = DX_WEBSOCKET_TRANSPORT (base);

  self->cancellable = g_cancellable_new ();
  if (!dx_server_connect_async (dx_base_transport_get_server_url (base), self->cancellable,
                                connected_cb, g_object_ref (self))) {
    g_object_unref (self);
    dx_base_transport_failed (base, _ ("Invalid server address"));
  }
}

static void
dx_websocket_transport_write_object (DxSocketTransport *sock, const char *json, gsize len)
{
  DxWebSocketTransport *self = DX_WEBSOCKET_TRANSPORT (sock);

  if (self->conn == NULL || self->decoder == NULL || self->close_sent)
    return; /* the outbox keeps sends; they go again after the reconnect */
  queue_frame (self, DX_WS_OP_TEXT, json, len);
}

static void
dx_websocket_transport_close_pipe (DxSocketTransport *sock)
{
  DxWebSocketTransport *self = DX_WEBSOCKET_TRANSPORT (sock);

  /* A normal close, as a browser leaving the page does. */
  send_close_now (self, DX_WS_CLOSE_NORMAL, NULL);
  if (self->cancellable != NULL) {
    g_cancellable_cancel (self->cancellable);
    g_clear_object (&self->cancellable);
  }
  if (self->conn != NULL) {
    g_io_stream_close (G_IO_STREAM (self->conn), NULL, NULL);
    g_clear_object (&self->conn);
  }
  g_clear_pointer (&self->head, dx_http_parser_free);
  g_clear_pointer (&self->decoder, dx_ws_decoder_free);
  /* Unsent bytes belonged to that connection; the outbox resends. */
  dx_stream_writer_reset (self->writer);
}

static void
dx_websocket_transport_finalize (GObject *object)
{
  DxWebSocketTransport *self = DX_WEBSOCKET_TRANSPORT (object);

  dx_stream_writer_free (self->writer);
  g_byte_array_unref (self->head_bytes);
  g_string_free (self->scan_preview, TRUE);
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
  self->writer = dx_stream_writer_new (DX_BASE_TRANSPORT (self));
  self->head_bytes = g_byte_array_new ();
  self->scan_preview = g_string_new (NULL);
}
