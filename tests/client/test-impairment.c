/* The impairment relay against the real duplexd: added delay shows in
 * WebSocket latency; a buffering proxy stalls SSE while long polling
 * keeps delivering; an idle cut drops a silent connection and the chat
 * recovers with every id exactly once. */
#include <math.h>
#include <string.h>

#include "dx-chat.h"
#include "dx-impairment.h"
#include "dx-test-server.h"

typedef struct {
  GArray *ids; /* every id delivered by a transport, in order */
} Seen;

static void
on_delivered (DxChat *chat, DxMessage *m, Seen *seen)
{
  guint64 id = dx_message_get_id (m);

  g_array_append_val (seen->ids, id);
}

typedef struct {
  DxChat *chat;
  guint n;
} Samples;

static gboolean
enough_samples (gpointer data)
{
  Samples *s = data;

  return dx_stats_get_n_latencies (dx_chat_get_stats (s->chat, dx_chat_get_mode (s->chat))) >= s->n;
}

static gboolean
is_connected (gpointer data)
{
  DxTransport *t = dx_chat_get_transport (data);

  return t != NULL && dx_transport_get_state (t) == DX_TRANSPORT_CONNECTED;
}

static DxChat *
start_chat (DxTestServer *s, DxImpairment *imp, DxMode mode, Seen *seen)
{
  DxChat *chat = dx_chat_new (s->url, "watcher");

  dx_chat_set_impairment (chat, imp);
  if (seen != NULL)
    g_signal_connect (chat, "delivered", G_CALLBACK (on_delivered), seen);
  dx_chat_start (chat, "lobby", mode);
  g_assert_true (dx_test_wait (is_connected, chat, 20000));
  return chat;
}

static double
median_latency (DxChat *chat, guint n)
{
  Samples want = { chat, n };
  DxStats *st = dx_chat_get_stats (chat, dx_chat_get_mode (chat));

  dx_stats_reset (st);
  g_assert_true (dx_test_wait (enough_samples, &want, 30000));
  return dx_stats_get_latency_percentile (st, 50);
}

