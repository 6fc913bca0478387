/* Each DxTransport class against the real duplexd: receives what curl
 * posts, sends (acked, stored under our nick), resumes after a server
 * restart; a switch through all five modes loses and repeats nothing; and
 * the statistics tell the modes apart. */
#include <string.h>

#include <glib/gstdio.h>

#include "dx-base-transport.h"
#include "dx-chat.h"
#include "dx-http-transport.h"
#include "dx-poll-transport.h"
#include "dx-run-log.h"
#include "dx-stats-export.h"
#include "dx-test-json.h"
#include "dx-test-server.h"
#include "protocol/message.h"
#include "dx-transport-factory.h"

/* The modes over TCP, which every duplexd serves; UDP datagrams need
 * --udp and have their own test (test-udp.c). */
#define N_TCP_MODES (DX_MODE_TCP + 1)

typedef struct {
  GPtrArray *messages; /* DxMessage received */
  GPtrArray *acks;     /* cids acked */
  GPtrArray *epochs;
} Sink;

static void
on_message (DxTransport *t, DxMessage *m, Sink *sink)
{
  g_ptr_array_add (sink->messages, g_object_ref (m));
}

static void
on_ack (DxTransport *t, const char *cid, guint64 id, gint64 ts, Sink *sink)
{
  g_ptr_array_add (sink->acks, g_strdup (cid));
}

static void
on_epoch (DxTransport *t, const char *epoch, Sink *sink)
{
  g_ptr_array_add (sink->epochs, g_strdup (epoch));
}

static void
sink_init (Sink *sink, DxTransport *t)
{
  sink->messages = g_ptr_array_new_with_free_func (g_object_unref);
  sink->acks = g_ptr_array_new_with_free_func (g_free);
  sink->epochs = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (t, "message", G_CALLBACK (on_message), sink);
  g_signal_connect (t, "ack", G_CALLBACK (on_ack), sink);
  g_signal_connect (t, "epoch-changed", G_CALLBACK (on_epoch), sink);
}

static void
sink_clear (Sink *sink)
{
  g_ptr_array_unref (sink->messages);
  g_ptr_array_unref (sink->acks);
  g_ptr_array_unref (sink->epochs);
}

typedef struct {
  Sink *sink;
  const char *text;
} Want;

