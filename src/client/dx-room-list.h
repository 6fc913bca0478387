/* The room list, GET /api/v1/rooms (docs/protocol.md §4.3): every room with
 * its last id and how many are online, for the window's sidebar. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Fetch through `session` (application traffic, charged to no transport)
 * from `server_url`; `source_object` is the GTask's source. */
void dx_room_list_fetch (GObject *source_object, SoupSession *session, const char *server_url,
                         GCancellable *cancellable, GAsyncReadyCallback cb, gpointer user_data);
/* (name, last_id, online) triples as a GPtrArray of GVariant "(stt)". */
GPtrArray *dx_room_list_fetch_finish (GAsyncResult *result, GError **error);

G_END_DECLS
