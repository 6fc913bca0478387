/* UDP datagrams (docs/protocol.md §8) against the real duplexd --udp:
 * a round trip (receive what curl posts, send and get acked); with 10 %
 * simulated loss the client reports gaps and, without repair, counts
 * exactly the ids it lacks, and with repair ends with every id once, in
 * order, and so does a switch to raw TCP; a send too large for one
 * datagram is refused; a server without
 * --udp is reported clearly. */
#include <string.h>

#include "dx-base-transport.h"
#include "dx-chat.h"
#include "dx-test-server.h"
#include "dx-transport-factory.h"
#include "dx-udp-transport.h"

#define LOSS_PERCENT 10
/* The ticker's pace: a few hundred messages in a few seconds. */
#define TICKER "lobby:20"

static gboolean
is_connected (gpointer data)
{
  return dx_transport_get_state (data) == DX_TRANSPORT_CONNECTED;
}

static gboolean
chat_connected (gpointer data)
{
  DxTransport *t = dx_chat_get_transport (data);

  return t != NULL && dx_transport_get_state (t) == DX_TRANSPORT_CONNECTED;
}

static void
on_error (DxTransport *t, const char *text, GPtrArray *errors)
{
  g_ptr_array_add (errors, g_strdup (text));
}

static gboolean
has_error (gpointer data)
{
  return ((GPtrArray *) data)->len > 0;
}

static void
on_message (DxTransport *t, DxMessage *m, GPtrArray *messages)
{
  g_ptr_array_add (messages, g_object_ref (m));
}

static void
on_ack (DxTransport *t, const char *cid, guint64 id, gint64 ts, guint64 *acked)
{
  *acked = id;
}

static gboolean
is_nonzero (gpointer data)
{
  return *(guint64 *) data != 0;
}

typedef struct {
  GPtrArray *messages;
  const char *text;
} Want;

static gboolean
has_text (gpointer data)
{
  Want *w = data;

  for (guint i = 0; i < w->messages->len; i++)
    if (g_strcmp0 (dx_message_get_text (w->messages->pdata[i]), w->text) == 0)
      return TRUE;
  return FALSE;
}

/* Receive what curl posts; send, get the ack, see it stored once. */
static void
test_roundtrip (void)
{
  DxTestServer s;
  g_autoptr (DxTransport) t = NULL;
  g_autoptr (GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) stored = NULL;
  guint64 acked = 0, posted;
  Want want = { messages, "from curl" };
  DxStats *stats;

  dx_test_server_start_udp (&s, NULL);
  g_assert_cmpuint (s.udp, !=, 0);
  t = dx_transport_new (DX_MODE_UDP, s.url, "udpuser", NULL);
  g_signal_connect (t, "message", G_CALLBACK (on_message), messages);
  g_signal_connect (t, "ack", G_CALLBACK (on_ack), &acked);
  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (is_connected, t, 10000));
  posted = dx_test_post (&s, "curler", "lobby", "from curl");
  g_assert_true (dx_test_wait (has_text, &want, 10000));
  g_assert_cmpuint (dx_message_get_id (messages->pdata[0]), ==, posted);
  dx_transport_send (t, "over a datagram", "udp-cid-1");
  g_assert_true (dx_test_wait (is_nonzero, &acked, 10000));
  want.text = "over a datagram";
  g_assert_true (dx_test_wait (has_text, &want, 10000));
  stored = dx_test_get_messages (&s, "lobby");
  g_assert_cmpuint (stored->len, ==, 2);
  g_assert_cmpstr (((dx_msg *) stored->pdata[1])->from, ==, "udpuser");
  g_assert_cmpuint (((dx_msg *) stored->pdata[1])->id, ==, acked);
  /* Bytes are the datagrams' payload: the 1200-byte hello alone is more
   * than any other datagram the client sent. */
  stats = dx_transport_get_stats (t);
  g_assert_cmpuint (dx_stats_get_bytes_up (stats), >, 1200);
  g_assert_cmpuint (dx_stats_get_gaps (stats), ==, 0);
  dx_transport_disconnect (t);
  dx_test_server_free (&s);
}

/* The chat's server ids, in list order, skipping notices; and the ids the
 * gap notices name. */
static GArray *
store_ids (DxChat *chat, guint64 *gap_ids, guint *repaired)
{
  GListModel *model = G_LIST_MODEL (dx_chat_get_store (chat));
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  *gap_ids = 0;
  *repaired = 0;
  for (guint i = 0; i < g_list_model_get_n_items (model); i++) {
    g_autoptr (DxMessage) m = g_list_model_get_item (model, i);
    guint64 id = dx_message_get_id (m), first, last;
    if (dx_message_get_gap (m, &first, &last))
      *gap_ids += last - first + 1;
    if (id == 0)
      continue;
    *repaired += dx_message_get_arrival (m) == DX_MESSAGE_REPAIRED;
    g_array_append_val (ids, id);
  }
  return ids;
}

