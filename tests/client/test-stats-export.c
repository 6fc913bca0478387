/* The statistics export without a server or a window: the run log's
 * duplicate and gap counting, the JSON writer (field names, escaping, null
 * latency) and the CSV shape, the format chosen by the file extension. */
#include <string.h>

#include <glib/gstdio.h>

#include "dx-chat.h"
#include "dx-run-log.h"
#include "dx-stats-export.h"
#include "dx-test-json.h"

/* Quotes, a backslash, control characters and non-ASCII text: all must
 * come back unchanged from the JSON. */
#define ODD_NICK "al\"ice\\\n\t\x01☃"

static const char *
get (GHashTable *doc, const char *path)
{
  return g_hash_table_lookup (doc, path);
}

static void
test_run_log_counts (void)
{
  g_autoptr (DxRunLog) log = dx_run_log_new ();
  const DxDeliveryCounts *d;

  for (guint64 id = 3; id <= 5; id++)
    dx_run_log_add_delivery (log, "lobby", id);
  dx_run_log_add_delivery (log, "lobby", 5); /* repeated */
  dx_run_log_add_delivery (log, "lobby", 4); /* older than the last */
  dx_run_log_add_delivery (log, "lobby", 9); /* 6, 7, 8 missing */
  dx_run_log_add_delivery (log, "other", 1);
  d = dx_run_log_get_deliveries (log, "lobby");
  g_assert_cmpuint (d->first_id, ==, 3);
  g_assert_cmpuint (d->last_id, ==, 9);
  g_assert_cmpuint (d->count, ==, 6);
  g_assert_cmpuint (d->duplicates, ==, 2);
  g_assert_cmpuint (d->gaps, ==, 3);
  /* Ids start over (a new store epoch): 1 is neither a repeat nor a gap. */
  dx_run_log_restart_ids (log);
  dx_run_log_add_delivery (log, "lobby", 1);
  dx_run_log_add_delivery (log, "lobby", 2);
  g_assert_cmpuint (d->duplicates, ==, 2);
  g_assert_cmpuint (d->gaps, ==, 3);
  g_assert_cmpuint (d->last_id, ==, 2);
  g_assert_cmpstr (dx_run_log_get_rooms (log)[0], ==, "lobby");
  g_assert_cmpstr (dx_run_log_get_rooms (log)[1], ==, "other");
  g_assert_null (dx_run_log_get_rooms (log)[2]);
  g_assert_null (dx_run_log_get_deliveries (log, "nowhere"));
}

/* A chat (never started: no network) with figures for poll and sse, a
 * switch and deliveries in two rooms. */
static void
fill (DxChat *chat, DxRunLog *log)
{
  DxStats *poll = dx_chat_get_stats (chat, DX_MODE_POLL);

  for (int i = 0; i < 3; i++)
    dx_stats_add_request (poll);
  dx_stats_add_bytes (poll, 100, 200);
  dx_stats_add_connection (poll);
  dx_stats_add_tls_handshake (poll);
  dx_stats_add_empty_poll (poll);
  dx_stats_add_empty_poll (poll);
  dx_stats_add_message (poll);
  dx_stats_add_message (poll);
  dx_stats_add_latency (poll, 10.0);
  dx_stats_add_latency (poll, 20.26);
  dx_stats_add_message (dx_chat_get_stats (chat, DX_MODE_SSE));
  dx_run_log_add_mode (log, DX_MODE_POLL);
  dx_run_log_add_switch (log, G_GINT64_CONSTANT (1763900000123), DX_MODE_POLL, DX_MODE_SSE, 17);
  dx_run_log_add_delivery (log, "lobby", 1);
  dx_run_log_add_delivery (log, "lobby", 2);
  dx_run_log_add_delivery (log, "ro\"om", 5);
}

static void
test_json (void)
{
  g_autoptr (DxChat) chat = dx_chat_new ("http://127.0.0.1:9/", ODD_NICK);
  g_autoptr (DxRunLog) log = dx_run_log_new ();
  g_autofree char *json = NULL;
  g_autoptr (GHashTable) doc = NULL;

  fill (chat, log);
  json = dx_stats_export_json (chat, log);
  g_assert_nonnull (json);
  doc = dx_test_json_flatten (json);
  g_assert_nonnull (doc);
  g_assert_cmpstr (get (doc, "version"), ==, "1");
  g_assert_cmpstr (get (doc, "server"), ==, "http://127.0.0.1:9");
  g_assert_cmpstr (get (doc, "nick"), ==, ODD_NICK);
  /* Short escapes where JSON has them, \u00XX for the other controls. */
  g_assert_nonnull (strstr (json, "\"al\\\"ice\\\\\\n\\t\\u0001☃\""));
  g_assert_cmpstr (get (doc, "room"), ==, "null");
  g_assert_cmpstr (get (doc, "epoch"), ==, "null");

  g_assert_cmpstr (get (doc, "modes.0.mode"), ==, "poll");
  g_assert_cmpstr (get (doc, "modes.0.messages"), ==, "2");
  g_assert_cmpstr (get (doc, "modes.0.requests"), ==, "3");
  g_assert_cmpstr (get (doc, "modes.0.bytes_up"), ==, "100");
  g_assert_cmpstr (get (doc, "modes.0.bytes_down"), ==, "200");
  g_assert_cmpstr (get (doc, "modes.0.connections"), ==, "1");
  g_assert_cmpstr (get (doc, "modes.0.empty_polls"), ==, "2");
  g_assert_cmpstr (get (doc, "modes.0.tls_handshakes"), ==, "1");
  g_assert_cmpstr (get (doc, "modes.0.latency_p50_ms"), ==, "10.0");
  g_assert_cmpstr (get (doc, "modes.0.latency_p95_ms"), ==, "20.3");
  g_assert_cmpstr (get (doc, "modes.1.mode"), ==, "sse");
  g_assert_cmpstr (get (doc, "modes.1.messages"), ==, "1");
  g_assert_cmpstr (get (doc, "modes.1.latency_p50_ms"), ==, "null");
  g_assert_cmpstr (get (doc, "modes.1.latency_p95_ms"), ==, "null");
  /* Modes the run never used are left out, figures or not. */
  g_assert_null (get (doc, "modes.2.mode"));

  g_assert_cmpstr (get (doc, "switches.0.at_ms"), ==, "1763900000123");
  g_assert_cmpstr (get (doc, "switches.0.from"), ==, "poll");
  g_assert_cmpstr (get (doc, "switches.0.to"), ==, "sse");
  g_assert_cmpstr (get (doc, "switches.0.last_id"), ==, "17");
  g_assert_null (get (doc, "switches.1.to"));

  g_assert_cmpstr (get (doc, "deliveries.lobby.first_id"), ==, "1");
  g_assert_cmpstr (get (doc, "deliveries.lobby.last_id"), ==, "2");
  g_assert_cmpstr (get (doc, "deliveries.lobby.count"), ==, "2");
  g_assert_cmpstr (get (doc, "deliveries.lobby.duplicates"), ==, "0");
  g_assert_cmpstr (get (doc, "deliveries.lobby.gaps"), ==, "0");
  g_assert_cmpstr (get (doc, "deliveries.ro\"om.count"), ==, "1");
}

