/* Connections and TIME_WAIT against the real duplexd: every connection a
 * transport opens is counted closed once it is gone, and with keep-alive
 * off in short polling TIME_WAIT piles up on the side that closes first,
 * while with keep-alive on it stays flat. Counts are compared between the
 * two runs, never against the clock. */
#include <string.h>

#include "dx-http-transport.h"
#include "dx-tcp-table.h"
#include "dx-test-server.h"
#include "dx-time-wait.h"
#include "dx-transport-factory.h"

#define DX_TEST_POLLS 20

typedef struct {
  gint client;  /* this process's sockets towards the server (DxTimeWait) */
  gint server;  /* as duplexd reports it; -1 if it does not */
  guint kernel; /* the server's sockets, from the same kernel table */
} Counts;

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static void
on_updated (DxTimeWait *tw, gboolean *done)
{
  *done = TRUE;
}

static Counts
measure (DxTimeWait *tw, DxTestServer *s)
{
  gboolean done = FALSE;
  gulong id = g_signal_connect (tw, "updated", G_CALLBACK (on_updated), &done);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) listener = g_inet_socket_address_new (lo, s->http);
  DxTcpEndpoint ep;
  Counts c;

  dx_time_wait_refresh (tw);
  g_assert_true (dx_test_wait (flag_set, &done, 10000));
  g_signal_handler_disconnect (tw, id);
  c.client = dx_time_wait_get_client (tw);
  c.server = dx_time_wait_get_server (tw);
  /* Server and client share this kernel: the server's own sockets are
   * those whose local end is its listener. */
  dx_tcp_endpoint_from_address (&ep, G_INET_SOCKET_ADDRESS (listener));
  g_assert_true (dx_tcp_table_count_time_wait (DX_TCP_END_LOCAL, &ep, 1, &c.kernel, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.client, >=, 0);
  return c;
}

typedef struct {
  DxTransport *t;
  guint64 requests;
} Polls;

static gboolean
polled_enough (gpointer data)
{
  Polls *p = data;

  return dx_stats_get_requests (dx_transport_get_stats (p->t)) >= p->requests;
}

static DxTransport *
poll_transport (DxTestServer *s, gboolean keep_alive)
{
  DxTransport *t = dx_transport_new (DX_MODE_POLL, s->url, keep_alive ? "keeper" : "closer", NULL);

  g_object_set (t, "interval", 100, NULL);
  dx_http_transport_set_keep_alive (DX_HTTP_TRANSPORT (t), keep_alive);
  return t;
}

/* Run DX_TEST_POLLS polls; returns the counts while the transport still
 * runs (its own disconnect would close one more connection). */
static Counts
run_polls (DxTestServer *s, DxTimeWait *tw, DxTransport *t)
{
  Polls p = { t, DX_TEST_POLLS };

  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (polled_enough, &p, 30000));
  return measure (tw, s);
}

static gboolean
all_closed (gpointer data)
{
  DxStats *st = data;

  return dx_stats_get_open_connections (st) == 0;
}

static void
test_keep_alive_time_wait (void)
{
  DxTestServer s;
  g_autoptr (DxTimeWait) tw = NULL;
  g_autoptr (DxTransport) on = NULL;
  g_autoptr (DxTransport) off = NULL;
  Counts base_on, end_on, base_off, end_off;
  gint rise_on_client, rise_off_client, rise_on_server, rise_off_server;
  DxStats *st;

  dx_test_server_start (&s, 0, 0, NULL);
  tw = dx_time_wait_new (s.url);

  base_on = measure (tw, &s);
  on = poll_transport (&s, TRUE);
  end_on = run_polls (&s, tw, on);
  dx_transport_disconnect (on);

  base_off = measure (tw, &s);
  off = poll_transport (&s, FALSE);
  end_off = run_polls (&s, tw, off);
  st = dx_transport_get_stats (off);
  dx_transport_disconnect (off);

  rise_on_client = end_on.client - base_on.client;
  rise_off_client = end_off.client - base_off.client;
  rise_on_server = (gint) end_on.kernel - (gint) base_on.kernel;
  rise_off_server = (gint) end_off.kernel - (gint) base_off.kernel;
  g_test_message ("keep-alive on: client TIME_WAIT %d -> %d, server %u -> %u (reported %d -> %d)",
                  base_on.client, end_on.client, base_on.kernel, end_on.kernel, base_on.server,
                  end_on.server);
  g_test_message ("keep-alive off: client TIME_WAIT %d -> %d, server %u -> %u (reported %d -> %d); "
                  "%" G_GUINT64_FORMAT " connections opened",
                  base_off.client, end_off.client, base_off.kernel, end_off.kernel, base_off.server,
                  end_off.server, dx_stats_get_connections (st));

  /* Keep-alive on: one connection for every poll, none closed. */
  g_assert_cmpint (rise_on_client, ==, 0);
  g_assert_cmpint (rise_on_server, ==, 0);
  /* Keep-alive off: one connection per poll, each closed; the side that
   * closes first keeps its TIME_WAIT, so its count rises. */
  g_assert_cmpuint (dx_stats_get_connections (st), >=, DX_TEST_POLLS);
  g_assert_cmpint (MAX (rise_off_client, rise_off_server), >=, DX_TEST_POLLS / 2);
  g_assert_cmpint (MAX (rise_off_client, rise_off_server), >, MAX (rise_on_client, rise_on_server));
  /* What the server reports (when it does: a sample up to a second old)
   * rises with the kernel's count of its sockets. */
  if (end_off.server >= 0 && base_off.server >= 0 && rise_off_server > rise_off_client)
    g_assert_cmpint (end_off.server - base_off.server, >, 0);

  /* Every connection opened is counted closed once it is gone. */
  g_assert_true (dx_test_wait (all_closed, st, 10000));
  g_assert_cmpuint (dx_stats_get_connections_closed (st), ==, dx_stats_get_connections (st));
  dx_test_server_free (&s);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_debug_enabled (FALSE);
  g_test_add_func ("/time-wait/keep-alive", test_keep_alive_time_wait);
  return g_test_run ();
}
