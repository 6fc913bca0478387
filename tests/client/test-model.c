/* The client's model without a server: the message store (de-duplication
 * by (room, id), pending sends matched by cid, history prepends), stats
 * percentiles, mention detection, nick derivation, mode names. */
#include <math.h>

#include "dx-chat.h"
#include "dx-message-store.h"
#include "dx-random.h"
#include "dx-server-address.h"
#include "dx-stats.h"
#include "dx-text.h"
#include "dx-transport.h"

static DxMessage *
msg (const char *room, guint64 id, const char *from, const char *text, const char *cid)
{
  return dx_message_new (room, id, from, text, 1700000000000 + (gint64) id, cid);
}

static void
test_store_dedup (void)
{
  g_autoptr (DxMessageStore) store = dx_message_store_new ();
  g_autoptr (DxMessage) a = msg ("lobby", 1, "alice", "one", NULL);
  g_autoptr (DxMessage) a2 = msg ("lobby", 1, "alice", "one again", NULL);
  g_autoptr (DxMessage) b = msg ("lobby", 2, "bob", "two", NULL);
  g_autoptr (DxMessage) other = msg ("other", 1, "bob", "elsewhere", NULL);

  g_assert_true (dx_message_store_add (store, a));
  g_assert_false (dx_message_store_add (store, a2));
  g_assert_true (dx_message_store_add (store, b));
  g_assert_true (dx_message_store_add (store, other)); /* same id, other room */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 3);
  g_assert_cmpuint (dx_message_store_get_first_id (store), ==, 1);
  g_assert_cmpuint (dx_message_store_get_last_id (store), ==, 2);
}

static void
test_store_order (void)
{
  g_autoptr (DxMessageStore) store = dx_message_store_new ();
  g_autoptr (DxMessage) m3 = msg ("lobby", 3, "a", "3", NULL);
  g_autoptr (DxMessage) m5 = msg ("lobby", 5, "a", "5", NULL);
  g_autoptr (DxMessage) m4 = msg ("lobby", 4, "a", "4", NULL);
  g_autoptr (GPtrArray) older = g_ptr_array_new_with_free_func (g_object_unref);

  dx_message_store_add (store, m3);
  dx_message_store_add (store, m5);
  dx_message_store_add (store, m4); /* late: finds its place */
  g_ptr_array_add (older, msg ("lobby", 1, "a", "1", NULL));
  g_ptr_array_add (older, msg ("lobby", 2, "a", "2", NULL));
  g_ptr_array_add (older, msg ("lobby", 3, "a", "3 dup", NULL));
  g_assert_cmpuint (dx_message_store_prepend (store, older), ==, 2);
  for (guint i = 0; i < 5; i++) {
    g_autoptr (DxMessage) m = g_list_model_get_item (G_LIST_MODEL (store), i);
    g_assert_cmpuint (dx_message_get_id (m), ==, i + 1);
  }
}

static void
test_store_pending (void)
{
  g_autoptr (DxMessageStore) store = dx_message_store_new ();
  g_autoptr (DxMessage) mine = dx_message_new ("lobby", 0, "me", "hi", 1, "c-1");
  g_autoptr (DxMessage) mine2 = dx_message_new ("lobby", 0, "me", "again", 2, "c-2");
  g_autoptr (DxMessage) echo = msg ("lobby", 7, "me", "hi", "c-1");
  g_autoptr (DxMessage) echo2 = msg ("lobby", 8, "me", "again", "c-2");
  g_autoptr (GPtrArray) pending = NULL;

  dx_message_store_add_pending (store, mine);
  dx_message_store_add_pending (store, mine2);
  g_assert_true (dx_message_get_pending (mine));
  pending = dx_message_store_get_pending (store);
  g_assert_cmpuint (pending->len, ==, 2);
  /* Ack first, then the room's copy: one line. */
  dx_message_store_ack (store, "c-1", 7, 100);
  g_assert_false (dx_message_get_pending (mine));
  g_assert_cmpuint (dx_message_get_id (mine), ==, 7);
  g_assert_false (dx_message_store_add (store, echo));
  /* The room's copy first, then the ack: still one line. */
  g_assert_false (dx_message_store_add (store, echo2));
  g_assert_false (dx_message_get_pending (mine2));
  dx_message_store_ack (store, "c-2", 8, 101);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);
}

