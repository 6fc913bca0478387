/* DxMessageStore: the GListModel of DxMessage the message list shows.
 * Holds one room's messages in id order, de-duplicated by (room, id), with
 * our own not-yet-acknowledged sends (matched later by cid) at the end. */
#pragma once

#include <gio/gio.h>

#include "dx-message.h"

G_BEGIN_DECLS

#define DX_TYPE_MESSAGE_STORE (dx_message_store_get_type ())
G_DECLARE_FINAL_TYPE (DxMessageStore, dx_message_store, DX, MESSAGE_STORE, GObject)

DxMessageStore *dx_message_store_new (void);

/* Insert a message from the server. FALSE if (room, id) is already held
 * (or it is our own pending send, which is then marked acknowledged). */
gboolean dx_message_store_add (DxMessageStore *self, DxMessage *message);
/* Our send, shown as pending until dx_message_store_ack. */
void dx_message_store_add_pending (DxMessageStore *self, DxMessage *message);
/* The server stored `cid` as `id`. */
void dx_message_store_ack (DxMessageStore *self, const char *cid, guint64 id, gint64 ts);
/* A local notice line. */
void dx_message_store_add_notice (DxMessageStore *self, DxMessage *notice);
/* Older history, oldest first; duplicates are skipped. Returns how many
 * were inserted. */
guint dx_message_store_prepend (DxMessageStore *self, GPtrArray *older);
void dx_message_store_clear (DxMessageStore *self);

/* Smallest / largest server id held (0 if none). */
guint64 dx_message_store_get_first_id (DxMessageStore *self);
guint64 dx_message_store_get_last_id (DxMessageStore *self);
/* Our sends not yet acknowledged, oldest first (transfer container). */
GPtrArray *dx_message_store_get_pending (DxMessageStore *self);
gboolean dx_message_store_contains (DxMessageStore *self, const char *room, guint64 id);
/* The smallest id a gap notice names that is still not held (0 if none):
 * where a transport that resumes must start to fill the holes UDP left. */
guint64 dx_message_store_get_first_missing (DxMessageStore *self);

G_END_DECLS
