/* DxTransport: one way of carrying the chat (docs/protocol.md §4, §5). Every mode
 * implements the same four calls and emits the same signals, so the chat
 * can swap one for another mid-conversation. dx-transport-factory.h makes
 * the class for a mode. */
#pragma once

#include <gio/gio.h>

#include "dx-message.h"
#include "dx-mode.h"
#include "dx-stats.h"

G_BEGIN_DECLS

typedef enum {
  DX_TRANSPORT_DISCONNECTED,
  DX_TRANSPORT_CONNECTING,
  DX_TRANSPORT_CONNECTED,
  DX_TRANSPORT_RECONNECTING,
} DxTransportState;

#define DX_TYPE_TRANSPORT (dx_transport_get_type ())
G_DECLARE_INTERFACE (DxTransport, dx_transport, DX, TRANSPORT, GObject)

struct _DxTransportInterface {
  GTypeInterface parent_iface;

  /* Start receiving `room` from the message after `since` (which belongs
   * to store epoch `epoch`, NULL if unknown). */
  void (*connect) (DxTransport *self, const char *room, guint64 since, const char *epoch);
  /* Move to another room while connected. */
  void (*join) (DxTransport *self, const char *room, guint64 since, const char *epoch);
  /* Post a message; `cid` makes retries safe. Answered by ::ack. */
  void (*send) (DxTransport *self, const char *text, const char *cid);
  /* Stop everything; no signal is emitted afterwards. */
  void (*disconnect) (DxTransport *self);

  DxMode (*get_mode) (DxTransport *self);
  DxTransportState (*get_state) (DxTransport *self);
  guint (*get_retry_seconds) (DxTransport *self);
  guint64 (*get_last_id) (DxTransport *self);
  const char *(*get_epoch) (DxTransport *self);
  DxStats *(*get_stats) (DxTransport *self);
};

void dx_transport_connect (DxTransport *self, const char *room, guint64 since, const char *epoch);
void dx_transport_join (DxTransport *self, const char *room, guint64 since, const char *epoch);
void dx_transport_send (DxTransport *self, const char *text, const char *cid);
void dx_transport_disconnect (DxTransport *self);
DxMode dx_transport_get_mode (DxTransport *self);
DxTransportState dx_transport_get_state (DxTransport *self);
guint dx_transport_get_retry_seconds (DxTransport *self);
guint64 dx_transport_get_last_id (DxTransport *self);
const char *dx_transport_get_epoch (DxTransport *self);
DxStats *dx_transport_get_stats (DxTransport *self);

G_END_DECLS
