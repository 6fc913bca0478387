/* Exact bytes: for a fixed exchange in each mode, the client's byte counts
 * (DxStats: headers, framing, everything) equal what a counting TCP relay
 * between it and duplexd saw cross, in both directions.
 *
 * duplexd listens on 127.0.0.1; the relay on 127.0.0.2, its HTTP side on
 * any port and its raw TCP side on the *same port number* as duplexd's TCP
 * listener, so the port /api/v1/info announces leads the raw TCP transport
 * through the relay too. */
#include <string.h>

#include "dx-base-transport.h"
#include "dx-poll-transport.h"
#include "dx-stats.h"
#include "dx-test-server.h"
#include "dx-transport-factory.h"

#define RELAY_HOST "127.0.0.2"

typedef struct {
  guint64 up;   /* client -> server */
  guint64 down; /* server -> client */
} Counts;

typedef struct {
  guint16 upstream_port;
  Counts *counts;
} RelayTarget;

typedef struct {
  GIOStream *from;
  GIOStream *to;
  guint64 *counter;
  guint8 buf[16384];
} Pump;

static void pump_read (Pump *p);

static void
pump_end (Pump *p)
{
  g_io_stream_close (p->from, NULL, NULL);
  g_io_stream_close (p->to, NULL, NULL);
  g_object_unref (p->from);
  g_object_unref (p->to);
  g_free (p);
}

static void
pump_written (GObject *source, GAsyncResult *result, gpointer data)
{
  Pump *p = data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL)) {
    pump_end (p);
    return;
  }
  pump_read (p);
}

static void
pump_got (GObject *source, GAsyncResult *result, gpointer data)
{
  Pump *p = data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n <= 0) {
    pump_end (p);
    return;
  }
  /* Counted as the relay forwards them: what crossed its socket. */
  *p->counter += (guint64) n;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (p->to), p->buf, (gsize) n,
                                   G_PRIORITY_DEFAULT, NULL, pump_written, p);
}

static void
pump_read (Pump *p)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (p->from), p->buf, sizeof p->buf,
                             G_PRIORITY_DEFAULT, NULL, pump_got, p);
}

static void
pump_start (GIOStream *from, GIOStream *to, guint64 *counter)
{
  Pump *p = g_new0 (Pump, 1);

  p->from = g_object_ref (from);
  p->to = g_object_ref (to);
  p->counter = counter;
  pump_read (p);
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
  RelayTarget *t = data;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) up =
      g_socket_client_connect_to_host (client, "127.0.0.1", t->upstream_port, NULL, NULL);

  if (up == NULL)
    return TRUE; /* the client sees the connection close */
  pump_start (G_IO_STREAM (conn), G_IO_STREAM (up), &t->counts->up);
  pump_start (G_IO_STREAM (up), G_IO_STREAM (conn), &t->counts->down);
  return TRUE;
}

static GSocketService *
relay_new (guint16 port, RelayTarget *t, guint16 *bound)
{
  GSocketService *service = g_socket_service_new ();
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (RELAY_HOST);
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (addr, port);
  g_autoptr (GSocketAddress) effective = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (service), sa,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                                &effective, &error));
  g_assert_no_error (error);
  *bound = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), t);
  g_socket_service_start (service);
  return service;
}

/* ---- the exchange ---- */

typedef struct {
  guint received;
  guint acked;
} Seen;

static void
on_message (DxTransport *t, DxMessage *m, Seen *seen)
{
  seen->received++;
}

static void
on_ack (DxTransport *t, const char *cid, guint64 id, gint64 ts, Seen *seen)
{
  seen->acked++;
}

static gboolean
is_connected (gpointer data)
{
  return dx_transport_get_state (data) == DX_TRANSPORT_CONNECTED;
}

typedef struct {
  Seen *seen;
  guint received, acked;
} Want;

static gboolean
reached (gpointer data)
{
  Want *w = data;

  return w->seen->received >= w->received && w->seen->acked >= w->acked;
}

typedef struct {
  DxStats *stats;
  Counts *counts;
} Match;

static gboolean
counts_match (gpointer data)
{
  Match *m = data;

  return dx_stats_get_bytes_up (m->stats) == m->counts->up
         && dx_stats_get_bytes_down (m->stats) == m->counts->down;
}

