/* DxHttpTransport: the HTTP modes' common ground — a libsoup session of
 * their own (so connections are counted per mode), the session token,
 * sends as POSTs, the keep-alive switch, and byte accounting from
 * SoupMessageMetrics (headers included). */
#pragma once

#include <libsoup/soup.h>

#include "dx-base-transport.h"

G_BEGIN_DECLS

#define DX_TYPE_HTTP_TRANSPORT (dx_http_transport_get_type ())
G_DECLARE_DERIVABLE_TYPE (DxHttpTransport, dx_http_transport, DX, HTTP_TRANSPORT, DxBaseTransport)

struct _DxHttpTransportClass {
  DxBaseTransportClass parent_class;
};

gboolean dx_http_transport_get_keep_alive (DxHttpTransport *self);
void dx_http_transport_set_keep_alive (DxHttpTransport *self, gboolean keep_alive);

/* ---- for subclasses ---- */
SoupSession *dx_http_transport_get_session (DxHttpTransport *self);
/* A request to server_url + path_and_query, with metrics collection,
 * connection counting and the keep-alive policy applied. */
SoupMessage *dx_http_transport_new_message (DxHttpTransport *self, const char *method,
                                            const char *path_and_query);
/* After a message completed: count the request and its response bytes
 * (the request's bytes are counted as soon as it is written). */
void dx_http_transport_account (DxHttpTransport *self, SoupMessage *msg);
/* "/api/v1/rooms/<room>/messages?..." helper: path of the current room. */
char *dx_http_transport_room_path (DxHttpTransport *self, const char *what);
/* A human text for a failed HTTP exchange (status + server error body). */
char *dx_http_transport_describe_failure (SoupMessage *msg, GBytes *body, GError *error);

G_END_DECLS