static gboolean
has_text (gpointer data)
{
  Want *w = data;

  for (guint i = 0; i < w->sink->messages->len; i++)
    if (g_strcmp0 (dx_message_get_text (w->sink->messages->pdata[i]), w->text) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_connected (gpointer data)
{
  return dx_transport_get_state (data) == DX_TRANSPORT_CONNECTED;
}

static gboolean
has_ack (gpointer data)
{
  return ((Sink *) data)->acks->len > 0;
}

static DxTransport *
make (DxMode mode, DxTestServer *s, const char *nick)
{
  DxTransport *t = dx_transport_new (mode, s->url, nick, NULL);

  /* Server and test share the machine's clock. */
  dx_base_transport_set_clock_offset (DX_BASE_TRANSPORT (t), 0);

  /* Fast short polls keep the tests short; the default is 2 s. */
  if (mode == DX_MODE_POLL)
    dx_poll_transport_set_interval (DX_POLL_TRANSPORT (t), 200);
  return t;
}

static void
assert_ids_unique_increasing (GPtrArray *messages)
{
  for (guint i = 1; i < messages->len; i++)
    g_assert_cmpuint (dx_message_get_id (messages->pdata[i - 1]), <,
                      dx_message_get_id (messages->pdata[i]));
}

/* Receive a message posted by curl, send one and see it stored. */
static void
test_roundtrip (gconstpointer data)
{
  DxMode mode = GPOINTER_TO_UINT (data);
  DxTestServer s;
  Sink sink;
  g_autoptr (DxTransport) t = NULL;
  g_autofree char *nick = g_strdup_printf ("tester-%s", dx_mode_to_string (mode));
  g_autofree char *text = g_strdup_printf ("hello over %s from curl", dx_mode_to_string (mode));
  g_autofree char *mine = g_strdup_printf ("reply over %s", dx_mode_to_string (mode));
  g_autoptr (GPtrArray) stored = NULL;
  Want want = { &sink, text };
  gboolean found = FALSE;

  dx_test_server_start (&s, 0, 0, NULL);
  dx_test_post (&s, "alice", "lobby", "before we connected");
  t = make (mode, &s, nick);
  sink_init (&sink, t);
  dx_transport_connect (t, "lobby", 1, NULL);
  g_assert_true (dx_test_wait (is_connected, t, 10000));

  dx_test_post (&s, "alice", "lobby", text);
  g_assert_true (dx_test_wait (has_text, &want, 10000));
  /* Resumed after id 1: the older message is not replayed. */
  g_assert_cmpuint (sink.messages->len, ==, 1);
  g_assert_cmpuint (dx_message_get_id (sink.messages->pdata[0]), ==, 2);
  g_assert_cmpstr (dx_message_get_from (sink.messages->pdata[0]), ==, "alice");

  dx_transport_send (t, mine, "cid-roundtrip-1");
  g_assert_true (dx_test_wait (has_ack, &sink, 10000));
  g_assert_cmpstr (sink.acks->pdata[0], ==, "cid-roundtrip-1");
  want.text = mine;
  g_assert_true (dx_test_wait (has_text, &want, 10000));

  stored = dx_test_get_messages (&s, "lobby");
  for (guint i = 0; i < stored->len; i++) {
    dx_msg *m = stored->pdata[i];
    if (g_strcmp0 (m->text, mine) == 0) {
      g_assert_cmpstr (m->from, ==, nick);
      g_assert_cmpstr (m->cid, ==, "cid-roundtrip-1");
      found = TRUE;
    }
  }
  g_assert_true (found);
  g_assert_cmpuint (dx_stats_get_messages (dx_transport_get_stats (t)), ==, sink.messages->len);
  assert_ids_unique_increasing (sink.messages);

  dx_transport_disconnect (t);
  sink_clear (&sink);
  dx_test_server_free (&s);
}

/* The longest text there is, made of control characters: each one is six
 * bytes of JSON (\u0001), so the message line or frame the server sends is
 * about 25 KiB — longer than the 16 KiB a *client* may send. Every
 * transport must take it. */
static void
test_largest_text (gconstpointer data)
{
  DxMode mode = GPOINTER_TO_UINT (data);
  DxTestServer s;
  Sink sink;
  g_autoptr (DxTransport) t = NULL;
  g_autofree char *text = g_malloc (DX_TEXT_MAX + 1);
  Want want = { &sink, text };

  memset (text, 0x01, DX_TEXT_MAX);
  text[DX_TEXT_MAX] = '\0';
  dx_test_server_start (&s, 0, 0, NULL);
  t = make (mode, &s, "tester");
  sink_init (&sink, t);
  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (is_connected, t, 10000));
  dx_test_post (&s, "alice", "lobby", text);
  g_assert_true (dx_test_wait (has_text, &want, 10000));
  g_assert_cmpuint (sink.messages->len, ==, 1);
  dx_transport_disconnect (t);
  sink_clear (&sink);
  dx_test_server_free (&s);
}

static gboolean
is_reconnecting (gpointer data)
{
  return dx_transport_get_state (data) == DX_TRANSPORT_RECONNECTING;
}

/* The server goes away and comes back with a new store: the transport
 * reconnects by itself, notices the new epoch and resumes from 0. */
static void
test_restart (gconstpointer data)
{
  DxMode mode = GPOINTER_TO_UINT (data);
  DxTestServer s;
  Sink sink;
  g_autoptr (DxTransport) t = NULL;
  Want want = { &sink, "before restart" };

  dx_test_server_start (&s, 0, 0, NULL);
  t = make (mode, &s, "restarter");
  sink_init (&sink, t);
  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (is_connected, t, 10000));
  dx_test_post (&s, "alice", "lobby", "before restart");
  g_assert_true (dx_test_wait (has_text, &want, 10000));
  g_assert_cmpstr (dx_transport_get_epoch (t), !=, NULL);

  dx_test_server_stop (&s);
  g_assert_true (dx_test_wait (is_reconnecting, t, 10000));
  dx_test_server_restart (&s);
  /* Posted before the client is back: it must come with the resume. */
  dx_test_post (&s, "alice", "lobby", "after restart");
  want.text = "after restart";
  g_assert_true (dx_test_wait (has_text, &want, 20000));
  g_assert_cmpuint (sink.epochs->len, ==, 1);
  g_assert_cmpuint (dx_message_get_id (sink.messages->pdata[sink.messages->len - 1]), ==, 1);
  g_assert_cmpuint (sink.messages->len, ==, 2);

  dx_transport_disconnect (t);
  sink_clear (&sink);
  dx_test_server_free (&s);
}

