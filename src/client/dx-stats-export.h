/* The statistics export: what each mode cost a chat, its live switches and
 * what the transports delivered per room, as JSON or CSV. Written from the
 * menu (Save Statistics…) and, with --stats-file, when the application
 * exits. The JSON shape is read by tests (the Wine client test among them):
 *
 *   {"version":1,"server":…,"nick":…,"room":…,"epoch":…|null,
 *    "modes":[{"mode":"poll","messages":N,"requests":N,"bytes_up":N,
 *              "bytes_down":N,"connections":N,"empty_polls":N,
 *              "latency_p50_ms":F|null,"latency_p95_ms":F|null},…],
 *    "switches":[{"at_ms":N,"from":"poll","to":"sse","last_id":N},…],
 *    "deliveries":{"room":{"first_id":N,"last_id":N,"count":N,
 *                          "duplicates":N,"gaps":N},…}}
 *
 * CSV: a header row and one row per mode, a blank line, then a header row
 * and one row per switch. */
#pragma once

#include "dx-chat.h"
#include "dx-run-log.h"

G_BEGIN_DECLS

typedef enum {
  DX_STATS_FORMAT_JSON,
  DX_STATS_FORMAT_CSV,
} DxStatsFormat;

/* Both list the modes `log` saw used, with `chat`'s figures for them. */
char *dx_stats_export_json (DxChat *chat, DxRunLog *log);
char *dx_stats_export_csv (DxChat *chat, DxRunLog *log);

/* The format a file name asks for by its extension (.json or .csv, any
 * case); FALSE for any other name. */
gboolean dx_stats_format_for_path (const char *path, DxStatsFormat *format);

/* Write the export to `path` (replacing it atomically). */
gboolean dx_stats_export_save (DxChat *chat, DxRunLog *log, const char *path, DxStatsFormat format,
                               GError **error);

G_END_DECLS
