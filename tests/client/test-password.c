/* The server's password (docs/protocol.md §4, §5, §8, §9 --password-file)
 * against the real duplexd, on every transport: without a password, and
 * with a wrong one, the transport says ::password-required (refused FALSE,
 * then TRUE), does not retry on its own, and the queued message is not
 * stored; with the right one it goes out with its cid and is stored once.
 * (What the window says is test-ui-password.py's.) One server for all six
 * modes. */
#include <glib/gstdio.h>
#include <string.h>

#include "dx-base-transport.h"
#include "dx-chat.h"
#include "dx-poll-transport.h"
#include "dx-test-server.h"
#include "dx-transport-factory.h"

#define PASSWORD "correct horse"

static DxTestServer server;

/* What a transport or a chat said (their signals of the same names). */
typedef struct {
  guint required;
  gboolean last_refused;
  guint acked;
  GPtrArray *errors;
} Seen;

static void
on_required (gpointer emitter, gboolean refused, Seen *seen)
{
  seen->required++;
  seen->last_refused = refused;
}

static void
on_ack (DxTransport *t, const char *cid, guint64 id, gint64 ts, Seen *seen)
{
  seen->acked++;
}

static void
on_error (gpointer emitter, const char *why, Seen *seen)
{
  g_ptr_array_add (seen->errors, g_strdup (why));
}

static gboolean
required_once (gpointer data)
{
  return ((Seen *) data)->required == 1;
}

static gboolean
required_twice (gpointer data)
{
  return ((Seen *) data)->required == 2;
}

static gboolean
acked (gpointer data)
{
  return ((Seen *) data)->acked == 1;
}

/* How many stored messages of room carry cid. */
static guint
stored_copies (const char *room, const char *cid)
{
  g_autoptr (GPtrArray) stored = dx_test_get_messages (&server, room);
  guint n = 0;

  for (guint i = 0; i < stored->len; i++)
    if (g_strcmp0 (((dx_msg *) stored->pdata[i])->cid, cid) == 0)
      n++;
  return n;
}

