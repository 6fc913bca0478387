/* UDP mode without a server: the sequence tracker's verdicts (in order,
 * gap, late, duplicate) and counters, its window, the datagram helpers of
 * docs/protocol.md §8 (1200-byte hello, cookie, udp_port), the message
 * store's placing of gap notices and of what fills them, the stats and
 * their export. */
#include <string.h>

#include "protocol/message.h"

#include "dx-chat.h"
#include "dx-message-store.h"
#include "dx-run-log.h"
#include "dx-seq-tracker.h"
#include "dx-stats-export.h"
#include "dx-stats.h"
#include "dx-test-json.h"
#include "dx-udp-datagram.h"

static void
test_in_order (void)
{
  g_autoptr (DxSeqTracker) t = dx_seq_tracker_new (10);

  for (guint64 id = 11; id <= 20; id++)
    g_assert_cmpint (dx_seq_tracker_add (t, id, NULL, NULL), ==, DX_SEQ_IN_ORDER);
  g_assert_cmpuint (dx_seq_tracker_get_contiguous (t), ==, 20);
  g_assert_cmpuint (dx_seq_tracker_get_highest (t), ==, 20);
  g_assert_cmpuint (dx_seq_tracker_get_skipped (t), ==, 0);
  g_assert_cmpuint (dx_seq_tracker_get_missing (t), ==, 0);
  /* At or below the starting point: held already. */
  g_assert_cmpint (dx_seq_tracker_add (t, 10, NULL, NULL), ==, DX_SEQ_DUPLICATE);
  g_assert_cmpint (dx_seq_tracker_add (t, 3, NULL, NULL), ==, DX_SEQ_DUPLICATE);
  g_assert_cmpuint (dx_seq_tracker_get_duplicates (t), ==, 2);
}

static void
test_gap_then_late (void)
{
  g_autoptr (DxSeqTracker) t = dx_seq_tracker_new (0);
  guint64 first = 0, last = 0;

  g_assert_cmpint (dx_seq_tracker_add (t, 1, NULL, NULL), ==, DX_SEQ_IN_ORDER);
  /* 2, 3, 4 skipped. */
  g_assert_cmpint (dx_seq_tracker_add (t, 5, &first, &last), ==, DX_SEQ_AHEAD);
  g_assert_cmpuint (first, ==, 2);
  g_assert_cmpuint (last, ==, 4);
  g_assert_cmpuint (dx_seq_tracker_get_skipped (t), ==, 3);
  g_assert_cmpuint (dx_seq_tracker_get_missing (t), ==, 3);
  g_assert_true (dx_seq_tracker_is_missing (t, 3));
  g_assert_false (dx_seq_tracker_is_missing (t, 5));
  g_assert_false (dx_seq_tracker_is_missing (t, 6)); /* not seen missing yet */
  /* 3 comes late: reordered, fills one hole; contiguous stays at 1. */
  g_assert_cmpint (dx_seq_tracker_add (t, 3, NULL, NULL), ==, DX_SEQ_LATE);
  g_assert_cmpuint (dx_seq_tracker_get_contiguous (t), ==, 1);
  g_assert_cmpuint (dx_seq_tracker_get_missing (t), ==, 2);
  /* 3 again: a duplicate, counted, no hole filled. */
  g_assert_cmpint (dx_seq_tracker_add (t, 3, NULL, NULL), ==, DX_SEQ_DUPLICATE);
  g_assert_cmpuint (dx_seq_tracker_get_missing (t), ==, 2);
  /* 2 then 4: contiguous runs up to the highest. */
  g_assert_cmpint (dx_seq_tracker_add (t, 2, NULL, NULL), ==, DX_SEQ_LATE);
  g_assert_cmpuint (dx_seq_tracker_get_contiguous (t), ==, 3);
  g_assert_cmpint (dx_seq_tracker_add (t, 4, NULL, NULL), ==, DX_SEQ_LATE);
  g_assert_cmpuint (dx_seq_tracker_get_contiguous (t), ==, 5);
  g_assert_cmpuint (dx_seq_tracker_get_missing (t), ==, 0);
  g_assert_cmpuint (dx_seq_tracker_get_filled (t), ==, 3);
  g_assert_cmpuint (dx_seq_tracker_get_duplicates (t), ==, 1);
  g_assert_cmpint (dx_seq_tracker_add (t, 6, NULL, NULL), ==, DX_SEQ_IN_ORDER);
  g_assert_cmpint (dx_seq_tracker_add (t, 5, NULL, NULL), ==, DX_SEQ_DUPLICATE);
}

