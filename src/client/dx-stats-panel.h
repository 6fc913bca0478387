/* DxStatsPanel: the figures of the current transport (requests, bytes with
 * headers, connections, empty polls, latency p50/p95), the live tunables
 * (poll interval, long-poll wait, keep-alive) and the latency chart. */
#pragma once

#include <gtk/gtk.h>

#include "dx-chart.h"
#include "dx-chat.h"
#include "dx-settings.h"

G_BEGIN_DECLS

#define DX_TYPE_STATS_PANEL (dx_stats_panel_get_type ())
G_DECLARE_FINAL_TYPE (DxStatsPanel, dx_stats_panel, DX, STATS_PANEL, GtkWidget)

GtkWidget *dx_stats_panel_new (void);
/* Show `chat`'s figures; tunables are read from and saved to `settings`. */
void dx_stats_panel_bind (DxStatsPanel *self, DxChat *chat, DxSettings *settings);
DxChart *dx_stats_panel_get_chart (DxStatsPanel *self);

G_END_DECLS
