/* DxChart: latency over the last two minutes, one dot per message coloured
 * by transport mode, on a log scale (WebSocket's 1 ms and short polling's
 * second both stay readable), with a vertical mark at every switch. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DX_TYPE_CHART (dx_chart_get_type ())
G_DECLARE_FINAL_TYPE (DxChart, dx_chart, DX, CHART, GtkWidget)

GtkWidget *dx_chart_new (void);
void dx_chart_add_sample (DxChart *self, guint mode, double latency_ms);
void dx_chart_add_mark (DxChart *self, guint mode);
void dx_chart_clear (DxChart *self);
guint dx_chart_get_n_samples (DxChart *self);

G_END_DECLS