/* A shuffled stream with drops and repeats: the counters add up to what
 * was sent, whatever the order. */
static void
test_shuffled_accounting (void)
{
  g_autoptr (DxSeqTracker) t = dx_seq_tracker_new (0);
  g_autoptr (GArray) stream = g_array_new (FALSE, FALSE, sizeof (guint64));
  GRand *rand = g_rand_new_with_seed (42);
  guint64 n = 500, dropped = 0, repeated = 0, delivered = 0;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  for (guint64 id = 1; id <= n; id++) {
    if (g_rand_int_range (rand, 0, 10) == 0) {
      dropped++;
      continue;
    }
    g_array_append_val (stream, id);
    if (g_rand_int_range (rand, 0, 20) == 0) {
      g_array_append_val (stream, id);
      repeated++;
    }
  }
  /* Swap neighbours now and then: what a network's reordering looks like. */
  for (guint i = 1; i < stream->len; i++)
    if (g_rand_int_range (rand, 0, 8) == 0) {
      guint64 tmp = g_array_index (stream, guint64, i);
      g_array_index (stream, guint64, i) = g_array_index (stream, guint64, i - 1);
      g_array_index (stream, guint64, i - 1) = tmp;
    }
  for (guint i = 0; i < stream->len; i++) {
    guint64 id = g_array_index (stream, guint64, i);
    DxSeqVerdict v = dx_seq_tracker_add (t, id, NULL, NULL);
    gint64 *key = g_new (gint64, 1);
    *key = (gint64) id;
    /* The tracker calls a duplicate exactly what was seen before. */
    g_assert_cmpint (v == DX_SEQ_DUPLICATE, ==, g_hash_table_contains (seen, key));
    if (v != DX_SEQ_DUPLICATE)
      delivered++;
    g_hash_table_add (seen, key);
  }
  g_rand_free (rand);
  g_assert_cmpuint (dx_seq_tracker_get_duplicates (t), ==, repeated);
  /* Every id that was not dropped is delivered once. */
  g_assert_cmpuint (delivered, ==, n - dropped);
  /* Missing now = ids below the highest that never came. */
  {
    guint64 highest = dx_seq_tracker_get_highest (t), absent = 0;
    for (guint64 id = 1; id <= highest; id++) {
      gint64 key = (gint64) id;
      absent += !g_hash_table_contains (seen, &key);
    }
    g_assert_cmpuint (dx_seq_tracker_get_missing (t), ==, absent);
    g_assert_cmpuint (dx_seq_tracker_get_skipped (t) - dx_seq_tracker_get_filled (t), ==, absent);
  }
}

static void
test_window (void)
{
  g_autoptr (DxSeqTracker) t = dx_seq_tracker_new (0);

  /* id 1 lost, then far more than the window: the hole is given up. */
  for (guint64 id = 2; id <= DX_SEQ_WINDOW + 10; id++)
    dx_seq_tracker_add (t, id, NULL, NULL);
  g_assert_cmpuint (dx_seq_tracker_get_contiguous (t), ==, DX_SEQ_WINDOW + 10);
  g_assert_cmpuint (dx_seq_tracker_get_missing (t), ==, 1);
  g_assert_false (dx_seq_tracker_is_missing (t, 1));
  dx_seq_tracker_reset (t, 7);
  g_assert_cmpuint (dx_seq_tracker_get_highest (t), ==, 7);
  g_assert_cmpuint (dx_seq_tracker_get_missing (t), ==, 0);
}

