/* DxWireLog: the wire inspector's model — a bounded ring of the most
 * recent DxWireEntry items (the oldest roll off), shown as a GListModel
 * through a direction filter. Pausing freezes what is shown; entries that
 * arrive while paused are not kept. Transports feed it through
 * dx_base_transport_log_wire (dx-base-transport.h). */
#pragma once

#include <gio/gio.h>

#include "dx-wire-entry.h"

G_BEGIN_DECLS

#define DX_WIRE_LOG_DEFAULT_CAPACITY 500

typedef enum {
  DX_WIRE_FILTER_BOTH,
  DX_WIRE_FILTER_SENT,
  DX_WIRE_FILTER_RECEIVED,
} DxWireFilter;

#define DX_TYPE_WIRE_LOG (dx_wire_log_get_type ())
G_DECLARE_FINAL_TYPE (DxWireLog, dx_wire_log, DX, WIRE_LOG, GObject)

/* capacity: entries kept (0 = DX_WIRE_LOG_DEFAULT_CAPACITY). */
DxWireLog *dx_wire_log_new (guint capacity);

/* Keep entry (a new reference is taken) unless paused; the oldest entry
 * rolls off when the ring is full. */
void dx_wire_log_add (DxWireLog *self, DxWireEntry *entry);
void dx_wire_log_clear (DxWireLog *self);
guint dx_wire_log_get_capacity (DxWireLog *self);
/* Entries kept, whatever the filter. */
guint dx_wire_log_get_n_kept (DxWireLog *self);

gboolean dx_wire_log_get_paused (DxWireLog *self);
void dx_wire_log_set_paused (DxWireLog *self, gboolean paused);
DxWireFilter dx_wire_log_get_filter (DxWireLog *self);
void dx_wire_log_set_filter (DxWireLog *self, DxWireFilter filter);

/* The entries shown (the filter applied), oldest first, as text for the
 * clipboard (dx_wire_entry_to_text of each, a blank line between). */
char *dx_wire_log_to_text (DxWireLog *self);

G_END_DECLS