static void
test_stats (void)
{
  g_autoptr (DxStats) s = dx_stats_new ();

  g_assert_true (isnan (dx_stats_get_latency_percentile (s, 50)));
  for (int i = 1; i <= 100; i++)
    dx_stats_add_latency (s, i);
  g_assert_cmpfloat (dx_stats_get_latency_percentile (s, 50), ==, 50);
  g_assert_cmpfloat (dx_stats_get_latency_percentile (s, 95), ==, 95);
  dx_stats_add_request (s);
  dx_stats_add_bytes (s, 10, 20);
  g_assert_cmpuint (dx_stats_get_bytes_up (s), ==, 10);
  g_assert_cmpuint (dx_stats_get_bytes_down (s), ==, 20);
  dx_stats_reset (s);
  g_assert_cmpuint (dx_stats_get_requests (s), ==, 0);
}

static void
test_mentions (void)
{
  g_assert_true (dx_text_mentions ("hi @alice!", "alice"));
  g_assert_true (dx_text_mentions ("alice: ping", "alice"));
  g_assert_false (dx_text_mentions ("malice aforethought", "alice"));
  g_assert_false (dx_text_mentions ("alice_b is here", "alice"));
  g_assert_false (dx_text_mentions ("anything", ""));
}

static void
test_nick_from_name (void)
{
  g_autofree char *a = dx_nick_from_name ("jörg smith");
  g_autofree char *b = dx_nick_from_name ("ticker");
  g_autofree char *c = dx_nick_from_name ("");
  g_autofree char *d = dx_nick_from_name ("a-very-long-user-name-that-goes-on-and-on");

  g_assert_cmpstr (a, ==, "jrgsmith");
  g_assert_cmpstr (b, ==, "guest");
  g_assert_cmpstr (c, ==, "guest");
  g_assert_cmpuint (strlen (d), ==, 32);
}

static void
test_modes (void)
{
  for (int m = 0; m < DX_N_MODES; m++)
    g_assert_cmpint (dx_mode_from_string (dx_mode_to_string (m)), ==, m);
  g_assert_cmpint (dx_mode_from_string ("carrier-pigeon"), ==, -1);
  g_assert_cmpint (dx_mode_from_string (NULL), ==, -1);
}

static void
test_server_address (void)
{
  g_autofree char *trimmed = dx_server_url_trim ("http://h:1/prefix//");
  char *host = NULL;
  guint16 port = 0;

  g_assert_cmpstr (trimmed, ==, "http://h:1/prefix");
  g_assert_true (dx_server_host_port ("http://chat.example", &host, &port));
  g_assert_cmpstr (host, ==, "chat.example");
  g_assert_cmpuint (port, ==, 80);
  g_free (host);
  g_assert_true (dx_server_host_port ("https://chat.example/", &host, &port));
  g_assert_cmpuint (port, ==, 443);
  g_free (host);
  g_assert_true (dx_server_host_port ("http://[::1]:8080", &host, &port));
  g_assert_cmpstr (host, ==, "::1");
  g_assert_cmpuint (port, ==, 8080);
  g_free (host);
  g_assert_false (dx_server_host_port ("not a url", &host, &port));
  g_assert_null (host);
}

/* Not a test of randomness: that the bytes come, and are not a constant. */
static void
test_random (void)
{
  guint8 a[16] = { 0 }, b[16] = { 0 };

  g_assert_true (dx_random_fill (a, sizeof a));
  g_assert_true (dx_random_fill (b, sizeof b));
  g_assert_true (memcmp (a, b, sizeof a) != 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/store/dedup", test_store_dedup);
  g_test_add_func ("/store/order", test_store_order);
  g_test_add_func ("/store/pending", test_store_pending);
  g_test_add_func ("/stats/percentiles", test_stats);
  g_test_add_func ("/chat/mentions", test_mentions);
  g_test_add_func ("/app/nick-from-name", test_nick_from_name);
  g_test_add_func ("/transport/modes", test_modes);
  g_test_add_func ("/server-address/parse", test_server_address);
  g_test_add_func ("/random/fill", test_random);
  return g_test_run ();
}
