/* DxTimeWaitView: the connections of the current mode (opened, closed,
 * open now) and the TIME_WAIT figures of both ends, with one line saying
 * which side closed first. Part of the statistics panel. */
#pragma once

#include <gtk/gtk.h>

#include "dx-chat.h"

G_BEGIN_DECLS

#define DX_TYPE_TIME_WAIT_VIEW (dx_time_wait_view_get_type ())
G_DECLARE_FINAL_TYPE (DxTimeWaitView, dx_time_wait_view, DX, TIME_WAIT_VIEW, GtkWidget)

/* Show `chat`'s connections and the TIME_WAIT at its server. */
void dx_time_wait_view_bind (DxTimeWaitView *self, DxChat *chat);
/* Show the current mode's connection counts now (the statistics panel
 * calls it with its own figures, so the two agree). */
void dx_time_wait_view_refresh (DxTimeWaitView *self);

G_END_DECLS
