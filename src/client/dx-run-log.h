/* DxRunLog: what one chat did during this run, for the statistics export —
 * the modes it used, each live switch with the id it resumed after, and per
 * room what the transports delivered before the store dropped duplicates
 * (so a lost or repeated id shows here even though the window hides it). */
#pragma once

#include "dx-chat.h"

G_BEGIN_DECLS

#define DX_TYPE_RUN_LOG (dx_run_log_get_type ())
G_DECLARE_FINAL_TYPE (DxRunLog, dx_run_log, DX, RUN_LOG, GObject)

typedef struct {
  gint64 at_ms; /* wall clock, ms since 1970 */
  DxMode from;
  DxMode to;
  guint64 last_id; /* the last id seen when the switch happened */
} DxSwitchRecord;

typedef struct {
  guint64 first_id;
  guint64 last_id;
  guint64 count;      /* every delivery, duplicates included */
  guint64 duplicates; /* an id <= the last one delivered in the room */
  guint64 gaps;       /* ids skipped between consecutive deliveries */
} DxDeliveryCounts;

DxRunLog *dx_run_log_new (void);

/* Record what `chat` does from now on; its current mode counts as used.
 * The log holds no reference: it stops with the chat's signals. */
void dx_run_log_follow (DxRunLog *self, DxChat *chat);

/* What follow() records, callable directly (tests, other sources). */
void dx_run_log_add_mode (DxRunLog *self, DxMode mode);
void dx_run_log_add_switch (DxRunLog *self, gint64 at_ms, DxMode from, DxMode to, guint64 last_id);
void dx_run_log_add_delivery (DxRunLog *self, const char *room, guint64 id);
/* Ids start over (a room loaded anew, a new store epoch): the next
 * delivery of each room is compared with nothing before it. */
void dx_run_log_restart_ids (DxRunLog *self);

gboolean dx_run_log_mode_used (DxRunLog *self, DxMode mode);
guint dx_run_log_get_n_switches (DxRunLog *self);
const DxSwitchRecord *dx_run_log_get_switch (DxRunLog *self, guint i);
/* Rooms in the order of their first delivery, NULL-terminated. */
const char *const *dx_run_log_get_rooms (DxRunLog *self);
/* NULL if nothing was delivered in `room`. */
const DxDeliveryCounts *dx_run_log_get_deliveries (DxRunLog *self, const char *room);

G_END_DECLS
