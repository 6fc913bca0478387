/* DxWireLog, the wire inspector's model: the ring keeps only the newest
 * entries, the direction filter, pausing, and the clipboard text. */
#include "dx-wire-log.h"

static DxWireEntry *
entry (DxWireDirection dir, guint n)
{
  g_autofree char *summary = g_strdup_printf ("entry %u", n);

  return dx_wire_entry_new (DX_MODE_WEBSOCKET, DX_WIRE_WS_FRAME, dir, summary, "detail line", 2, n,
                            -1);
}

static void
add (DxWireLog *log, DxWireDirection dir, guint n)
{
  g_autoptr (DxWireEntry) e = entry (dir, n);

  dx_wire_log_add (log, e);
}

static guint
payload_at (DxWireLog *log, guint i)
{
  g_autoptr (DxWireEntry) e = g_list_model_get_item (G_LIST_MODEL (log), i);

  return (guint) dx_wire_entry_get_payload_bytes (e);
}

typedef struct {
  guint added, removed, calls;
} Changes;

static void
on_items_changed (GListModel *model, guint position, guint removed, guint added, Changes *c)
{
  c->added += added;
  c->removed += removed;
  c->calls++;
}

static void
test_ring_bound (void)
{
  g_autoptr (DxWireLog) log = dx_wire_log_new (5);
  Changes c = { 0 };

  g_signal_connect (log, "items-changed", G_CALLBACK (on_items_changed), &c);
  g_assert_cmpuint (dx_wire_log_get_capacity (log), ==, 5);
  for (guint i = 0; i < 12; i++)
    add (log, i % 2 == 0 ? DX_WIRE_SENT : DX_WIRE_RECEIVED, i);
  /* Only the newest five are kept, oldest first. */
  g_assert_cmpuint (dx_wire_log_get_n_kept (log), ==, 5);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (log)), ==, 5);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpuint (payload_at (log, i), ==, 7 + i);
  /* Every add and every roll-off was announced to the view. */
  g_assert_cmpuint (c.added, ==, 12);
  g_assert_cmpuint (c.removed, ==, 7);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (log), 5));
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (log)) == DX_TYPE_WIRE_ENTRY);

  g_autoptr (DxWireLog) dflt = dx_wire_log_new (0);
  g_assert_cmpuint (dx_wire_log_get_capacity (dflt), ==, DX_WIRE_LOG_DEFAULT_CAPACITY);
}

static void
test_filter (void)
{
  g_autoptr (DxWireLog) log = dx_wire_log_new (6);

  for (guint i = 0; i < 6; i++)
    add (log, i < 2 ? DX_WIRE_SENT : DX_WIRE_RECEIVED, i);
  dx_wire_log_set_filter (log, DX_WIRE_FILTER_SENT);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (log)), ==, 2);
  g_assert_cmpuint (payload_at (log, 1), ==, 1);
  dx_wire_log_set_filter (log, DX_WIRE_FILTER_RECEIVED);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (log)), ==, 4);
  g_assert_cmpuint (payload_at (log, 0), ==, 2);

  /* Filtered out, the sent entries still roll off the ring: two more
   * received entries push out both sent ones, and nothing shown moves. */
  add (log, DX_WIRE_RECEIVED, 6);
  add (log, DX_WIRE_RECEIVED, 7);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (log)), ==, 6);
  g_assert_cmpuint (payload_at (log, 0), ==, 2);
  /* A new sent entry is kept but not shown; the oldest received one goes. */
  add (log, DX_WIRE_SENT, 8);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (log)), ==, 5);
  g_assert_cmpuint (payload_at (log, 0), ==, 3);

  dx_wire_log_set_filter (log, DX_WIRE_FILTER_BOTH);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (log)), ==, 6);
  g_assert_cmpuint (payload_at (log, 5), ==, 8);
  g_object_set (log, "filter", DX_WIRE_FILTER_SENT, NULL);
  g_assert_cmpint (dx_wire_log_get_filter (log), ==, DX_WIRE_FILTER_SENT);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (log)), ==, 1);

  dx_wire_log_clear (log);
  g_assert_cmpuint (dx_wire_log_get_n_kept (log), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (log)), ==, 0);
}

static void
test_pause (void)
{
  g_autoptr (DxWireLog) log = dx_wire_log_new (10);

  add (log, DX_WIRE_SENT, 1);
  dx_wire_log_set_paused (log, TRUE);
  add (log, DX_WIRE_SENT, 2);
  g_assert_cmpuint (dx_wire_log_get_n_kept (log), ==, 1);
  dx_wire_log_set_paused (log, FALSE);
  add (log, DX_WIRE_SENT, 3);
  g_assert_cmpuint (dx_wire_log_get_n_kept (log), ==, 2);
  g_assert_cmpuint (payload_at (log, 1), ==, 3);
}

static void
test_copy_text (void)
{
  g_autoptr (DxWireLog) log = dx_wire_log_new (10);
  g_autoptr (DxWireEntry) req = dx_wire_entry_new (
      DX_MODE_POLL, DX_WIRE_HTTP_REQUEST, DX_WIRE_SENT, "GET /api/v1/rooms/a/messages HTTP/1.1",
      "GET /api/v1/rooms/a/messages HTTP/1.1\r\nHost: x\r\n\r\n", 52, 0, -1);
  g_autoptr (DxWireEntry) resp =
      dx_wire_entry_new (DX_MODE_POLL, DX_WIRE_HTTP_RESPONSE, DX_WIRE_RECEIVED, "HTTP/1.1 200 OK",
                         "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n", 120, 40, 3500);
  g_autofree char *one = dx_wire_entry_to_text (resp);
  g_autofree char *all = NULL;
  g_autofree char *sent = NULL;

  g_assert_true (g_str_has_suffix (one, "\r\n\r\n"));
  g_assert_nonnull (strstr (one, "← "));
  g_assert_nonnull (strstr (one, "HTTP/1.1 200 OK (hdr 120 B + body 40 B · 3.5 ms)\n"));
  g_assert_nonnull (strstr (one, "Content-Length: 40\r\n"));

  dx_wire_log_add (log, req);
  dx_wire_log_add (log, resp);
  all = dx_wire_log_to_text (log);
  g_assert_nonnull (strstr (all, "→ "));
  g_assert_nonnull (strstr (all, "(hdr 52 B + body 0 B)\nGET /api/v1/rooms/a/messages"));
  g_assert_true (strstr (all, "GET /api") < strstr (all, "HTTP/1.1 200 OK"));
  /* The copy is what is shown: the filter applies. */
  dx_wire_log_set_filter (log, DX_WIRE_FILTER_SENT);
  sent = dx_wire_log_to_text (log);
  g_assert_null (strstr (sent, "200 OK"));
  g_assert_nonnull (strstr (sent, "Host: x"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* The texts checked are the untranslated ones. */
  g_setenv ("LANGUAGE", "C", TRUE);
  g_test_add_func ("/wire-log/ring-bound", test_ring_bound);
  g_test_add_func ("/wire-log/filter", test_filter);
  g_test_add_func ("/wire-log/pause", test_pause);
  g_test_add_func ("/wire-log/copy-text", test_copy_text);
  return g_test_run ();
}