static void
test_delay (void)
{
  DxTestServer s;
  g_autoptr (DxImpairment) imp = NULL;
  g_autoptr (DxChat) chat = NULL;
  g_autoptr (GError) error = NULL;
  double direct, delayed;

  dx_test_server_start (&s, 0, 0, "lobby:50");
  imp = dx_impairment_new (s.url);
  chat = start_chat (&s, imp, DX_MODE_WEBSOCKET, NULL);
  direct = median_latency (chat, 20);

  g_object_set (imp, "delay-up-ms", 200, "delay-down-ms", 200, NULL);
  g_assert_true (dx_impairment_set_enabled (imp, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (dx_test_wait (is_connected, chat, 20000));
  delayed = median_latency (chat, 20);
  g_test_message ("WebSocket latency p50: %.1f ms direct, %.1f ms with 200 ms added", direct,
                  delayed);
  g_assert_cmpfloat (delayed - direct, >, 150);
  g_assert_cmpfloat (delayed - direct, <, 300);

  /* Off again: straight to the server, and the latency falls back. */
  g_assert_true (dx_impairment_set_enabled (imp, FALSE, NULL));
  g_assert_true (dx_test_wait (is_connected, chat, 20000));
  g_assert_cmpfloat (median_latency (chat, 20), <, delayed - 150);
  dx_chat_stop (chat);
  dx_test_server_free (&s);
}

static guint64
messages_in (DxChat *chat, guint ms)
{
  DxStats *st = dx_chat_get_stats (chat, dx_chat_get_mode (chat));
  guint64 before = dx_stats_get_messages (st);

  dx_test_sleep (ms);
  return dx_stats_get_messages (st) - before;
}

static void
test_buffering (void)
{
  DxTestServer s;
  g_autoptr (DxImpairment) imp = NULL;
  g_autoptr (DxChat) chat = NULL;
  guint64 sse, longpoll, sse_after;

  dx_test_server_start (&s, 0, 0, "lobby:100");
  imp = dx_impairment_new (s.url);
  g_object_set (imp, "buffering", TRUE, "buffer-bytes", 1024 * 1024, NULL);
  g_assert_true (dx_impairment_set_enabled (imp, TRUE, NULL));

  /* The stream never ends and never fills the buffer: nothing arrives. */
  chat = dx_chat_new (s.url, "watcher");
  dx_chat_set_impairment (chat, imp);
  dx_chat_start (chat, "lobby", DX_MODE_SSE);
  dx_test_sleep (500); /* history, then the stream opens */
  sse = messages_in (chat, 2000);

  /* Each long poll is a whole response: the proxy lets it through. */
  dx_chat_set_mode (chat, DX_MODE_LONGPOLL);
  longpoll = messages_in (chat, 2000);

  /* Buffering off: the stream flows again. */
  dx_chat_set_mode (chat, DX_MODE_SSE);
  g_object_set (imp, "buffering", FALSE, NULL);
  g_assert_true (dx_test_wait (is_connected, chat, 20000));
  sse_after = messages_in (chat, 2000);
  g_test_message ("buffering proxy: SSE %" G_GUINT64_FORMAT ", long polling %" G_GUINT64_FORMAT
                  " messages in 2 s; SSE unbuffered %" G_GUINT64_FORMAT,
                  sse, longpoll, sse_after);
  g_assert_cmpuint (sse, ==, 0);
  g_assert_cmpuint (longpoll, >, 5);
  g_assert_cmpuint (sse_after, >, 5);
  dx_chat_stop (chat);
  dx_test_server_free (&s);
}

static gboolean
has_all (gpointer data)
{
  gpointer *args = data;
  Seen *seen = args[0];
  guint64 last = GPOINTER_TO_UINT (args[1]);

  return seen->ids->len > 0 && g_array_index (seen->ids, guint64, seen->ids->len - 1) >= last;
}

static void
test_idle_cut (gconstpointer data)
{
  DxMode mode = GPOINTER_TO_UINT (data);
  DxTestServer s;
  g_autoptr (DxImpairment) imp = NULL;
  g_autoptr (DxChat) chat = NULL;
  Seen seen = { g_array_new (FALSE, FALSE, sizeof (guint64)) };
  guint64 last = 0;
  gpointer args[2];

  dx_test_server_start (&s, 0, 0, NULL);
  imp = dx_impairment_new (s.url);
  g_object_set (imp, "idle-cut-s", 1, NULL);
  g_assert_true (dx_impairment_set_enabled (imp, TRUE, NULL));
  chat = start_chat (&s, imp, mode, &seen);
  dx_chat_set_longpoll_wait (chat, 20);
  /* Messages between silences longer than the cut. */
  for (int i = 0; i < 4; i++) {
    dx_test_sleep (1600);
    last = dx_test_post (&s, "poster", "lobby", "after a silence");
  }
  args[0] = &seen;
  args[1] = GUINT_TO_POINTER ((guint) last);
  g_assert_true (dx_test_wait (has_all, args, 30000));
  g_test_message ("%s: %" G_GUINT64_FORMAT " idle cuts, %u ids delivered", dx_mode_to_string (mode),
                  dx_impairment_get_idle_cuts (imp), seen.ids->len);
  g_assert_cmpuint (dx_impairment_get_idle_cuts (imp), >=, 2);
  /* Every id once, in order: nothing lost across the cuts, nothing twice. */
  g_assert_cmpuint (seen.ids->len, ==, last);
  for (guint i = 0; i < seen.ids->len; i++)
    g_assert_cmpuint (g_array_index (seen.ids, guint64, i), ==, i + 1);
  dx_chat_stop (chat);
  g_array_unref (seen.ids);
  dx_test_server_free (&s);
}

static void
count_error (DxChat *chat, const char *text, guint *errors)
{
  g_test_message ("%s: %s", dx_mode_to_string (dx_chat_get_mode (chat)), text);
  (*errors)++;
}

/* Why pings exist: under a 12 s idle cut a WebSocket, which pings every
 * 10 s, keeps its one connection, while a long poll held 20 s in silence
 * is cut (and resumes). */
static void
test_pings_beat_idle_cut (void)
{
  DxTestServer s;
  g_autoptr (DxImpairment) imp = NULL;
  g_autoptr (DxChat) ws = NULL;
  g_autoptr (DxChat) lp = NULL;
  guint64 ws_conns, lp_conns;
  guint errors = 0;

  dx_test_server_start (&s, 0, 0, NULL);
  imp = dx_impairment_new (s.url);
  g_object_set (imp, "idle-cut-s", 12, NULL);
  g_assert_true (dx_impairment_set_enabled (imp, TRUE, NULL));
  ws = start_chat (&s, imp, DX_MODE_WEBSOCKET, NULL);
  lp = dx_chat_new (s.url, "waiter");
  dx_chat_set_impairment (lp, imp);
  dx_chat_set_longpoll_wait (lp, 20);
  dx_chat_start (lp, "lobby", DX_MODE_LONGPOLL);
  g_assert_true (dx_test_wait (is_connected, lp, 20000));
  g_signal_connect (ws, "error", G_CALLBACK (count_error), &errors);
  g_signal_connect (lp, "error", G_CALLBACK (count_error), &errors);
  dx_test_sleep (25000);
  ws_conns = dx_stats_get_connections (dx_chat_get_stats (ws, DX_MODE_WEBSOCKET));
  lp_conns = dx_stats_get_connections (dx_chat_get_stats (lp, DX_MODE_LONGPOLL));
  g_test_message ("12 s idle cut, 25 s: WebSocket %" G_GUINT64_FORMAT
                  " connections, long polling %" G_GUINT64_FORMAT " connections, %" G_GUINT64_FORMAT
                  " cuts",
                  ws_conns, lp_conns, dx_impairment_get_idle_cuts (imp));
  g_assert_cmpuint (ws_conns, ==, 1);
  g_assert_cmpuint (dx_impairment_get_idle_cuts (imp), >=, 1);
  g_assert_cmpuint (lp_conns, >, 1);
  dx_chat_stop (ws);
  dx_chat_stop (lp);
  dx_test_server_free (&s);
}


static gboolean
has_n (gpointer data)
{
  gpointer *args = data;
  Seen *seen = args[0];

  return seen->ids->len >= GPOINTER_TO_UINT (args[1]);
}

/* Jitter larger than the gap between messages, a narrow link, and raw
 * TCP and WebSocket streams still arrive whole and in order: the relay
 * delays chunks but never lets one overtake another. */
static void
test_jitter_in_order (gconstpointer data)
{
  DxMode mode = GPOINTER_TO_UINT (data);
  DxTestServer s;
  g_autoptr (DxImpairment) imp = NULL;
  g_autoptr (DxChat) chat = NULL;
  Seen seen = { g_array_new (FALSE, FALSE, sizeof (guint64)) };
  gpointer args[2] = { &seen, GUINT_TO_POINTER (60) };
  guint errors = 0;

  dx_test_server_start (&s, 0, 0, "lobby:20");
  imp = dx_impairment_new (s.url);
  g_object_set (imp, "jitter-up-ms", 150, "jitter-down-ms", 150, "bandwidth-kbps", 256, NULL);
  g_assert_true (dx_impairment_set_enabled (imp, TRUE, NULL));
  chat = start_chat (&s, imp, mode, &seen);
  g_signal_connect (chat, "error", G_CALLBACK (count_error), &errors);
  g_assert_true (dx_test_wait (has_n, args, 30000));
  g_test_message ("%s: %u ids in order under 150 ms jitter at 256 kbit/s", dx_mode_to_string (mode),
                  seen.ids->len);
  for (guint i = 1; i < seen.ids->len; i++)
    g_assert_cmpuint (g_array_index (seen.ids, guint64, i), ==,
                      g_array_index (seen.ids, guint64, i - 1) + 1);
  g_assert_cmpuint (errors, ==, 0);
  dx_chat_stop (chat);
  g_array_unref (seen.ids);
  dx_test_server_free (&s);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_debug_enabled (FALSE);
  g_test_add_func ("/impairment/delay", test_delay);
  g_test_add_func ("/impairment/buffering", test_buffering);
  g_test_add_data_func ("/impairment/idle-cut/websocket", GUINT_TO_POINTER (DX_MODE_WEBSOCKET),
                        test_idle_cut);
  g_test_add_data_func ("/impairment/idle-cut/longpoll", GUINT_TO_POINTER (DX_MODE_LONGPOLL),
                        test_idle_cut);
  g_test_add_data_func ("/impairment/idle-cut/tcp", GUINT_TO_POINTER (DX_MODE_TCP), test_idle_cut);
  g_test_add_func ("/impairment/pings-beat-idle-cut", test_pings_beat_idle_cut);
  g_test_add_data_func ("/impairment/jitter-in-order/websocket",
                        GUINT_TO_POINTER (DX_MODE_WEBSOCKET), test_jitter_in_order);
  g_test_add_data_func ("/impairment/jitter-in-order/tcp", GUINT_TO_POINTER (DX_MODE_TCP),
                        test_jitter_in_order);
  return g_test_run ();
}
