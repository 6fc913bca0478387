/* DxUdpRepair: reliability layered on datagrams. UDP mode finds its gaps
 * by id (dx-seq-tracker.h); this fetches what a gap misses over HTTP
 * (GET /api/v1/rooms/ROOM/messages?since=, docs/protocol.md §4 and §8),
 * one request at a time, counting each request and its bytes in the UDP
 * mode's statistics: repair is not free, and the figures say so. */
#pragma once

#include <gio/gio.h>

#include "protocol/message.h"

#include "dx-stats.h"

G_BEGIN_DECLS

#define DX_TYPE_UDP_REPAIR (dx_udp_repair_get_type ())
G_DECLARE_FINAL_TYPE (DxUdpRepair, dx_udp_repair, DX, UDP_REPAIR, GObject)

/* Called for each message of an answer, oldest first. */
typedef void (*DxUdpRepairMessageFunc) (const dx_msg *m, gpointer user_data);
/* Called once an answer has been handed out: the highest id it held (0
 * if none) and whether it was a full page (more may follow). Not called
 * for a failed or cancelled request. */
typedef void (*DxUdpRepairDoneFunc) (guint64 last_id, gboolean full, gpointer user_data);

DxUdpRepair *dx_udp_repair_new (const char *server_url, DxStats *stats,
                                DxUdpRepairMessageFunc on_message, DxUdpRepairDoneFunc on_done,
                                gpointer user_data);
/* Ask for the messages of `room` after `since`. FALSE (and nothing asked)
 * while an earlier request is still out. */
gboolean dx_udp_repair_fetch (DxUdpRepair *self, const char *room, guint64 since);
gboolean dx_udp_repair_is_busy (DxUdpRepair *self);
/* Drop the request in flight: no callback runs for it. */
void dx_udp_repair_cancel (DxUdpRepair *self);

G_END_DECLS