static void
test_json_empty_run (void)
{
  g_autoptr (DxChat) chat = dx_chat_new ("http://127.0.0.1:9", "bob");
  g_autoptr (DxRunLog) log = dx_run_log_new ();
  g_autofree char *json = dx_stats_export_json (chat, log);
  g_autoptr (GHashTable) doc = dx_test_json_flatten (json);

  /* Empty lists are still lists: a reader may index them without checks. */
  g_assert_nonnull (doc);
  g_assert_nonnull (strstr (json, "\"modes\":[]"));
  g_assert_nonnull (strstr (json, "\"switches\":[]"));
  g_assert_nonnull (strstr (json, "\"deliveries\":{}"));
}

static void
test_csv (void)
{
  g_autoptr (DxChat) chat = dx_chat_new ("http://127.0.0.1:9", "bob");
  g_autoptr (DxRunLog) log = dx_run_log_new ();
  g_autofree char *csv = NULL;
  g_auto (GStrv) lines = NULL;

  fill (chat, log);
  csv = dx_stats_export_csv (chat, log);
  lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 7);
  g_assert_cmpstr (lines[0], ==,
                   "mode,messages,requests,bytes_up,bytes_down,connections,empty_polls,"
                   "latency_p50_ms,latency_p95_ms");
  g_assert_cmpstr (lines[1], ==, "poll,2,3,100,200,1,2,10.0,20.3");
  /* No latency sample: an empty field, the column count unchanged. */
  g_assert_cmpstr (lines[2], ==, "sse,1,0,0,0,0,0,,");
  g_assert_cmpstr (lines[3], ==, "");
  g_assert_cmpstr (lines[4], ==, "at_ms,from,to,last_id");
  g_assert_cmpstr (lines[5], ==, "1763900000123,poll,sse,17");
  g_assert_cmpstr (lines[6], ==, "");
}

static void
test_save (void)
{
  g_autoptr (DxChat) chat = dx_chat_new ("http://127.0.0.1:9", "bob");
  g_autoptr (DxChat) bad = dx_chat_new ("http://127.0.0.1:9", "b\xffob");
  g_autoptr (DxRunLog) log = dx_run_log_new ();
  g_autofree char *dir = g_dir_make_tmp ("duplex-export-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "stats.JSON", NULL);
  g_autofree char *text = NULL;
  g_autofree char *want = NULL;
  g_autoptr (GError) error = NULL;
  DxStatsFormat format = DX_STATS_FORMAT_CSV;

  g_assert_true (dx_stats_format_for_path (path, &format));
  g_assert_cmpint (format, ==, DX_STATS_FORMAT_JSON);
  g_assert_true (dx_stats_format_for_path ("/tmp/a.csv", &format));
  g_assert_cmpint (format, ==, DX_STATS_FORMAT_CSV);
  g_assert_false (dx_stats_format_for_path ("/tmp/a.txt", &format));
  g_assert_false (dx_stats_format_for_path ("/tmp/json", &format));

  fill (chat, log);
  g_assert_true (dx_stats_export_save (chat, log, path, DX_STATS_FORMAT_JSON, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  want = dx_stats_export_json (chat, log);
  g_assert_cmpstr (text, ==, want);
  /* Text that is not UTF-8 cannot be written as JSON: an error, no file. */
  g_assert_null (dx_stats_export_json (bad, log));
  g_assert_false (dx_stats_export_save (bad, log, path, DX_STATS_FORMAT_JSON, &error));
  g_assert_nonnull (error);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/run-log/counts", test_run_log_counts);
  g_test_add_func ("/stats-export/json", test_json);
  g_test_add_func ("/stats-export/json-empty-run", test_json_empty_run);
  g_test_add_func ("/stats-export/csv", test_csv);
  g_test_add_func ("/stats-export/save", test_save);
  return g_test_run ();
}