/* ---- a live switch through all five modes ---- */

typedef struct {
  DxChat *chat;
  guint64 want_last;
} ChatWant;

static gboolean
chat_has_last (gpointer data)
{
  ChatWant *w = data;
  return dx_message_store_get_last_id (dx_chat_get_store (w->chat)) >= w->want_last;
}

static gboolean
chat_connected (gpointer data)
{
  DxTransport *t = dx_chat_get_transport (data);
  return t != NULL && dx_transport_get_state (t) == DX_TRANSPORT_CONNECTED;
}

static void
on_chat_message (DxChat *chat, DxMessage *m, GPtrArray *seen)
{
  g_ptr_array_add (seen, g_object_ref (m));
}

static void
test_switch_all_modes (void)
{
  DxTestServer s;
  g_autoptr (DxChat) chat = NULL;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_object_unref);
  static const DxMode order[] = { DX_MODE_POLL,      DX_MODE_LONGPOLL, DX_MODE_SSE,
                                  DX_MODE_WEBSOCKET, DX_MODE_TCP,      DX_MODE_POLL };
  ChatWant want;
  GListModel *model;
  guint64 last = 0;

  /* A fast ticker posts during the switches, so messages arrive while
   * one transport stops and the next starts. */
  dx_test_server_start (&s, 0, 0, "lobby:50");
  chat = dx_chat_new (s.url, "switcher");
  dx_chat_set_poll_interval (chat, 150);
  g_signal_connect (chat, "message", G_CALLBACK (on_chat_message), seen);
  dx_chat_start (chat, "lobby", order[0]);
  g_assert_true (dx_test_wait (chat_connected, chat, 10000));
  for (guint round = 0; round < 2; round++)
    for (guint i = 1; i < G_N_ELEMENTS (order); i++) {
      dx_test_sleep (400);
      dx_chat_set_mode (chat, order[i]);
      g_assert_cmpint (dx_transport_get_mode (dx_chat_get_transport (chat)), ==, order[i]);
      g_assert_true (dx_test_wait (chat_connected, chat, 10000));
    }
  dx_test_sleep (400);
  /* Everything the server has up to now must arrive, once, in order. */
  {
    g_autoptr (GPtrArray) stored = dx_test_get_messages (&s, "lobby");
    g_assert_cmpuint (stored->len, >, 0);
    last = ((dx_msg *) stored->pdata[stored->len - 1])->id;
  }
  want.chat = chat;
  want.want_last = last;
  g_assert_true (dx_test_wait (chat_has_last, &want, 10000));
  model = G_LIST_MODEL (dx_chat_get_store (chat));
  for (guint i = 1; i < seen->len; i++)
    g_assert_cmpuint (dx_message_get_id (seen->pdata[i]), ==,
                      dx_message_get_id (seen->pdata[i - 1]) + 1);
  /* The store holds 1..last with no gap and no duplicate. */
  {
    guint64 expect = 1;
    for (guint i = 0; i < g_list_model_get_n_items (model); i++) {
      g_autoptr (DxMessage) m = g_list_model_get_item (model, i);
      if (dx_message_get_id (m) == 0)
        continue;
      g_assert_cmpuint (dx_message_get_id (m), ==, expect);
      expect++;
    }
    g_assert_cmpuint (expect - 1, >=, last);
  }
  /* Every mode really carried messages. */
  for (int m = 0; m < N_TCP_MODES; m++)
    g_assert_cmpuint (dx_stats_get_messages (dx_chat_get_stats (chat, m)), >, 0);
  g_test_message ("%" G_GUINT64_FORMAT " messages over 10 switches", last);
  dx_chat_stop (chat);
  dx_test_server_free (&s);
}

