/* DxMessage: one chat line as the UI holds it (docs/protocol.md §3), plus the
 * client-side states "pending" (sent, not yet acked) and "own". */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* How a message reached us. Only UDP (docs/protocol.md §8) makes the last
 * two happen: the other transports deliver in id order. */
typedef enum {
  DX_MESSAGE_IN_ORDER,
  DX_MESSAGE_LATE,     /* after a higher id: the network reordered it */
  DX_MESSAGE_REPAIRED, /* lost on UDP, fetched over HTTP */
} DxMessageArrival;

#define DX_TYPE_MESSAGE (dx_message_get_type ())
G_DECLARE_FINAL_TYPE (DxMessage, dx_message, DX, MESSAGE, GObject)

DxMessage *dx_message_new (const char *room, guint64 id, const char *from, const char *text,
                           gint64 ts, const char *cid);
/* A local line (e.g. "connection lost") that is not part of the room. */
DxMessage *dx_message_new_notice (const char *room, const char *text);
/* A notice that ids first..last never arrived ("Gap: ids 17–19 missing"). */
DxMessage *dx_message_new_gap (const char *room, guint64 first, guint64 last);

const char *dx_message_get_room (DxMessage *self);
guint64 dx_message_get_id (DxMessage *self);
const char *dx_message_get_from (DxMessage *self);
const char *dx_message_get_text (DxMessage *self);
gint64 dx_message_get_ts (DxMessage *self);
const char *dx_message_get_cid (DxMessage *self);
gboolean dx_message_get_pending (DxMessage *self);
gboolean dx_message_get_own (DxMessage *self);
gboolean dx_message_get_notice (DxMessage *self);
/* TRUE for a gap notice, with the ids it stands for. */
gboolean dx_message_get_gap (DxMessage *self, guint64 *first, guint64 *last);
DxMessageArrival dx_message_get_arrival (DxMessage *self);
void dx_message_set_arrival (DxMessage *self, DxMessageArrival arrival);

void dx_message_set_own (DxMessage *self, gboolean own);
/* The server acknowledged it: it now has an id and a server time. */
void dx_message_acknowledge (DxMessage *self, guint64 id, gint64 ts);

G_END_DECLS