static void
test_hello_padded (void)
{
  dx_buffer b;
  dx_msg m;
  dx_msg_error err;
  char cookie[DX_UDP_COOKIE_MAX + 1];

  dx_buffer_init (&b, 0);
  g_assert_true (dx_udp_encode_hello (&b, "tok-123", NULL));
  g_assert_cmpuint (b.len, ==, DX_UDP_DATAGRAM_MAX);
  /* Still a valid hello of §5, with its token. */
  g_assert_true (dx_msg_decode (b.data, b.len, DX_MSG_FROM_CLIENT, &m, &err));
  g_assert_cmpint (m.type, ==, DX_MSG_HELLO);
  g_assert_cmpstr (m.token, ==, "tok-123");
  g_assert_false (m.has_password);
  /* With the server's password (docs/protocol.md §8): still 1200 bytes. */
  dx_buffer_reset (&b);
  g_assert_true (dx_udp_encode_hello (&b, "tok-123", "s3cret \"pw\""));
  g_assert_cmpuint (b.len, ==, DX_UDP_DATAGRAM_MAX);
  g_assert_true (dx_msg_decode (b.data, b.len, DX_MSG_FROM_CLIENT, &m, &err));
  g_assert_true (m.has_password);
  g_assert_cmpstr (m.password, ==, "s3cret \"pw\"");
  dx_buffer_reset (&b);
  g_assert_true (dx_encode_ping (&b, "1", 1));
  g_assert_true (dx_udp_add_cookie (&b, "c\"ookie"));
  g_assert_cmpstr (b.data, ==, "{\"type\":\"ping\",\"t\":1,\"cookie\":\"c\\\"ookie\"}");
  g_assert_true (dx_udp_read_cookie (b.data, b.len, cookie));
  g_assert_cmpstr (cookie, ==, "c\"ookie");
  g_assert_false (dx_udp_read_cookie ("{\"type\":\"welcome\"}", 18, cookie));
  g_assert_false (dx_udp_read_cookie ("{\"cookie\":7}", 12, cookie));
  dx_buffer_free (&b);
}

static void
test_info_port (void)
{
  const char *with = "{\"server\":\"duplexd/1\",\"tcp_port\":8081,\"udp_port\":8082,"
                     "\"transports\":[\"poll\",\"udp\"],\"limits\":{\"text_bytes\":4096}}";
  const char *without = "{\"server\":\"duplexd/1\",\"tcp_port\":8081}";

  g_assert_cmpuint (dx_udp_read_port (with, strlen (with)), ==, 8082);
  g_assert_cmpuint (dx_udp_read_port (without, strlen (without)), ==, 0);
  g_assert_cmpuint (dx_udp_read_port ("{\"udp_port\":70000}", 18), ==, 0);
  g_assert_cmpuint (dx_udp_read_port ("[", 1), ==, 0);
}

static DxMessage *
msg (guint64 id, DxMessageArrival arrival)
{
  DxMessage *m = dx_message_new ("lobby", id, "ticker", "x", 1700000000000, NULL);

  dx_message_set_arrival (m, arrival);
  return m;
}

static guint64
id_at (DxMessageStore *store, guint i)
{
  g_autoptr (DxMessage) m = g_list_model_get_item (G_LIST_MODEL (store), i);

  return dx_message_get_gap (m, NULL, NULL) ? 1000 : dx_message_get_id (m);
}

static void
add (DxMessageStore *store, guint64 id, DxMessageArrival arrival)
{
  g_autoptr (DxMessage) m = msg (id, arrival);

  g_assert_true (dx_message_store_add (store, m));
}

static void
add_gap (DxMessageStore *store, guint64 first, guint64 last)
{
  g_autoptr (DxMessage) gap = dx_message_new_gap ("lobby", first, last);

  dx_message_store_add_notice (store, gap);
}

/* 1, [gap 2-3], 4, 5, [gap 6], 7; then 3 late, 2 and 6 repaired: each lands
 * right after its gap, by id, even with another gap notice after it. */
static void
test_store_gaps (void)
{
  g_autoptr (DxMessageStore) store = dx_message_store_new ();
  static const guint64 want[] = { 1, 1000, 2, 3, 4, 5, 1000, 6, 7 };


  add (store, 1, DX_MESSAGE_IN_ORDER);
  add_gap (store, 2, 3);
  add (store, 4, DX_MESSAGE_IN_ORDER);
  add (store, 5, DX_MESSAGE_IN_ORDER);
  add_gap (store, 6, 6);
  add (store, 7, DX_MESSAGE_IN_ORDER);
  g_assert_cmpuint (dx_message_store_get_first_missing (store), ==, 2);
  add (store, 3, DX_MESSAGE_LATE);
  add (store, 2, DX_MESSAGE_REPAIRED);
  g_assert_cmpuint (dx_message_store_get_first_missing (store), ==, 6);
  add (store, 6, DX_MESSAGE_REPAIRED);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, G_N_ELEMENTS (want));
  g_assert_cmpuint (dx_message_store_get_first_missing (store), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpuint (id_at (store, i), ==, want[i]);
  {
    g_autoptr (DxMessage) g = g_list_model_get_item (G_LIST_MODEL (store), 1);
    g_autoptr (DxMessage) late = g_list_model_get_item (G_LIST_MODEL (store), 3);
    guint64 first = 0, last = 0;
    g_assert_true (dx_message_get_gap (g, &first, &last));
    g_assert_cmpuint (first, ==, 2);
    g_assert_cmpuint (last, ==, 3);
    g_assert_true (dx_message_get_notice (g));
    g_assert_cmpint (dx_message_get_arrival (late), ==, DX_MESSAGE_LATE);
  }
}