/* ---- the chat's tunables reach whichever transport has them ---- */

static guint
transport_uint (DxChat *chat, const char *property)
{
  guint v = 0;

  g_object_get (dx_chat_get_transport (chat), property, &v, NULL);
  return v;
}

static gboolean
transport_bool (DxChat *chat, const char *property)
{
  gboolean v = FALSE;

  g_object_get (dx_chat_get_transport (chat), property, &v, NULL);
  return v;
}

static void
test_tunables_bound (void)
{
  DxTestServer s;
  g_autoptr (DxChat) chat = NULL;

  dx_test_server_start (&s, 0, 0, NULL);
  chat = dx_chat_new (s.url, "tuner");
  dx_chat_set_poll_interval (chat, 300);
  dx_chat_set_keep_alive (chat, FALSE);
  dx_chat_start (chat, "lobby", DX_MODE_POLL);
  g_assert_true (dx_test_wait (chat_connected, chat, 10000));
  /* Set before the transport existed, then changed live. */
  g_assert_cmpuint (transport_uint (chat, "interval"), ==, 300);
  g_assert_false (transport_bool (chat, "keep-alive"));
  g_object_set (chat, "poll-interval", 700, NULL);
  g_assert_cmpuint (transport_uint (chat, "interval"), ==, 700);

  dx_chat_set_mode (chat, DX_MODE_LONGPOLL);
  dx_chat_set_longpoll_wait (chat, 7);
  g_assert_cmpuint (transport_uint (chat, "wait"), ==, 7);
  g_assert_false (transport_bool (chat, "keep-alive"));

  /* WebSocket has none of them: nothing to bind, nothing to warn about. */
  dx_chat_set_mode (chat, DX_MODE_WEBSOCKET);
  g_assert_null (g_object_class_find_property (G_OBJECT_GET_CLASS (dx_chat_get_transport (chat)),
                                               "keep-alive"));
  dx_chat_set_keep_alive (chat, TRUE);
  dx_chat_set_mode (chat, DX_MODE_SSE);
  g_assert_true (transport_bool (chat, "keep-alive"));
  dx_chat_stop (chat);
  dx_test_server_free (&s);
}

/* ---- the statistics export after live switches ---- */

/* The chat through every mode while a ticker posts, then the export as a
 * file, read back: every mode carried messages, the switches are listed in
 * order with a growing resume point, and what the transports delivered
 * has no repeated and no missing id. */
