/* DxMessage: one chat line as the UI holds it (docs/protocol.md §3), plus the
 * client-side states "pending" (sent, not yet acked) and "own". */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define DX_TYPE_MESSAGE (dx_message_get_type ())
G_DECLARE_FINAL_TYPE (DxMessage, dx_message, DX, MESSAGE, GObject)

DxMessage *dx_message_new (const char *room, guint64 id, const char *from, const char *text,
                           gint64 ts, const char *cid);
/* A local line (e.g. "connection lost") that is not part of the room. */
DxMessage *dx_message_new_notice (const char *room, const char *text);

const char *dx_message_get_room (DxMessage *self);
guint64 dx_message_get_id (DxMessage *self);
const char *dx_message_get_from (DxMessage *self);
const char *dx_message_get_text (DxMessage *self);
gint64 dx_message_get_ts (DxMessage *self);
const char *dx_message_get_cid (DxMessage *self);
gboolean dx_message_get_pending (DxMessage *self);
gboolean dx_message_get_own (DxMessage *self);
gboolean dx_message_get_notice (DxMessage *self);

void dx_message_set_own (DxMessage *self, gboolean own);
/* The server acknowledged it: it now has an id and a server time. */
void dx_message_acknowledge (DxMessage *self, guint64 id, gint64 ts);

G_END_DECLS
