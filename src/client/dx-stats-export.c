#include "dx-config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "protocol/json.h"

#include "dx-stats-export.h"

/* Latency with one decimal whatever the locale, or `none` (JSON null, an
 * empty CSV field) when the mode has no sample. */
static const char *
latency_text (char buf[G_ASCII_DTOSTR_BUF_SIZE], double ms, const char *none)
{
  return isnan (ms) ? none : g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, "%.1f", ms);
}

static void
json_member_u64 (dx_buffer *b, const char *key, guint64 v)
{
  dx_buffer_append_char (b, ',');
  dx_json_write_key (b, key);
  dx_json_write_u64 (b, v);
}

static void
json_string_or_null (dx_buffer *b, const char *s)
{
  if (s != NULL)
    dx_json_write_cstr (b, s);
  else
    dx_json_write_null (b);
}

/* What only UDP shows (docs/protocol.md §8): its mode object carries it. */
static void
json_udp (dx_buffer *b, DxStats *s)
{
  json_member_u64 (b, "gaps", dx_stats_get_gaps (s));
  json_member_u64 (b, "missing", dx_stats_get_missing (s));
  json_member_u64 (b, "reordered", dx_stats_get_reordered (s));
  json_member_u64 (b, "duplicates", dx_stats_get_duplicates (s));
  json_member_u64 (b, "repaired", dx_stats_get_repaired (s));
  json_member_u64 (b, "simulated_loss", dx_stats_get_simulated_loss (s));
}

static void
json_modes (dx_buffer *b, DxChat *chat, DxRunLog *log)
{
  gboolean first = TRUE;

  dx_json_write_key (b, "modes");
  dx_buffer_append_char (b, '[');
  for (int m = 0; m < DX_N_MODES; m++) {
    DxStats *s = dx_chat_get_stats (chat, m);
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    if (!dx_run_log_mode_used (log, m))
      continue;
    dx_buffer_append_str (b, first ? "\n {" : ",\n {");
    first = FALSE;
    dx_json_write_key (b, "mode");
    dx_json_write_cstr (b, dx_mode_to_string (m));
    json_member_u64 (b, "messages", dx_stats_get_messages (s));
    json_member_u64 (b, "requests", dx_stats_get_requests (s));
    json_member_u64 (b, "bytes_up", dx_stats_get_bytes_up (s));
    json_member_u64 (b, "bytes_down", dx_stats_get_bytes_down (s));
    json_member_u64 (b, "connections", dx_stats_get_connections (s));
    json_member_u64 (b, "empty_polls", dx_stats_get_empty_polls (s));
    json_member_u64 (b, "tls_handshakes", dx_stats_get_tls_handshakes (s));
    dx_buffer_append_char (b, ',');
    dx_json_write_key (b, "latency_p50_ms");
    dx_buffer_append_str (b, latency_text (buf, dx_stats_get_latency_percentile (s, 50), "null"));
    dx_buffer_append_char (b, ',');
    dx_json_write_key (b, "latency_p95_ms");
    dx_buffer_append_str (b, latency_text (buf, dx_stats_get_latency_percentile (s, 95), "null"));
    if (m == DX_MODE_UDP)
      json_udp (b, s);
    dx_buffer_append_char (b, '}');
  }
  dx_buffer_append_char (b, ']');
}

static void
json_switches (dx_buffer *b, DxRunLog *log)
{
  dx_json_write_key (b, "switches");
  dx_buffer_append_char (b, '[');
  for (guint i = 0; i < dx_run_log_get_n_switches (log); i++) {
    const DxSwitchRecord *r = dx_run_log_get_switch (log, i);

    dx_buffer_append_str (b, i == 0 ? "\n {" : ",\n {");
    dx_json_write_key (b, "at_ms");
    dx_json_write_i64 (b, r->at_ms);
    dx_buffer_append_char (b, ',');
    dx_json_write_key (b, "from");
    dx_json_write_cstr (b, dx_mode_to_string (r->from));
    dx_buffer_append_char (b, ',');
    dx_json_write_key (b, "to");
    dx_json_write_cstr (b, dx_mode_to_string (r->to));
    json_member_u64 (b, "last_id", r->last_id);
    dx_buffer_append_char (b, '}');
  }
  dx_buffer_append_char (b, ']');
}

static void
json_deliveries (dx_buffer *b, DxRunLog *log)
{
  const char *const *rooms = dx_run_log_get_rooms (log);

  dx_json_write_key (b, "deliveries");
  dx_buffer_append_char (b, '{');
  for (guint i = 0; rooms[i] != NULL; i++) {
    const DxDeliveryCounts *d = dx_run_log_get_deliveries (log, rooms[i]);

    dx_buffer_append_str (b, i == 0 ? "\n " : ",\n ");
    dx_json_write_key (b, rooms[i]);
    dx_buffer_append_char (b, '{');
    dx_json_write_key (b, "first_id");
    dx_json_write_u64 (b, d->first_id);
    json_member_u64 (b, "last_id", d->last_id);
    json_member_u64 (b, "count", d->count);
    json_member_u64 (b, "duplicates", d->duplicates);
    json_member_u64 (b, "gaps", d->gaps);
    dx_buffer_append_char (b, '}');
  }
  dx_buffer_append_char (b, '}');
}

