/* DxKnownHosts: certificates the person chose to trust although they do
 * not verify, remembered per server like SSH's known_hosts. One line per
 * server: "host:port SHA256-FINGERPRINT" (64 lowercase hex digits of the
 * DER certificate's SHA-256). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DX_TYPE_KNOWN_HOSTS (dx_known_hosts_get_type ())
G_DECLARE_FINAL_TYPE (DxKnownHosts, dx_known_hosts, DX, KNOWN_HOSTS, GObject)

typedef enum {
  DX_KNOWN_HOST_UNKNOWN, /* no line for this server */
  DX_KNOWN_HOST_MATCH,   /* the remembered certificate */
  DX_KNOWN_HOST_CHANGED, /* a line, but for another certificate */
} DxKnownHostState;

/* The file is read at each lookup so that an edit (removing a stale line)
 * takes effect without restarting. */
DxKnownHosts *dx_known_hosts_new (const char *path);
const char *dx_known_hosts_get_path (DxKnownHosts *self);
DxKnownHostState dx_known_hosts_lookup (DxKnownHosts *self, const char *host_port,
                                        GTlsCertificate *cert);
/* Remember cert for host_port (replacing its line). */
gboolean dx_known_hosts_add (DxKnownHosts *self, const char *host_port, GTlsCertificate *cert,
                             GError **error);
/* Lowercase hex SHA-256 of the certificate's DER encoding. */
char *dx_known_hosts_fingerprint (GTlsCertificate *cert);

G_END_DECLS
