/* DxBaseTransport: what every mode shares — the room and resume point
 * (last id + epoch), the outbox of unacknowledged sends, the connection
 * state with reconnect backoff, de-duplication and latency accounting.
 * Subclasses only open and close their connection and move bytes. */
#pragma once

#include "protocol/message.h"

#include "dx-transport.h"
#include "dx-wire-log.h"

G_BEGIN_DECLS

#define DX_TYPE_BASE_TRANSPORT (dx_base_transport_get_type ())
G_DECLARE_DERIVABLE_TYPE (DxBaseTransport, dx_base_transport, DX, BASE_TRANSPORT, GObject)

struct _DxBaseTransportClass {
  GObjectClass parent_class;

  DxMode mode;
  /* Open the connection for the current room, resuming after last id. */
  void (*start) (DxBaseTransport *self);
  /* Cancel and close everything; must not emit signals. */
  void (*stop) (DxBaseTransport *self);
  /* Post one outbox entry now (the transport is connected). */
  void (*post) (DxBaseTransport *self, const char *text, const char *cid);
};

const char *dx_base_transport_get_server_url (DxBaseTransport *self);
const char *dx_base_transport_get_nick (DxBaseTransport *self);
const char *dx_base_transport_get_room (DxBaseTransport *self);
guint64 dx_base_transport_get_since (DxBaseTransport *self);
DxStats *dx_base_transport_get_stats_object (DxBaseTransport *self);
/* The server's password (docs/protocol.md §4, §5); NULL: none. After a
 * refusal (::password-required) a new one tries again at once. */
void dx_base_transport_set_password (DxBaseTransport *self, const char *password);
const char *dx_base_transport_get_password (DxBaseTransport *self);
/* TRUE between a refusal of the password and a new one. */
gboolean dx_base_transport_get_awaiting_password (DxBaseTransport *self);
/* Clock offset in ms (server clock - local clock), used for latency. */
void dx_base_transport_set_clock_offset (DxBaseTransport *self, double offset_ms);
/* Where the transport reports what crosses the wire (NULL: nowhere). */
void dx_base_transport_set_wire_log (DxBaseTransport *self, DxWireLog *log);

/* ---- for subclasses ---- */

/* The connection is up and the room joined: state CONNECTED, backoff reset,
 * outbox flushed. */
void dx_base_transport_connected (DxBaseTransport *self);
/* Finish a GSocketClient connect started for this transport (source is
 * the client): the connection, tracked by the statistics and prepared
 * (dx_server_connection_prepare); or NULL when it was cancelled, failed
 * (the failure is reported: dx_base_transport_failed), or the transport
 * stopped meanwhile. */
GSocketConnection *dx_base_transport_connect_finish (DxBaseTransport *self, GObject *source,
                                                     GAsyncResult *result);
/* The connection broke: stop, then reconnect after a backoff delay. */
void dx_base_transport_failed (DxBaseTransport *self, const char *why);
/* The server refused the password, or wanted one (HTTP 401 on the session,
 * socket `unauthorized` before welcome): emit ::password-required, hold the
 * outbox (nothing is sent) until a password is set; `stop_connection`
 * also stops the connection without retrying (modes whose hello or
 * session is the connection: WebSocket, raw TCP, UDP). */
void dx_base_transport_password_refused (DxBaseTransport *self, gboolean stop_connection);
/* A message arrived. Returns FALSE if it was dropped (other room, or an
 * id already delivered). */
gboolean dx_base_transport_deliver (DxBaseTransport *self, const dx_msg *m);
/* A message from a carrier that may reorder or repeat (UDP): the caller
 * has decided it is new (dx-seq-tracker.h), so only the room is checked,
 * not the resume point; the resume point becomes the highest id seen.
 * `arrival` marks it for the message list. */
gboolean dx_base_transport_deliver_unordered (DxBaseTransport *self, const dx_msg *m,
                                              DxMessageArrival arrival);
/* The server stored our message `cid`. */
void dx_base_transport_acked (DxBaseTransport *self, const char *cid, guint64 id, gint64 ts);
/* A send was refused for good (bad text...): forget it, report why. */
void dx_base_transport_rejected (DxBaseTransport *self, const char *cid, const char *why);
/* The server refused send `cid` as too fast (docs/protocol.md §9): it
 * stays in the outbox, which waits retry_ms and then resends it with the
 * same cid; the window is told. */
void dx_base_transport_rate_limited (DxBaseTransport *self, const char *cid, guint64 retry_ms);
/* Post failed but may succeed later: keep it in the outbox. */
void dx_base_transport_post_failed (DxBaseTransport *self, const char *cid);
/* Compare the server's store epoch with the one our resume point belongs
 * to. TRUE if they match (or ours was unknown). FALSE if the store was
 * replaced: the resume point is now 0 and ::epoch-changed was emitted; the
 * caller must restart from 0 (dx_base_transport_restart). */
gboolean dx_base_transport_check_epoch (DxBaseTransport *self, const char *epoch);
/* Stop and start again at once (no backoff). */
void dx_base_transport_restart (DxBaseTransport *self);
void dx_base_transport_report_error (DxBaseTransport *self, const char *text);
gboolean dx_base_transport_is_running (DxBaseTransport *self);
/* Something crossed the wire: one entry for the wire inspector (see
 * dx_wire_entry_new for the arguments). Cheap when no log is attached;
 * detail may be NULL. Byte counting stays with DxStats: this only shows. */
void dx_base_transport_log_wire (DxBaseTransport *self, DxWireKind kind, DxWireDirection direction,
                                 const char *summary, const char *detail, guint64 header_bytes,
                                 guint64 payload_bytes, gint64 duration_us);
/* TRUE if a wire log is attached (skip building texts otherwise). */
gboolean dx_base_transport_logs_wire (DxBaseTransport *self);
/* Milliseconds of the local real-time clock. */
gint64 dx_now_ms (void);

G_END_DECLS
