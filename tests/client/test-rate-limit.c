/* The send rate (docs/protocol.md §9) against the real duplexd: a client
 * that sends faster than --send-rate is told to wait (rate_limited with
 * retry_after, or 429 with Retry-After), says so, and its outbox resends
 * with the same cid until every message is stored exactly once. */
#include <string.h>

#include "dx-base-transport.h"
#include "dx-poll-transport.h"
#include "dx-test-server.h"
#include "dx-transport-factory.h"

#define N_SENDS 30

typedef struct {
  GHashTable *acked; /* cid -> id */
  guint notices;     /* "Sending too fast" errors */
  guint other_errors;
} Seen;

static void
on_ack (DxTransport *t, const char *cid, guint64 id, gint64 ts, Seen *seen)
{
  g_hash_table_insert (seen->acked, g_strdup (cid), GUINT_TO_POINTER ((guint) id));
}

static void
on_error (DxTransport *t, const char *why, Seen *seen)
{
  if (strstr (why, "retrying in") != NULL)
    seen->notices++;
  else
    seen->other_errors++;
}

static gboolean
is_connected (gpointer data)
{
  return dx_transport_get_state (data) == DX_TRANSPORT_CONNECTED;
}

static gboolean
has_first (gpointer data)
{
  return g_hash_table_size (((Seen *) data)->acked) == 1;
}

static gboolean
all_acked (gpointer data)
{
  return g_hash_table_size (((Seen *) data)->acked) == N_SENDS;
}

static void
test_flood (gconstpointer data)
{
  DxMode mode = GPOINTER_TO_UINT (data);
  const char *const extra[] = { "--send-rate", "5/1", NULL };
  DxTestServer s;
  Seen seen = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0, 0 };
  g_autoptr (DxTransport) t = NULL;
  g_autoptr (GPtrArray) stored = NULL;
  g_autofree char *nick = g_strdup_printf ("fast-%s", dx_mode_to_string (mode));

  dx_test_server_start_args (&s, extra);
  t = dx_transport_new (mode, s.url, nick, NULL);
  if (mode == DX_MODE_POLL)
    dx_poll_transport_set_interval (DX_POLL_TRANSPORT (t), 200);
  g_signal_connect (t, "ack", G_CALLBACK (on_ack), &seen);
  g_signal_connect (t, "error", G_CALLBACK (on_error), &seen);
  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (is_connected, t, 10000));

  /* One first, so the HTTP modes hold their session token before the
   * flood (each POST without one would fetch its own); then the rest, three
   * times the burst (2N = 10), at once. */
  dx_transport_send (t, "fast 0", "c-0");
  g_assert_true (dx_test_wait (has_first, &seen, 10000));
  for (guint i = 1; i < N_SENDS; i++) {
    g_autofree char *text = g_strdup_printf ("fast %u", i);
    g_autofree char *cid = g_strdup_printf ("c-%u", i);
    dx_transport_send (t, text, cid);
  }
  /* 20 beyond the burst at 5/s: about 4 s. */
  g_assert_true (dx_test_wait (all_acked, &seen, 40000));
  g_assert_cmpuint (seen.notices, >, 0);
  g_assert_cmpuint (seen.other_errors, ==, 0);

  stored = dx_test_get_messages (&s, "lobby");
  g_assert_cmpuint (stored->len, ==, N_SENDS);
  for (guint i = 0; i < N_SENDS; i++) {
    g_autofree char *text = g_strdup_printf ("fast %u", i);
    g_autofree char *cid = g_strdup_printf ("c-%u", i);
    guint copies = 0;
    for (guint j = 0; j < stored->len; j++) {
      dx_msg *m = stored->pdata[j];
      if (g_strcmp0 (m->cid, cid) == 0) {
        copies++;
        g_assert_cmpstr (m->text, ==, text);
        g_assert_cmpuint (m->id, ==, GPOINTER_TO_UINT (g_hash_table_lookup (seen.acked, cid)));
      }
    }
    g_assert_cmpuint (copies, ==, 1);
  }
  dx_transport_disconnect (t);
  g_hash_table_unref (seen.acked);
  dx_test_server_free (&s);
}

/* --session-rate: the HTTP modes' session POST gets 429 too; the message
 * waits Retry-After and goes out with its cid, stored once. */
static void
test_session_rate (void)
{
  const char *const extra[] = { "--session-rate", "1/1", NULL };
  DxTestServer s;
  Seen seen = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0, 0 };
  g_autoptr (DxTransport) t = NULL;
  g_autoptr (GPtrArray) stored = NULL;

  dx_test_server_start_args (&s, extra);
  t = dx_transport_new (DX_MODE_LONGPOLL, s.url, "late", NULL);
  g_signal_connect (t, "ack", G_CALLBACK (on_ack), &seen);
  g_signal_connect (t, "error", G_CALLBACK (on_error), &seen);
  dx_transport_connect (t, "lobby", 0, NULL);
  g_assert_true (dx_test_wait (is_connected, t, 10000));
  /* Two sessions from this address empty its bucket (a burst of 2). */
  dx_test_post (&s, "a", "lobby", "one");
  dx_test_post (&s, "b", "lobby", "two");
  dx_transport_send (t, "three", "c-late");
  g_assert_true (dx_test_wait (has_first, &seen, 20000));
  g_assert_cmpuint (seen.notices, >, 0);
  g_assert_cmpuint (seen.other_errors, ==, 0);
  stored = dx_test_get_messages (&s, "lobby");
  g_assert_cmpuint (stored->len, ==, 3);
  g_assert_cmpstr (((dx_msg *) stored->pdata[2])->cid, ==, "c-late");
  dx_transport_disconnect (t);
  g_hash_table_unref (seen.acked);
  dx_test_server_free (&s);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_debug_enabled (FALSE);
  for (int m = 0; m <= DX_MODE_TCP; m++) {
    g_autofree char *path = g_strdup_printf ("/rate-limit/%s/flood", dx_mode_to_string (m));
    g_test_add_data_func (path, GUINT_TO_POINTER (m), test_flood);
  }
  g_test_add_func ("/rate-limit/session-rate/longpoll", test_session_rate);
  return g_test_run ();
}
