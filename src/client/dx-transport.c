#include "dx-transport.h"

G_DEFINE_INTERFACE (DxTransport, dx_transport, G_TYPE_OBJECT)

static void
dx_transport_default_init (DxTransportInterface *iface)
{
  /* A message of the current room, delivered once, in id order (on UDP:
   * once, in the order it came; see dx_message_get_arrival). */
  g_signal_new ("message", DX_TYPE_TRANSPORT, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                1, DX_TYPE_MESSAGE);
  /* The server stored a message we sent: cid, id, ts. */
  g_signal_new ("ack", DX_TYPE_TRANSPORT, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                G_TYPE_STRING, G_TYPE_UINT64, G_TYPE_INT64);
  g_signal_new ("state-changed", DX_TYPE_TRANSPORT, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                G_TYPE_NONE, 0);
  /* Something went wrong; a human-readable, translated text. */
  g_signal_new ("error", DX_TYPE_TRANSPORT, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                G_TYPE_STRING);
  /* The server's store epoch is not the one `since` came from: ids restart,
   * so the transport resumes from 0 and the UI forgets the old ids. */
  /* Ids first..last (guint64) were skipped: a carrier without order or
   * retransmission (UDP) lost them, or they are still on their way. */
  g_signal_new ("gap", DX_TYPE_TRANSPORT, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                G_TYPE_UINT64, G_TYPE_UINT64);
  /* The server wants a password (gboolean refused: FALSE if none was sent,
   * TRUE if the one sent is wrong). Nothing is sent until
   * dx_base_transport_set_password gives one (docs/protocol.md §4, §5). */
  g_signal_new ("password-required", DX_TYPE_TRANSPORT, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  g_signal_new ("epoch-changed", DX_TYPE_TRANSPORT, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                G_TYPE_NONE, 1, G_TYPE_STRING);
}

void
dx_transport_connect (DxTransport *self, const char *room, guint64 since, const char *epoch)
{
  g_return_if_fail (DX_IS_TRANSPORT (self));
  DX_TRANSPORT_GET_IFACE (self)->connect (self, room, since, epoch);
}

void
dx_transport_join (DxTransport *self, const char *room, guint64 since, const char *epoch)
{
  g_return_if_fail (DX_IS_TRANSPORT (self));
  DX_TRANSPORT_GET_IFACE (self)->join (self, room, since, epoch);
}

void
dx_transport_send (DxTransport *self, const char *text, const char *cid)
{
  g_return_if_fail (DX_IS_TRANSPORT (self));
  DX_TRANSPORT_GET_IFACE (self)->send (self, text, cid);
}

void
dx_transport_disconnect (DxTransport *self)
{
  g_return_if_fail (DX_IS_TRANSPORT (self));
  DX_TRANSPORT_GET_IFACE (self)->disconnect (self);
}

DxMode
dx_transport_get_mode (DxTransport *self)
{
  return DX_TRANSPORT_GET_IFACE (self)->get_mode (self);
}

DxTransportState
dx_transport_get_state (DxTransport *self)
{
  return DX_TRANSPORT_GET_IFACE (self)->get_state (self);
}

guint
dx_transport_get_retry_seconds (DxTransport *self)
{
  return DX_TRANSPORT_GET_IFACE (self)->get_retry_seconds (self);
}

guint64
dx_transport_get_last_id (DxTransport *self)
{
  return DX_TRANSPORT_GET_IFACE (self)->get_last_id (self);
}

const char *
dx_transport_get_epoch (DxTransport *self)
{
  return DX_TRANSPORT_GET_IFACE (self)->get_epoch (self);
}

DxStats *
dx_transport_get_stats (DxTransport *self)
{
  return DX_TRANSPORT_GET_IFACE (self)->get_stats (self);
}
