/* Reaching the server's HTTP port on a socket of our own (the modes that
 * speak HTTP themselves to count every byte: WebSocket, the SSE stream):
 * the connection, the Host field and request targets from the server URL
 * ("http://host:port/prefix"; https:// means TLS through GIO). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* url without trailing slashes, so that paths can be appended to it. */
char *dx_server_url_trim (const char *url);
/* The host url names and its port (the scheme's default, 443 for https://
 * and 80 otherwise, when it names none). FALSE, *host NULL, when url is
 * not a URL with a host. */
gboolean dx_server_host_port (const char *url, char **host, guint16 *port);
/* Start connecting; finish with g_socket_client_connect_to_host_finish on
 * the GSocketClient passed as the callback's source. FALSE (nothing
 * started) if url is not a usable http(s) URL. */
gboolean dx_server_connect_async (const char *url, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
/* A connection just made: no Nagle delay (a chat line goes at once), and no
 * I/O timeout — the client's 10 s were for connecting; GSocket would keep
 * them for every read, and an idle chat is not a dead one (pings tell). */
void dx_server_connection_prepare (GSocketConnection *conn);
/* "host:port" as the Host field wants it (IPv6 literals in brackets). */
char *dx_server_host_field (const char *url);
/* The request target for path ("/api/v1/ws") under the URL's own path. */
char *dx_server_target (const char *url, const char *path);

G_END_DECLS
