#include "dx-config.h"

#include <gio/gnetworking.h> /* IPPROTO_TCP, TCP_NODELAY on Linux and Windows */

#include "dx-server-address.h"
#include "dx-tls-trust.h"

char *
dx_server_url_trim (const char *url)
{
  char *trimmed = g_strdup (url);

  while (trimmed != NULL && g_str_has_suffix (trimmed, "/"))
    trimmed[strlen (trimmed) - 1] = '\0';
  return trimmed;
}

gboolean
dx_server_host_port (const char *url, char **host, guint16 *port)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  int p;

  *host = NULL;
  *port = 0;
  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return FALSE;
  p = g_uri_get_port (uri);
  if (p < 0)
    p = g_strcmp0 (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
  *host = g_strdup (g_uri_get_host (uri));
  *port = (guint16) p;
  return TRUE;
}

gboolean
dx_server_connect_async (const char *url, GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GSocketClient) client = NULL;
  g_autofree char *host = NULL;
  guint16 port;

  if (!dx_server_host_port (url, &host, &port))
    return FALSE;
  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, 10);
  /* https:// (docs/protocol.md §9): GIO's TLS, certificates checked by
   * the one trust store every connection shares. */
  g_socket_client_set_tls (client, g_ascii_strncasecmp (url, "https:", 6) == 0);
  dx_tls_trust_watch_client (dx_tls_trust_get_default (), client);
  g_socket_client_connect_to_host_async (client, host, port, cancellable, callback, user_data);
  return TRUE;
}

void
dx_server_connection_prepare (GSocketConnection *conn)
{
  GSocket *socket = g_socket_connection_get_socket (conn);

  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_timeout (socket, 0);
}

char *
dx_server_host_field (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *host;
  gboolean v6;
  int port;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return g_strdup ("");
  host = g_uri_get_host (uri);
  v6 = strchr (host, ':') != NULL;
  port = g_uri_get_port (uri);
  if (port < 0)
    return g_strdup_printf (v6 ? "[%s]" : "%s", host);
  return g_strdup_printf (v6 ? "[%s]:%d" : "%s:%d", host, port);
}

char *
dx_server_target (const char *url, const char *path)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *prefix = uri != NULL ? g_uri_get_path (uri) : "";

  while (g_str_has_suffix (prefix, "/") && prefix[1] == '\0')
    prefix = "";
  return g_strconcat (prefix, path, NULL);
}