/* A dx_buffer's bytes as a g_free()-able string; NULL if it failed (a
 * string that is not UTF-8: the JSON writer refuses to pass it on). */
static char *
take_buffer (dx_buffer *b)
{
  char *out = b->failed ? NULL : g_strndup (b->data, b->len);

  dx_buffer_free (b);
  return out;
}

char *
dx_stats_export_json (DxChat *chat, DxRunLog *log)
{
  dx_buffer b;

  dx_buffer_init (&b, 0);
  dx_buffer_append_char (&b, '{');
  dx_json_write_key (&b, "version");
  dx_json_write_u64 (&b, 1);
  dx_buffer_append_str (&b, ",\n");
  dx_json_write_key (&b, "server");
  json_string_or_null (&b, dx_chat_get_server_url (chat));
  dx_buffer_append_char (&b, ',');
  dx_json_write_key (&b, "nick");
  json_string_or_null (&b, dx_chat_get_nick (chat));
  dx_buffer_append_char (&b, ',');
  dx_json_write_key (&b, "room");
  json_string_or_null (&b, dx_chat_get_room (chat));
  dx_buffer_append_char (&b, ',');
  dx_json_write_key (&b, "epoch");
  json_string_or_null (&b, dx_chat_get_epoch (chat));
  dx_buffer_append_str (&b, ",\n");
  json_modes (&b, chat, log);
  dx_buffer_append_str (&b, ",\n");
  json_switches (&b, log);
  dx_buffer_append_str (&b, ",\n");
  json_deliveries (&b, log);
  dx_buffer_append_str (&b, "}\n");
  return take_buffer (&b);
}

char *
dx_stats_export_csv (DxChat *chat, DxRunLog *log)
{
  GString *out = g_string_new ("mode,messages,requests,bytes_up,bytes_down,connections,"
                               "empty_polls,latency_p50_ms,latency_p95_ms\n");

  /* Every field is a mode name or a number: nothing needs quoting. */
  for (int m = 0; m < DX_N_MODES; m++) {
    DxStats *s = dx_chat_get_stats (chat, m);
    char p50[G_ASCII_DTOSTR_BUF_SIZE], p95[G_ASCII_DTOSTR_BUF_SIZE];

    if (!dx_run_log_mode_used (log, m))
      continue;
    g_string_append_printf (
        out,
        "%s,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
        ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%s,%s\n",
        dx_mode_to_string (m), dx_stats_get_messages (s), dx_stats_get_requests (s),
        dx_stats_get_bytes_up (s), dx_stats_get_bytes_down (s), dx_stats_get_connections (s),
        dx_stats_get_empty_polls (s),
        latency_text (p50, dx_stats_get_latency_percentile (s, 50), ""),
        latency_text (p95, dx_stats_get_latency_percentile (s, 95), ""));
  }
  if (dx_run_log_mode_used (log, DX_MODE_UDP)) {
    DxStats *s = dx_chat_get_stats (chat, DX_MODE_UDP);
    g_string_append_printf (out,
                            "\nmode,gaps,missing,reordered,duplicates,repaired,simulated_loss\n"
                            "udp,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                            ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "\n",
                            dx_stats_get_gaps (s), dx_stats_get_missing (s),
                            dx_stats_get_reordered (s), dx_stats_get_duplicates (s),
                            dx_stats_get_repaired (s), dx_stats_get_simulated_loss (s));
  }
  g_string_append (out, "\nat_ms,from,to,last_id\n");
  for (guint i = 0; i < dx_run_log_get_n_switches (log); i++) {
    const DxSwitchRecord *r = dx_run_log_get_switch (log, i);

    g_string_append_printf (out, "%" G_GINT64_FORMAT ",%s,%s,%" G_GUINT64_FORMAT "\n", r->at_ms,
                            dx_mode_to_string (r->from), dx_mode_to_string (r->to), r->last_id);
  }
  return g_string_free (out, FALSE);
}

gboolean
dx_stats_format_for_path (const char *path, DxStatsFormat *format)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);

  if (g_str_has_suffix (lower, ".json"))
    *format = DX_STATS_FORMAT_JSON;
  else if (g_str_has_suffix (lower, ".csv"))
    *format = DX_STATS_FORMAT_CSV;
  else
    return FALSE;
  return TRUE;
}

gboolean
dx_stats_export_save (DxChat *chat, DxRunLog *log, const char *path, DxStatsFormat format,
                      GError **error)
{
  g_autofree char *text = format == DX_STATS_FORMAT_CSV ? dx_stats_export_csv (chat, log)
                                                        : dx_stats_export_json (chat, log);

  if (text == NULL) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         _ ("The statistics could not be encoded."));
    return FALSE;
  }
  return g_file_set_contents (path, text, -1, error);
}