static void
test_stats (void)
{
  g_autoptr (DxStats) s = dx_stats_new ();

  dx_stats_add_gap (s, 3);
  dx_stats_add_reordered (s);
  dx_stats_add_repaired (s);
  dx_stats_add_duplicate (s);
  dx_stats_add_simulated_loss (s);
  g_assert_cmpuint (dx_stats_get_gaps (s), ==, 3);
  g_assert_cmpuint (dx_stats_get_missing (s), ==, 1);
  g_assert_cmpuint (dx_stats_get_duplicates (s), ==, 1);
  g_assert_cmpuint (dx_stats_get_simulated_loss (s), ==, 1);
  dx_stats_reset (s);
  g_assert_cmpuint (dx_stats_get_missing (s), ==, 0);
  g_assert_cmpuint (dx_stats_get_repaired (s), ==, 0);
}

/* UDP's own figures in the export: in its mode object (JSON) and a CSV
 * section of their own; other modes' objects have none. */
static void
test_export (void)
{
  g_autoptr (DxChat) chat = dx_chat_new ("http://127.0.0.1:1", "alice");
  g_autoptr (DxRunLog) log = dx_run_log_new ();
  DxStats *udp = dx_chat_get_stats (chat, DX_MODE_UDP);
  g_autofree char *json = NULL;
  g_autofree char *csv = NULL;
  g_autoptr (GHashTable) doc = NULL;

  dx_stats_add_gap (udp, 5);
  dx_stats_add_reordered (udp);
  dx_stats_add_repaired (udp);
  dx_stats_add_repaired (udp);
  dx_stats_add_duplicate (udp);
  dx_stats_add_simulated_loss (udp);
  dx_stats_add_simulated_loss (udp);
  dx_run_log_add_mode (log, DX_MODE_TCP);
  dx_run_log_add_switch (log, 1, DX_MODE_TCP, DX_MODE_UDP, 3);
  json = dx_stats_export_json (chat, log);
  doc = dx_test_json_flatten (json);
  g_assert_nonnull (doc);
  g_assert_cmpstr (g_hash_table_lookup (doc, "modes.0.mode"), ==, "tcp");
  g_assert_null (g_hash_table_lookup (doc, "modes.0.gaps"));
  g_assert_cmpstr (g_hash_table_lookup (doc, "modes.1.mode"), ==, "udp");
  g_assert_cmpstr (g_hash_table_lookup (doc, "modes.1.gaps"), ==, "5");
  g_assert_cmpstr (g_hash_table_lookup (doc, "modes.1.missing"), ==, "2");
  g_assert_cmpstr (g_hash_table_lookup (doc, "modes.1.reordered"), ==, "1");
  g_assert_cmpstr (g_hash_table_lookup (doc, "modes.1.repaired"), ==, "2");
  g_assert_cmpstr (g_hash_table_lookup (doc, "modes.1.duplicates"), ==, "1");
  g_assert_cmpstr (g_hash_table_lookup (doc, "modes.1.simulated_loss"), ==, "2");
  csv = dx_stats_export_csv (chat, log);
  g_assert_nonnull (strstr (csv,
                            "\nmode,gaps,missing,reordered,duplicates,repaired,simulated_loss\n"
                            "udp,5,2,1,1,2,2\n"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/udp/tracker/in-order", test_in_order);
  g_test_add_func ("/udp/tracker/gap-then-late", test_gap_then_late);
  g_test_add_func ("/udp/tracker/shuffled", test_shuffled_accounting);
  g_test_add_func ("/udp/tracker/window", test_window);
  g_test_add_func ("/udp/datagram/hello-cookie", test_hello_padded);
  g_test_add_func ("/udp/datagram/info-port", test_info_port);
  g_test_add_func ("/udp/store/gaps", test_store_gaps);
  g_test_add_func ("/udp/stats", test_stats);
  g_test_add_func ("/udp/export", test_export);
  return g_test_run ();
}