static void
test_exact_bytes (gconstpointer data)
{
  DxMode mode = GPOINTER_TO_UINT (data);
  DxTestServer s;
  Counts http = { 0 }, tcp = { 0 };
  RelayTarget http_target = { 0, &http }, tcp_target = { 0, &tcp };
  g_autoptr (GSocketService) http_relay = NULL;
  g_autoptr (GSocketService) tcp_relay = NULL;
  g_autoptr (DxTransport) t = NULL;
  g_autofree char *url = NULL;
  guint16 http_port = 0, tcp_port = 0;
  Seen seen = { 0 };
  Want want = { &seen, 0, 0 };
  Match match;
  DxStats *stats;
  guint64 wire, text;
  const guint n = 3;

  dx_test_server_start (&s, 0, 0, NULL);
  http_target.upstream_port = s.http;
  tcp_target.upstream_port = s.tcp;
  http_relay = relay_new (0, &http_target, &http_port);
  tcp_relay = relay_new (s.tcp, &tcp_target, &tcp_port);
  g_assert_cmpuint (tcp_port, ==, s.tcp);
  url = g_strdup_printf ("http://" RELAY_HOST ":%u", http_port);

  t = dx_transport_new (mode, url, "counter", NULL);
  if (mode == DX_MODE_POLL)
    dx_poll_transport_set_interval (DX_POLL_TRANSPORT (t), 300);
  g_signal_connect (t, "message", G_CALLBACK (on_message), &seen);
  g_signal_connect (t, "ack", G_CALLBACK (on_ack), &seen);
  dx_transport_connect (t, "bytes", 0, NULL);
  g_assert_true (dx_test_wait (is_connected, t, 10000));

  /* The fixed exchange: n messages from elsewhere, n of our own (each
   * acked, then delivered back to us). */
  for (guint i = 0; i < n; i++) {
    g_autofree char *text_in = g_strdup_printf ("incoming message number %u", i);
    g_autofree char *text_out = g_strdup_printf ("outgoing message number %u", i);
    g_autofree char *cid = g_strdup_printf ("c-%u", i);
    dx_test_post (&s, "other", "bytes", text_in);
    want.received++;
    g_assert_true (dx_test_wait (reached, &want, 10000));
    dx_transport_send (t, text_out, cid);
    want.received++;
    want.acked++;
    g_assert_true (dx_test_wait (reached, &want, 10000));
  }

  /* Bytes in flight settle within moments; a poll may be under way, so
   * wait for a quiet instant where both sides agree. */
  stats = dx_transport_get_stats (t);
  match.stats = stats;
  match.counts = mode == DX_MODE_TCP ? &tcp : &http;
  if (!dx_test_wait (counts_match, &match, 5000))
    g_test_message ("client up %" G_GUINT64_FORMAT " down %" G_GUINT64_FORMAT
                    ", relay up %" G_GUINT64_FORMAT " down %" G_GUINT64_FORMAT,
                    dx_stats_get_bytes_up (stats), dx_stats_get_bytes_down (stats),
                    match.counts->up, match.counts->down);
  g_assert_cmpuint (dx_stats_get_bytes_up (stats), ==, match.counts->up);
  g_assert_cmpuint (dx_stats_get_bytes_down (stats), ==, match.counts->down);
  g_assert_cmpuint (match.counts->up, >, 0);
  g_assert_cmpuint (match.counts->down, >, 0);

  wire = dx_stats_get_bytes_up (stats) + dx_stats_get_bytes_down (stats);
  text = dx_stats_get_text_bytes (stats);
  g_assert_cmpuint (text, >, 0);
  /* The figure the docs quote: wire bytes beyond the chat text, per
   * message delivered to us (set-up included: handshakes, hello and join,
   * /api/v1/info, the session token). */
  g_test_message ("%s: %" G_GUINT64_FORMAT " B up, %" G_GUINT64_FORMAT " B down, %" G_GUINT64_FORMAT
                  " B of text; %u messages delivered: overhead %.0f B "
                  "per message",
                  dx_mode_to_string (mode), dx_stats_get_bytes_up (stats),
                  dx_stats_get_bytes_down (stats), text, seen.received,
                  (double) (wire - text) / seen.received);

  dx_transport_disconnect (t);
  g_socket_service_stop (http_relay);
  g_socket_service_stop (tcp_relay);
  dx_test_server_free (&s);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_debug_enabled (FALSE);
  /* The modes over TCP (a datagram mode would need a UDP relay). */
  for (int m = 0; m <= DX_MODE_TCP; m++) {
    g_autofree char *path = g_strdup_printf ("/wire/%s/exact-bytes", dx_mode_to_string (m));
    g_test_add_data_func (path, GUINT_TO_POINTER (m), test_exact_bytes);
  }
  return g_test_run ();
}