static void
test_export_after_switches (void)
{
  DxTestServer s;
  g_autoptr (DxChat) chat = NULL;
  g_autoptr (DxRunLog) log = dx_run_log_new ();
  static const DxMode order[] = { DX_MODE_POLL,      DX_MODE_LONGPOLL, DX_MODE_SSE,
                                  DX_MODE_WEBSOCKET, DX_MODE_TCP,      DX_MODE_POLL };
  g_autofree char *dir = g_dir_make_tmp ("duplex-export-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "stats.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GHashTable) doc = NULL;
  g_autoptr (GError) error = NULL;
  ChatWant want;
  guint64 prev_last = 0;

  dx_test_server_start (&s, 0, 0, "lobby:50");
  chat = dx_chat_new (s.url, "exporter");
  dx_chat_set_poll_interval (chat, 150);
  dx_chat_start (chat, "lobby", order[0]);
  dx_run_log_follow (log, chat);
  g_assert_true (dx_test_wait (chat_connected, chat, 10000));
  for (guint i = 1; i < G_N_ELEMENTS (order); i++) {
    dx_test_sleep (500);
    dx_chat_set_mode (chat, order[i]);
    g_assert_true (dx_test_wait (chat_connected, chat, 10000));
  }
  dx_test_sleep (500);
  {
    g_autoptr (GPtrArray) stored = dx_test_get_messages (&s, "lobby");
    want.chat = chat;
    want.want_last = ((dx_msg *) stored->pdata[stored->len - 1])->id;
  }
  g_assert_true (dx_test_wait (chat_has_last, &want, 10000));
  g_assert_true (dx_stats_export_save (chat, log, path, DX_STATS_FORMAT_JSON, &error));
  g_assert_no_error (error);
  dx_chat_stop (chat);

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  doc = dx_test_json_flatten (text);
  g_assert_nonnull (doc);
  g_assert_cmpstr (g_hash_table_lookup (doc, "server"), ==, s.url);
  g_assert_cmpstr (g_hash_table_lookup (doc, "nick"), ==, "exporter");
  g_assert_cmpstr (g_hash_table_lookup (doc, "room"), ==, "lobby");
  g_assert_cmpuint (strlen (g_hash_table_lookup (doc, "epoch")), >, 0);
  for (int m = 0; m < N_TCP_MODES; m++) {
    g_autofree char *key = g_strdup_printf ("modes.%d.mode", m);
    g_autofree char *msgs = g_strdup_printf ("modes.%d.messages", m);
    g_autofree char *conns = g_strdup_printf ("modes.%d.connections", m);
    g_assert_cmpstr (g_hash_table_lookup (doc, key), ==, dx_mode_to_string (m));
    g_assert_cmpuint (g_ascii_strtoull (g_hash_table_lookup (doc, msgs), NULL, 10), >, 0);
    g_assert_cmpuint (g_ascii_strtoull (g_hash_table_lookup (doc, conns), NULL, 10), >, 0);
  }
  for (guint i = 1; i < G_N_ELEMENTS (order); i++) {
    g_autofree char *from = g_strdup_printf ("switches.%u.from", i - 1);
    g_autofree char *to = g_strdup_printf ("switches.%u.to", i - 1);
    g_autofree char *last = g_strdup_printf ("switches.%u.last_id", i - 1);
    guint64 last_id = g_ascii_strtoull (g_hash_table_lookup (doc, last), NULL, 10);
    g_assert_cmpstr (g_hash_table_lookup (doc, from), ==, dx_mode_to_string (order[i - 1]));
    g_assert_cmpstr (g_hash_table_lookup (doc, to), ==, dx_mode_to_string (order[i]));
    /* The ticker never stops: each mode saw something new. */
    g_assert_cmpuint (last_id, >, prev_last);
    prev_last = last_id;
  }
  g_assert_null (g_hash_table_lookup (doc, "switches.5.to"));
  g_assert_cmpstr (g_hash_table_lookup (doc, "deliveries.lobby.duplicates"), ==, "0");
  g_assert_cmpstr (g_hash_table_lookup (doc, "deliveries.lobby.gaps"), ==, "0");
  g_assert_cmpuint (
      g_ascii_strtoull (g_hash_table_lookup (doc, "deliveries.lobby.last_id"), NULL, 10), >=,
      want.want_last);
  g_test_message ("export: %s", text);
  g_unlink (path);
  g_rmdir (dir);
  dx_test_server_free (&s);
}

/* A new store (server restarted, ids start again at 1) is not counted as
 * repeated ids by the run log. */
static gboolean
store_has_text (gpointer data)
{
  ChatWant *w = data;
  GListModel *model = G_LIST_MODEL (dx_chat_get_store (w->chat));

  for (guint i = 0; i < g_list_model_get_n_items (model); i++) {
    g_autoptr (DxMessage) m = g_list_model_get_item (model, i);
    if (g_strcmp0 (dx_message_get_text (m), "after the new store") == 0)
      return TRUE;
  }
  return FALSE;
}

static void
test_export_new_epoch (void)
{
  DxTestServer s;
  g_autoptr (DxChat) chat = NULL;
  g_autoptr (DxRunLog) log = dx_run_log_new ();
  const DxDeliveryCounts *d;
  ChatWant want;
  g_autofree char *first_epoch = NULL;

  dx_test_server_start (&s, 0, 0, NULL);
  chat = dx_chat_new (s.url, "survivor");
  dx_chat_start (chat, "lobby", DX_MODE_WEBSOCKET);
  dx_run_log_follow (log, chat);
  g_assert_true (dx_test_wait (chat_connected, chat, 10000));
  dx_test_post (&s, "alice", "lobby", "one");
  dx_test_post (&s, "alice", "lobby", "two");
  want.chat = chat;
  want.want_last = 2;
  g_assert_true (dx_test_wait (chat_has_last, &want, 10000));
  first_epoch = g_strdup (dx_chat_get_epoch (chat));
  dx_test_server_restart (&s);
  dx_test_post (&s, "alice", "lobby", "after the new store");
  g_assert_true (dx_test_wait (store_has_text, &want, 20000));
  g_assert_cmpstr (dx_chat_get_epoch (chat), !=, first_epoch);
  d = dx_run_log_get_deliveries (log, "lobby");
  g_assert_cmpuint (d->count, ==, 3);
  g_assert_cmpuint (d->last_id, ==, 1);
  g_assert_cmpuint (d->duplicates, ==, 0);
  g_assert_cmpuint (d->gaps, ==, 0);
  dx_chat_stop (chat);
  dx_test_server_free (&s);
}