typedef struct {
  DxChat *chat;
  guint64 from, upto;
} Upto;

/* Every id from..upto is in the store. */
static gboolean
holds_all (gpointer data)
{
  Upto *u = data;
  guint64 gaps;
  guint repaired;
  g_autoptr (GArray) ids = store_ids (u->chat, &gaps, &repaired);
  g_autoptr (GHashTable) set = g_hash_table_new (g_int64_hash, g_int64_equal);

  for (guint i = 0; i < ids->len; i++)
    g_hash_table_add (set, &g_array_index (ids, guint64, i));
  for (guint64 id = u->from; id <= u->upto; id++) {
    gint64 key = (gint64) id;
    if (!g_hash_table_contains (set, &key))
      return FALSE;
  }
  return TRUE;
}

static DxChat *
lossy_chat (DxTestServer *s, gboolean repair)
{
  DxChat *chat = dx_chat_new (s->url, repair ? "repairer" : "watcher");

  dx_chat_set_udp_loss (chat, LOSS_PERCENT);
  dx_chat_set_udp_repair (chat, repair);
  dx_chat_start (chat, "lobby", DX_MODE_UDP);
  g_assert_true (dx_test_wait (chat_connected, chat, 15000));
  return chat;
}

/* Without repair the gaps stay: the counters say exactly which ids the
 * list lacks, and the gap notices name them. */
static void
test_loss_counted (void)
{
  DxTestServer s;
  g_autoptr (DxChat) chat = NULL;
  g_autoptr (GArray) ids = NULL;
  DxStats *stats;
  guint64 gap_ids = 0, first, highest, absent = 0;
  guint repaired = 0;

  dx_test_server_start_udp (&s, TICKER);
  chat = lossy_chat (&s, FALSE);
  dx_test_sleep (4000);
  dx_chat_stop (chat); /* the figures stop moving */
  stats = dx_chat_get_stats (chat, DX_MODE_UDP);
  ids = store_ids (chat, &gap_ids, &repaired);
  g_assert_cmpuint (ids->len, >, 50);
  /* The history the chat loaded first ends where UDP began. */
  first = g_array_index (ids, guint64, 0);
  highest = g_array_index (ids, guint64, ids->len - 1);
  for (guint i = 1; i < ids->len; i++)
    g_assert_cmpuint (g_array_index (ids, guint64, i - 1), <, g_array_index (ids, guint64, i));
  absent = highest - first + 1 - ids->len;
  g_test_message ("loss %d %%: %u of %" G_GUINT64_FORMAT " ids held, %" G_GUINT64_FORMAT
                  " gaps, %" G_GUINT64_FORMAT " out of order, %" G_GUINT64_FORMAT
                  " duplicates, %" G_GUINT64_FORMAT " datagrams dropped",
                  LOSS_PERCENT, ids->len, highest, dx_stats_get_gaps (stats),
                  dx_stats_get_reordered (stats), dx_stats_get_duplicates (stats),
                  dx_stats_get_simulated_loss (stats));
  g_assert_cmpuint (dx_stats_get_simulated_loss (stats), >, 0);
  g_assert_cmpuint (absent, >, 0);
  g_assert_cmpuint (dx_stats_get_missing (stats), ==, absent);
  g_assert_cmpuint (dx_stats_get_gaps (stats), ==, absent + dx_stats_get_reordered (stats));
  g_assert_cmpuint (gap_ids, ==, dx_stats_get_gaps (stats));
  g_assert_cmpuint (repaired, ==, 0);
  g_assert_cmpuint (dx_stats_get_repaired (stats), ==, 0);
  dx_test_server_free (&s);
}

/* With repair the same loss ends with every id exactly once, in order;
 * the repairs are marked and cost HTTP requests. */
