/* DxUdpTransport: the sixth mode, UDP datagrams (docs/protocol.md §8).
 * A token from POST /api/v1/session, a hello padded to 1200 bytes and sent
 * again until a welcome comes back, the welcome's cookie in every later
 * datagram, join with since, sends retried with their cid until acked,
 * a ping every 10 s. Nothing is hidden: ids that skip ahead, come late or
 * come twice are counted (DxStats) and marked (a "gap" signal, each
 * message's arrival), and with `repair` on the gaps are filled over HTTP
 * (DxUdpRepair). `loss-percent` drops that share of incoming datagrams
 * on purpose, counted apart from what the network loses. */
#pragma once

#include "dx-base-transport.h"
#include "dx-udp-datagram.h"

G_BEGIN_DECLS

#define DX_TYPE_UDP_TRANSPORT (dx_udp_transport_get_type ())
G_DECLARE_FINAL_TYPE (DxUdpTransport, dx_udp_transport, DX, UDP_TRANSPORT, DxBaseTransport)

gboolean dx_udp_transport_get_repair (DxUdpTransport *self);
void dx_udp_transport_set_repair (DxUdpTransport *self, gboolean repair);
guint dx_udp_transport_get_loss_percent (DxUdpTransport *self);
void dx_udp_transport_set_loss_percent (DxUdpTransport *self, guint percent);

/* Whether `text` fits in one send datagram of the current room (with a
 * cid as long as the chat's and the session's cookie); *size gets the
 * datagram's size. A longer send is refused: UDP has no fragments here. */
gboolean dx_udp_transport_send_fits (DxUdpTransport *self, const char *text, gsize *size);

G_END_DECLS