/* ---- statistics ---- */

static gboolean
both_have (gpointer data)
{
  Sink *sinks = data;
  return sinks[0].messages->len >= 12 && sinks[1].messages->len >= 12;
}

static void
test_stats_poll_vs_websocket (void)
{
  DxTestServer s;
  g_autoptr (DxTransport) poll = NULL;
  g_autoptr (DxTransport) ws = NULL;
  Sink sinks[2];
  DxStats *ps, *ws_stats;

  dx_test_server_start (&s, 0, 0, "lobby:300");
  poll = make (DX_MODE_POLL, &s, "poller");
  ws = make (DX_MODE_WEBSOCKET, &s, "socketeer");
  sink_init (&sinks[0], poll);
  sink_init (&sinks[1], ws);
  dx_transport_connect (poll, "lobby", 0, NULL);
  dx_transport_connect (ws, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (both_have, sinks, 20000));
  dx_test_sleep (1500);
  ps = dx_transport_get_stats (poll);
  ws_stats = dx_transport_get_stats (ws);
  g_test_message ("poll: %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT
                  " B up, %" G_GUINT64_FORMAT " B down, %" G_GUINT64_FORMAT
                  " messages; websocket: %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT
                  " B up, %" G_GUINT64_FORMAT " B down, %" G_GUINT64_FORMAT " messages",
                  dx_stats_get_requests (ps), dx_stats_get_bytes_up (ps),
                  dx_stats_get_bytes_down (ps), dx_stats_get_messages (ps),
                  dx_stats_get_requests (ws_stats), dx_stats_get_bytes_up (ws_stats),
                  dx_stats_get_bytes_down (ws_stats), dx_stats_get_messages (ws_stats));
  g_test_message ("latency p50: poll %.1f ms, websocket %.1f ms",
                  dx_stats_get_latency_percentile (ps, 50),
                  dx_stats_get_latency_percentile (ws_stats, 50));
  /* The same room for the same time: polling asks again and again. */
  g_assert_cmpuint (dx_stats_get_requests (ws_stats), ==, 1);
  g_assert_cmpuint (dx_stats_get_requests (ps), >=, 5 * dx_stats_get_requests (ws_stats));
  g_assert_cmpuint (dx_stats_get_bytes_up (ps) + dx_stats_get_bytes_down (ps), >,
                    2 * (dx_stats_get_bytes_up (ws_stats) + dx_stats_get_bytes_down (ws_stats)));
  /* Per message too, headers included. */
  g_assert_cmpuint (
      (dx_stats_get_bytes_up (ps) + dx_stats_get_bytes_down (ps)) / dx_stats_get_messages (ps), >,
      (dx_stats_get_bytes_up (ws_stats) + dx_stats_get_bytes_down (ws_stats))
          / dx_stats_get_messages (ws_stats));
  g_assert_cmpuint (dx_stats_get_connections (ws_stats), ==, 1);
  g_assert_cmpuint (dx_stats_get_n_latencies (ws_stats), >, 0);
  g_assert_cmpuint (dx_stats_get_n_latencies (ps), >, 0);
  dx_transport_disconnect (poll);
  dx_transport_disconnect (ws);
  sink_clear (&sinks[0]);
  sink_clear (&sinks[1]);
  dx_test_server_free (&s);
}

