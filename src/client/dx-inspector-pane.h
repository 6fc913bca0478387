/* DxInspectorPane: the wire inspector — what the current mode puts on the
 * wire as it happens (a DxWireLog: HTTP heads, WebSocket frames, SSE
 * events, NDJSON lines), one row per entry with its bytes, the selected
 * entry in full, and the mode's overhead (wire bytes beyond the chat
 * text). Pausable, filterable by direction, copyable. */
#pragma once

#include <gtk/gtk.h>

#include "dx-chat.h"

G_BEGIN_DECLS

#define DX_TYPE_INSPECTOR_PANE (dx_inspector_pane_get_type ())
G_DECLARE_FINAL_TYPE (DxInspectorPane, dx_inspector_pane, DX, INSPECTOR_PANE, GtkBox)

/* Show chat's wire log and its current mode's overhead. */
void dx_inspector_pane_bind (DxInspectorPane *self, DxChat *chat);

G_END_DECLS