static void
test_loss_repaired (void)
{
  DxTestServer s;
  g_autoptr (DxChat) chat = NULL;
  g_autoptr (GArray) ids = NULL;
  DxStats *stats;
  guint64 gap_ids = 0, upto;
  guint repaired = 0;
  Upto u;

  dx_test_server_start_udp (&s, TICKER);
  chat = lossy_chat (&s, TRUE);
  dx_test_sleep (4000);
  /* Everything up to what has arrived by now; a later message reveals a
   * lost tail, so the ticker keeps going while the repairs finish. */
  upto = dx_message_store_get_last_id (dx_chat_get_store (chat));
  u.chat = chat;
  u.from = dx_message_store_get_first_id (dx_chat_get_store (chat));
  u.upto = upto;
  g_assert_true (dx_test_wait (holds_all, &u, 15000));
  dx_chat_stop (chat);
  stats = dx_chat_get_stats (chat, DX_MODE_UDP);
  ids = store_ids (chat, &gap_ids, &repaired);
  /* Every id exactly once, in order, from the history's first on. */
  for (guint i = 0; i < ids->len; i++)
    g_assert_cmpuint (g_array_index (ids, guint64, i), ==, u.from + i);
  g_test_message ("loss %d %%: %u ids, %" G_GUINT64_FORMAT " gaps, %" G_GUINT64_FORMAT
                  " repaired over HTTP in %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT
                  " out of order, %" G_GUINT64_FORMAT " duplicates",
                  LOSS_PERCENT, ids->len, dx_stats_get_gaps (stats), dx_stats_get_repaired (stats),
                  dx_stats_get_requests (stats), dx_stats_get_reordered (stats),
                  dx_stats_get_duplicates (stats));
  g_assert_cmpuint (u.from + ids->len - 1, >=, upto);
  g_assert_cmpuint (dx_stats_get_gaps (stats), >, 0);
  g_assert_cmpuint (dx_stats_get_repaired (stats), >, 0);
  g_assert_cmpuint (repaired, ==, dx_stats_get_repaired (stats));
  /* A session POST, then at least one repair GET. */
  g_assert_cmpuint (dx_stats_get_requests (stats), >=, 2);
  dx_test_server_free (&s);
}

/* Leaving UDP for a reliable transport resumes below the first hole: the
 * new transport brings what UDP lost. */
static void
test_switch_fills_holes (void)
{
  DxTestServer s;
  g_autoptr (DxChat) chat = NULL;
  DxMessageStore *store;
  Upto u;

  dx_test_server_start_udp (&s, TICKER);
  chat = lossy_chat (&s, FALSE);
  dx_test_sleep (3000);
  store = dx_chat_get_store (chat);
  g_assert_cmpuint (dx_message_store_get_first_missing (store), >, 0);
  u.chat = chat;
  u.from = dx_message_store_get_first_id (store);
  u.upto = dx_message_store_get_last_id (store);
  dx_chat_set_mode (chat, DX_MODE_TCP);
  g_assert_true (dx_test_wait (chat_connected, chat, 10000));
  g_assert_true (dx_test_wait (holds_all, &u, 10000));
  g_assert_cmpuint (dx_message_store_get_first_missing (store), ==, 0);
  dx_chat_stop (chat);
  dx_test_server_free (&s);
}

/* A text that fits the protocol's 4096 bytes but not one datagram. */
static void
test_oversize_refused (void)
{
  DxTestServer s;
  g_autoptr (DxTransport) t = NULL;
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *text = g_strnfill (1500, 'x');
  gsize size = 0;
  guint64 acked = 0;

  dx_test_server_start_udp (&s, NULL);
  t = dx_transport_new (DX_MODE_UDP, s.url, "bigsender", NULL);
  g_signal_connect (t, "error", G_CALLBACK (on_error), errors);
  g_signal_connect (t, "ack", G_CALLBACK (on_ack), &acked);
  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (is_connected, t, 10000));
  g_assert_false (dx_udp_transport_send_fits (DX_UDP_TRANSPORT (t), text, &size));
  g_assert_cmpuint (size, >, 1500);
  g_assert_true (dx_udp_transport_send_fits (DX_UDP_TRANSPORT (t), "short", &size));
  g_assert_cmpuint (size, <=, 1200);
  dx_transport_send (t, text, "too-big");
  g_assert_true (dx_test_wait (has_error, errors, 5000));
  g_assert_nonnull (strstr (errors->pdata[0], "1200"));
  dx_test_sleep (300);
  g_assert_cmpuint (acked, ==, 0);
  dx_transport_disconnect (t);
  dx_test_server_free (&s);
}

/* duplexd without --udp: /api/v1/info has no udp_port, and the mode says
 * so instead of waiting for datagrams nobody reads. */
static void
test_server_without_udp (void)
{
  DxTestServer s;
  g_autoptr (DxTransport) t = NULL;
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);

  dx_test_server_start (&s, 0, 0, NULL);
  t = dx_transport_new (DX_MODE_UDP, s.url, "nobody", NULL);
  g_signal_connect (t, "error", G_CALLBACK (on_error), errors);
  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (has_error, errors, 10000));
  g_assert_nonnull (strstr (errors->pdata[0], "--udp"));
  g_assert_cmpint (dx_transport_get_state (t), ==, DX_TRANSPORT_RECONNECTING);
  dx_transport_disconnect (t);
  dx_test_server_free (&s);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_debug_enabled (FALSE);
  g_test_add_func ("/udp/roundtrip", test_roundtrip);
  g_test_add_func ("/udp/loss-counted", test_loss_counted);
  g_test_add_func ("/udp/loss-repaired", test_loss_repaired);
  g_test_add_func ("/udp/switch-fills-holes", test_switch_fills_holes);
  g_test_add_func ("/udp/oversize-refused", test_oversize_refused);
  g_test_add_func ("/udp/server-without-udp", test_server_without_udp);
  return g_test_run ();
}