/* Without keep-alive every poll opens a new TCP connection. */
static void
test_keep_alive_switch (void)
{
  DxTestServer s;
  g_autoptr (DxTransport) a = NULL;
  g_autoptr (DxTransport) b = NULL;

  dx_test_server_start (&s, 0, 0, NULL);
  a = make (DX_MODE_POLL, &s, "keeper");
  b = make (DX_MODE_POLL, &s, "closer");
  dx_http_transport_set_keep_alive (DX_HTTP_TRANSPORT (b), FALSE);
  dx_transport_connect (a, "lobby", 0, NULL);
  dx_transport_connect (b, "lobby", 0, NULL);
  dx_test_sleep (2500);
  g_test_message ("keep-alive: %" G_GUINT64_FORMAT " requests on %" G_GUINT64_FORMAT
                  " connections; close: %" G_GUINT64_FORMAT " requests on %" G_GUINT64_FORMAT
                  " connections",
                  dx_stats_get_requests (dx_transport_get_stats (a)),
                  dx_stats_get_connections (dx_transport_get_stats (a)),
                  dx_stats_get_requests (dx_transport_get_stats (b)),
                  dx_stats_get_connections (dx_transport_get_stats (b)));
  g_assert_cmpuint (dx_stats_get_requests (dx_transport_get_stats (a)), >=, 5);
  g_assert_cmpuint (dx_stats_get_connections (dx_transport_get_stats (a)), ==, 1);
  g_assert_cmpuint (dx_stats_get_connections (dx_transport_get_stats (b)), ==,
                    dx_stats_get_requests (dx_transport_get_stats (b)));
  g_assert_cmpuint (dx_stats_get_empty_polls (dx_transport_get_stats (a)), >=, 4);
  dx_transport_disconnect (a);
  dx_transport_disconnect (b);
  dx_test_server_free (&s);
}

/* A quiet chat is not a dead connection: the modes on a socket of their
 * own stay on the one they opened through 12 s of silence (GSocketClient's
 * 10 s timeout is for connecting only). */
static void
test_idle_connections_stay (void)
{
  static const DxMode modes[] = { DX_MODE_SSE, DX_MODE_WEBSOCKET, DX_MODE_TCP };
  DxTransport *t[G_N_ELEMENTS (modes)];
  DxTestServer s;

  dx_test_server_start (&s, 0, 0, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    t[i] = make (modes[i], &s, "quiet");
    dx_transport_connect (t[i], "quiet", 0, NULL);
  }
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    g_assert_true (dx_test_wait (is_connected, t[i], 10000));
  dx_test_sleep (12000);
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    g_assert_cmpint (dx_transport_get_state (t[i]), ==, DX_TRANSPORT_CONNECTED);
    /* SSE's /api/v1/info may have had a connection of its own. */
    g_assert_cmpuint (dx_stats_get_connections (dx_transport_get_stats (t[i])), <=,
                      modes[i] == DX_MODE_SSE ? 2 : 1);
    dx_transport_disconnect (t[i]);
    g_object_unref (t[i]);
  }
  dx_test_server_free (&s);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* GIO's connection chatter would drown the TAP output. */
  g_log_set_debug_enabled (FALSE);
  for (int m = 0; m < N_TCP_MODES; m++) {
    g_autofree char *p1 = g_strdup_printf ("/transport/%s/roundtrip", dx_mode_to_string (m));
    g_autofree char *p2 = g_strdup_printf ("/transport/%s/restart", dx_mode_to_string (m));
    g_test_add_data_func (p1, GUINT_TO_POINTER (m), test_roundtrip);
    g_test_add_data_func (p2, GUINT_TO_POINTER (m), test_restart);
    g_autofree char *p3 = g_strdup_printf ("/transport/%s/largest-text", dx_mode_to_string (m));
    g_test_add_data_func (p3, GUINT_TO_POINTER (m), test_largest_text);
  }
  g_test_add_func ("/transport/switch-all-modes", test_switch_all_modes);
  g_test_add_func ("/transport/tunables-bound", test_tunables_bound);
  g_test_add_func ("/transport/idle-connections-stay", test_idle_connections_stay);
  g_test_add_func ("/stats/export-after-switches", test_export_after_switches);
  g_test_add_func ("/stats/export-new-epoch", test_export_new_epoch);
  g_test_add_func ("/stats/poll-vs-websocket", test_stats_poll_vs_websocket);
  g_test_add_func ("/stats/keep-alive", test_keep_alive_switch);
  return g_test_run ();
}