static void
test_password (gconstpointer data)
{
  DxMode mode = GPOINTER_TO_UINT (data);
  const char *name = dx_mode_to_string (mode);
  Seen seen = { .errors = g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (DxTransport) t = NULL;
  g_autofree char *room = g_strdup_printf ("pw-%s", name);
  g_autofree char *cid = g_strdup_printf ("c-%s", name);

  t = dx_transport_new (mode, server.url, "keyholder", NULL);
  if (mode == DX_MODE_POLL)
    dx_poll_transport_set_interval (DX_POLL_TRANSPORT (t), 200);
  g_signal_connect (t, "password-required", G_CALLBACK (on_required), &seen);
  g_signal_connect (t, "ack", G_CALLBACK (on_ack), &seen);
  g_signal_connect (t, "error", G_CALLBACK (on_error), &seen);
  dx_transport_connect (t, room, 0, NULL);
  /* The socket modes are refused at hello, the HTTP ones at the session
   * their first send asks for: either way the message waits. */
  dx_transport_send (t, "only with the password", cid);

  g_assert_true (dx_test_wait (required_once, &seen, 10000));
  g_assert_false (seen.last_refused);
  g_assert_true (dx_base_transport_get_awaiting_password (DX_BASE_TRANSPORT (t)));

  dx_base_transport_set_password (DX_BASE_TRANSPORT (t), "wrong");
  g_assert_true (dx_test_wait (required_twice, &seen, 10000));
  g_assert_true (seen.last_refused);
  /* No reconnect loop while waiting for a person (a failure would say
   * "error"), and nothing stored. */
  dx_test_sleep (300);
  g_assert_cmpuint (seen.required, ==, 2);
  g_assert_cmpuint (seen.errors->len, ==, 0);
  g_assert_cmpuint (seen.acked, ==, 0);
  g_assert_cmpuint (stored_copies (room, cid), ==, 0);

  dx_base_transport_set_password (DX_BASE_TRANSPORT (t), PASSWORD);
  g_assert_true (dx_test_wait (acked, &seen, 10000));
  g_assert_false (dx_base_transport_get_awaiting_password (DX_BASE_TRANSPORT (t)));
  g_assert_cmpuint (stored_copies (room, cid), ==, 1);
  g_assert_cmpuint (seen.required, ==, 2);
  dx_transport_disconnect (t);
  g_ptr_array_unref (seen.errors);
}

/* A password set before connecting is sent from the first hello/session:
 * no refusal at all. */
static void
test_known_password (gconstpointer data)
{
  DxMode mode = GPOINTER_TO_UINT (data);
  Seen seen = { .errors = g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (DxTransport) t = dx_transport_new (mode, server.url, "prepared", NULL);
  g_autofree char *cid = g_strdup_printf ("k-%s", dx_mode_to_string (mode));

  dx_base_transport_set_password (DX_BASE_TRANSPORT (t), PASSWORD);
  g_signal_connect (t, "password-required", G_CALLBACK (on_required), &seen);
  g_signal_connect (t, "ack", G_CALLBACK (on_ack), &seen);
  g_signal_connect (t, "error", G_CALLBACK (on_error), &seen);
  dx_transport_connect (t, "pw-known", 0, NULL);
  dx_transport_send (t, "known", cid);
  g_assert_true (dx_test_wait (acked, &seen, 10000));
  g_assert_cmpuint (seen.required, ==, 0);
  g_assert_cmpuint (seen.errors->len, ==, 0);
  dx_transport_disconnect (t);
  g_ptr_array_unref (seen.errors);
}

/* ---- the chat: what the window is told, and a switch of transport ---- */

static gboolean
nothing_pending (gpointer data)
{
  g_autoptr (GPtrArray) pending = dx_message_store_get_pending (dx_chat_get_store (data));

  return pending->len == 0;
}

/* The chat says what went wrong in words, keeps the password over
 * switches of transport, and each mode then sends with it. */
static void
test_chat (void)
{
  static const DxMode next[] = { DX_MODE_TCP, DX_MODE_LONGPOLL, DX_MODE_UDP, DX_MODE_SSE };
  Seen seen = { .errors = g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (DxChat) chat = dx_chat_new (server.url, "switcher");
  g_autoptr (GPtrArray) stored = NULL;

  g_signal_connect (chat, "password-required", G_CALLBACK (on_required), &seen);
  g_signal_connect (chat, "error", G_CALLBACK (on_error), &seen);
  dx_chat_start (chat, "pw-chat", DX_MODE_WEBSOCKET);
  g_assert_true (dx_test_wait (required_once, &seen, 10000));
  g_assert_false (seen.last_refused);
  g_assert_cmpuint (seen.errors->len, ==, 1);
  g_assert_cmpstr (seen.errors->pdata[0], ==, "This server needs a password");
  g_assert_true (dx_chat_get_password_needed (chat));

  dx_chat_set_password (chat, "wrong");
  g_assert_true (dx_test_wait (required_twice, &seen, 10000));
  g_assert_true (seen.last_refused);
  g_assert_cmpuint (seen.errors->len, ==, 2);
  g_assert_cmpstr (seen.errors->pdata[1], ==, "Wrong password: the server refused it");

  dx_chat_set_password (chat, PASSWORD);
  g_assert_false (dx_chat_get_password_needed (chat));
  g_assert_true (dx_chat_send (chat, "over websocket"));
  g_assert_true (dx_test_wait (nothing_pending, chat, 10000));
  for (guint i = 0; i < G_N_ELEMENTS (next); i++) {
    g_autofree char *text = g_strdup_printf ("over %s", dx_mode_to_string (next[i]));
    dx_chat_set_mode (chat, next[i]);
    g_assert_true (dx_chat_send (chat, text));
    g_assert_true (dx_test_wait (nothing_pending, chat, 10000));
  }
  g_assert_cmpuint (seen.required, ==, 2);
  stored = dx_test_get_messages (&server, "pw-chat");
  g_assert_cmpuint (stored->len, ==, 1 + G_N_ELEMENTS (next));
  dx_chat_stop (chat);
  g_ptr_array_unref (seen.errors);
}

int
main (int argc, char *argv[])
{
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  g_log_set_debug_enabled (FALSE);
  dir = g_dir_make_tmp ("duplex-pw-XXXXXX", NULL);
  g_assert_nonnull (dir);
  file = g_build_filename (dir, "password", NULL);
  /* The server's rule: the first line, trailing spaces cut. */
  g_assert_true (g_file_set_contents (file, PASSWORD "  \nsecond line\n", -1, NULL));
  {
    const char *const args[] = { "--password-file", file, "--udp", "127.0.0.1:0", NULL };
    dx_test_server_start_args (&server, args);
  }
  g_assert_cmpuint (server.udp, !=, 0);
  for (int m = 0; m < DX_N_MODES; m++) {
    g_autofree char *path =
        g_strdup_printf ("/password/%s/refused-then-right", dx_mode_to_string (m));
    g_autofree char *known = g_strdup_printf ("/password/%s/known", dx_mode_to_string (m));
    g_test_add_data_func (path, GUINT_TO_POINTER (m), test_password);
    g_test_add_data_func (known, GUINT_TO_POINTER (m), test_known_password);
  }
  g_test_add_func ("/password/chat/told-and-switched", test_chat);
  rc = g_test_run ();
  dx_test_server_free (&server);
  g_unlink (file);
  g_rmdir (dir);
  return rc;
}
